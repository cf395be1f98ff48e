import type { ScenarioContext } from '../lib.js';
export async function mongo(ctx: ScenarioContext): Promise<void> {
  ctx.log('todo');
}
