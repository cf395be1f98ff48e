import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, readTopic, uniqueName, withPg } from './support.js';

describe('an incremental-only task, paused and resumed right away (PostgreSQL → Kafka)', () => {
  let runtime: Runtime;
  let dir: string;
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('pr');

  beforeAll(async () => {
    db = await createTestDatabase('pr');
    dir = await mkdtemp(join(tmpdir(), 'trib-pr-'));
    await createTopic(topic);
    await withPg(db.database, (c) => c.query('CREATE TABLE public.t (id int PRIMARY KEY, v text)'));
    runtime = createRuntime({ confirmIntervalMs: 100 });
  });
  afterAll(async () => {
    await runtime?.shutdown();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('captures every change made once it reports incremental, including while paused', async () => {
    const task = runtime.add({
      name: uniqueName('pr').replace(/_/g, '-'),
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 't' }],
      syncTypes: { full: false, incremental: true },
      checkpoints: { store: 'file', dir },
    });
    task.start();
    const s = await task.waitFor((st) => st.state === 'incremental' || st.state === 'failed' || st.state === 'precheckFailed', 60_000);
    expect(s.state).toBe('incremental');
    // Written the moment the task says incremental: its start position must already be fixed.
    await withPg(db.database, (c) => c.query("INSERT INTO public.t SELECT g, 'v' FROM generate_series(1, 50) g"));
    await task.waitFor((st) => st.counters.events >= 50, 30_000);
    for (let round = 1; round <= 3; round++) {
      task.pause();
      await withPg(db.database, (c) => c.query("INSERT INTO public.t SELECT g, 'p' FROM generate_series($1::int, $1::int + 19) g", [round * 1000]));
      task.resume();
    }
    await task.waitFor((st) => st.counters.events >= 110, 60_000);
    expect(task.status.state).toBe('incremental');
    // At least once: a resume replays from the confirmed position, so duplicates may come first.
    const idsOf = (messages: Awaited<ReturnType<typeof readTopic>>) =>
      new Set(messages.flatMap((m) => (JSON.parse(m.value?.toString() ?? '{}') as { data: Array<{ id: string }> }).data.map((d) => Number(d.id))));
    let ids = new Set<number>();
    const end = Date.now() + 60_000;
    while (ids.size < 110 && Date.now() < end) {
      await task.waitFor((st) => st.counters.events >= 110, 10_000);
      ids = idsOf(await readTopic(topic, task.status.counters.events, { timeoutMs: 20_000 }));
    }
    expect(ids.size).toBe(110);
    for (const id of [1, 50, 1000, 1019, 2000, 3019]) expect(ids.has(id)).toBe(true);
  }, 120_000);
});
