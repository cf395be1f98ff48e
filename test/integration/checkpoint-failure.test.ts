import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from './support.js';

/**
 * The checkpoint location fails while the task streams: the task must not count acknowledged but
 * unrecorded writes as progress. It retries in the other-issues window, never confirms the slot
 * past what was recorded, and fails with a message about the checkpoint when the window runs out.
 */
describe('PostgreSQL → Kafka: the checkpoint cannot be written', () => {
  let db: { database: string; drop: () => Promise<void> };
  let dir: string;
  let runtime: Runtime | undefined;
  const topic = uniqueName('cpfail');

  beforeAll(async () => {
    db = await createTestDatabase('cpfail');
    dir = await mkdtemp(join(tmpdir(), 'trib-cpfail-'));
    await createTopic(topic, 1);
    await withPg(db.database, (c) => c.query("CREATE TABLE public.items (id int PRIMARY KEY, v text); INSERT INTO public.items SELECT g, 'v' FROM generate_series(1, 10) g"));
  });

  afterAll(async () => {
    await runtime?.shutdown().catch(() => undefined);
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('retries without renewing its window, never confirms past the checkpoint, then fails naming the checkpoint', async () => {
    runtime = createRuntime({ confirmIntervalMs: 200, retryWindowsMs: { other: 15_000 } });
    const name = topic.replace(/_/g, '-');
    const task = runtime.add({
      name,
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'items' }],
      checkpoints: { store: 'file', dir },
    });
    task.start();
    await task.waitFor((s) => s.state === 'incremental' && s.healthy, 90_000);
    // heartbeats move the recorded position within a few seconds
    await task.waitFor((s) => s.position !== null, 15_000);

    // The checkpoint file's place is taken by a directory: every save fails from now on.
    const file = join(dir, `${encodeURIComponent(name)}.json`);
    await rm(file, { force: true });
    await mkdir(join(file, 'occupied'), { recursive: true });
    const slotLsn = () =>
      withPg(db.database, async (c) => (await c.query<{ lsn: string }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE database = current_database()')).rows[0]?.lsn ?? '');
    const slotBefore = await slotLsn();

    const states: string[] = [];
    const sub = task.status$.subscribe((s) => {
      if (states.at(-1) !== s.state) states.push(s.state);
    });
    const started = Date.now();
    const writer = setInterval(() => void withPg(db.database, (c) => c.query("INSERT INTO public.items SELECT max(id) + 1, 'w' FROM public.items")).catch(() => undefined), 300);
    try {
      await task.waitFor((s) => s.state === 'failed', 90_000);
    } finally {
      clearInterval(writer);
      sub.unsubscribe();
    }
    expect(Date.now() - started).toBeGreaterThan(15_000);
    expect(states.filter((s) => s.startsWith('retrying')).length).toBeGreaterThanOrEqual(1);
    expect(task.status.lastError).toMatchObject({ code: 'CHECKPOINT_WRITE_FAILED', kind: 'other' });
    expect(task.status.lastError?.message).toContain(file);
    expect(task.status.lastError?.fix).toBeTruthy();
    // Nothing that was not recorded was confirmed to the slot.
    expect(await withPg(db.database, async (c) => (await c.query<{ ok: boolean }>('SELECT $1::pg_lsn <= $2::pg_lsn AS ok', [await slotLsn(), slotBefore])).rows[0]?.ok)).toBe(true);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 180_000);
});
