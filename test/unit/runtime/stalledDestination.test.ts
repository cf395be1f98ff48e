import { NEVER, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { TaskConfigInput } from '../../../src/config/schema.js';
import { validateTaskConfig } from '../../../src/config/load.js';
import type { Sink, Source } from '../../../src/core/contracts.js';
import type { ChangeEvent } from '../../../src/core/events.js';
import { SequencePosition } from '../../../src/core/position.js';
import { defaultRegistry } from '../../../src/runtime/defaults.js';
import { TaskRunner } from '../../../src/runtime/task.js';
import type { TaskOptions } from '../../../src/config/schema.js';
import { MemoryStore } from './memoryStore.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const ref = { database: 'shop', schema: 'public', table: 'orders' };
const shape = { ref, columns: [{ name: 'id', type: 'int4' }], key: ['id'] };
const row = (id: number): ChangeEvent => ({ op: 'insert', shape, snapshot: true, before: null, after: { id: String(id) }, commitTime: Date.now(), position: new SequencePosition(1n), bytes: 10 });

/** A destination that accepts connections and never acknowledges (a half-open link, a stuck broker). */
function stalledRegistry() {
  const source: Source = {
    kind: 'postgres',
    precheck: () => Promise.resolve([]),
    prepare: () => Promise.resolve({ chunks: [{ id: 'c0', table: ref, bounds: {} }], streamFrom: new SequencePosition(1n) }),
    snapshot: () => of(row(1), row(2), row(3)),
    stream: () => NEVER,
    confirm: () => Promise.resolve(),
    decodePosition: (t) => new SequencePosition(BigInt(t)),
    close: () => Promise.resolve(),
    release: () => Promise.resolve(),
  };
  const sink: Sink = { kind: 'kafka', capabilities: { maxInFlightWrites: 1, transactional: false }, precheck: () => Promise.resolve([]), write: () => new Promise(() => undefined), close: () => Promise.resolve() };
  return defaultRegistry()
    .registerSource('postgres', () => source)
    .registerSink('kafka', () => sink);
}

describe('a destination that acknowledges nothing', () => {
  it('makes the task unhealthy once writes have waited longer than the stall limit, before any error', async () => {
    const config = validateTaskConfig({
      name: 'stalled',
      source: { type: 'postgres', host: 'db', database: 'shop' },
      destination: { kafka: { brokers: ['k'], topic: 't', format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'orders' }],
    } as unknown as TaskConfigInput) as TaskOptions;
    const task = new TaskRunner(config, { registry: stalledRegistry(), checkpoints: new MemoryStore(), logger: quiet, stallMs: 300, batch: { maxWaitMs: 1 } });
    task.start();
    await task.waitFor((s) => s.state === 'full', 5_000);
    expect(task.status.healthy).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(task.inflight.events).toBeGreaterThan(0);
    expect(task.stalledMs(Date.now())).toBeGreaterThanOrEqual(300);
    expect(task.status).toMatchObject({ state: 'full', healthy: false });
    await task.stop();
  });
});
