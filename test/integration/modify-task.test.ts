import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, readTopic, uniqueName, withPg } from './support.js';

describe('modifying a running task (add an object, change a filter and the compression)', () => {
  let db: { database: string; drop: () => Promise<void> };
  let runtime: Runtime;
  let dir: string;
  const topic = uniqueName('mod');

  beforeAll(async () => {
    db = await createTestDatabase('mod');
    dir = await mkdtemp(join(tmpdir(), 'trib-mod-'));
    await createTopic(topic);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.a (id int PRIMARY KEY, v text)');
      await c.query('CREATE TABLE public.b (id int PRIMARY KEY, v text)');
      await c.query("INSERT INTO public.a SELECT g, 'a' || g FROM generate_series(1, 100) g");
      await c.query("INSERT INTO public.b SELECT g, 'b' || g FROM generate_series(1, 200) g");
    });
    runtime = createRuntime({ confirmIntervalMs: 100 });
  });
  afterAll(async () => {
    await runtime?.shutdown();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('the added table gets its own full sync then streams; the other table loses nothing', async () => {
    const base = {
      name: uniqueName('mod').replace(/_/g, '-'),
      source: { type: 'postgres' as const, host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: db.database },
      checkpoints: { store: 'file' as const, dir },
    };
    const task = runtime.add({ ...base, destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', compression: 'lz4' } }, objects: [{ schema: 'public', table: 'a' }] });
    task.start();
    await task.waitFor((s) => s.state === 'incremental' || s.state === 'failed', 60_000);
    expect(task.status.state).toBe('incremental');
    await withPg(db.database, (c) => c.query("INSERT INTO public.a VALUES (101, 'a101'), (102, 'a102')"));

    const modified = await runtime.modify(base.name, {
      ...base,
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', compression: 'gzip' } },
      objects: [{ schema: 'public', table: 'a', filter: 'id > 100' }, { schema: 'public', table: 'b' }],
      conflictMode: 'ignoreAndProceed',
    });
    // Written while the task switches over: must not be lost.
    await withPg(db.database, (c) => c.query("INSERT INTO public.a VALUES (103, 'a103'), (5000, 'filtered-in')"));
    await modified.waitFor((s) => s.state === 'incremental' || s.state === 'failed', 60_000);
    expect(modified.status.lastError).toBeNull();
    expect(modified.status.counters.snapshotRows).toBe(200); // only table b was copied
    await withPg(db.database, (c) => c.query("UPDATE public.a SET v = 'filtered-out' WHERE id = 7; INSERT INTO public.b VALUES (201, 'b201')"));

    const expected = 100 + 2 + 200 + 2 + 1;
    const messages = await readTopic(topic, expected, { timeoutMs: 60_000 });
    const rows = messages.map((m) => JSON.parse(m.value?.toString() ?? '{}') as { table: string; type: string; data: Array<{ id: string; v: string }> });
    const ids = (table: string) => new Set(rows.filter((r) => r.table === table).flatMap((r) => r.data.map((d) => Number(d.id))));
    const a = ids('a');
    const b = ids('b');
    for (const id of [1, 100, 101, 102, 103, 5000]) expect(a.has(id), `a.${id}`).toBe(true);
    // The new filter (id > 100) applies after the switch: the update of row 7 is not sent.
    expect(rows.some((r) => r.table === 'a' && r.type === 'UPDATE')).toBe(false);
    expect(b.size).toBe(201);
    expect(rows.filter((r) => r.table === 'b' && r.data[0]?.id === '201')).toHaveLength(1);
  }, 120_000);
});
