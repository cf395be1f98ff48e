import type { ScenarioContext } from '../lib.js';
export async function stages(ctx: ScenarioContext): Promise<void> {
  ctx.log('todo');
}
