/** MongoDB scenarios: run only when the MongoDB source and sink are wired into the default registry. */
import { existsSync } from 'node:fs';
import { defaultRegistry } from '../../src/index.js';
import type { ScenarioContext } from '../lib.js';

export async function mongo(ctx: ScenarioContext): Promise<void> {
  const root = new URL('../../src/', import.meta.url);
  const files = ['sources/mongodb/source.ts', 'sinks/mongodb/writer.ts'].filter((f) => !existsSync(new URL(f, root)));
  let reason: string | null = files.length > 0 ? `missing ${files.join(', ')}` : null;
  if (!reason) {
    const registry = defaultRegistry();
    const missing: string[] = [];
    try {
      registry.source('mongodb');
    } catch {
      missing.push("source 'mongodb'");
    }
    try {
      registry.sink('mongodb');
    } catch {
      missing.push("sink 'mongodb'");
    }
    if (missing.length > 0) reason = `src/sources/mongodb and src/sinks/mongodb exist, but defaultRegistry() registers no ${missing.join(' / ')}, so createRuntime cannot run a MongoDB task yet`;
  }
  if (!reason) reason = 'defaultRegistry() registers the mongodb source and sink (landed during this benchmark work, not yet committed when the suite was written); the mongo → kafka / mongo → mongo scenarios are not implemented in bench/ yet';
  ctx.log(`not run: ${reason}`);
  for (const s of ['mongo → kafka', 'mongo → mongo']) ctx.row({ metric: s, value: 'not run', unit: '', note: reason });
}
