import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime, type TaskStatus } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from './support.js';

/**
 * Full-sync progress as a user watches it: rows counted as the destination acknowledges them (not
 * when a chunk finishes), per table and in total, and exactly the rows copied at the end even when
 * the planner's estimate (pg_class.reltuples) is far off.
 */
describe('full-sync progress (PostgreSQL → Kafka, throttled so it lasts seconds)', () => {
  let runtime: Runtime;
  let dir: string;
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('progress');
  const A_ROWS = 30_000;
  const B_ROWS = 20_000;

  beforeAll(async () => {
    db = await createTestDatabase('progress');
    dir = await mkdtemp(join(tmpdir(), 'trib-progress-'));
    await createTopic(topic);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.a (id int PRIMARY KEY, v text)');
      await c.query('CREATE TABLE public.b (id int PRIMARY KEY, v text)');
      // Table a is analyzed at a third of its rows: its estimate stays at ~10,000 while it holds 30,000.
      await c.query("INSERT INTO public.a SELECT g, 'a' || g FROM generate_series(1, 10000) g");
      await c.query('ANALYZE public.a');
      await c.query(`INSERT INTO public.a SELECT g, 'a' || g FROM generate_series(10001, ${A_ROWS}) g`);
      await c.query(`INSERT INTO public.b SELECT g, 'b' || g FROM generate_series(1, ${B_ROWS}) g`);
      await c.query('ANALYZE public.b');
    });
    runtime = createRuntime({ confirmIntervalMs: 200 });
  }, 120_000);

  afterAll(async () => {
    await runtime?.shutdown();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('counts rows as batches are acknowledged, never more than acknowledged, per table adding up to the total, and ends at the rows copied', async () => {
    const task = runtime.add({
      name: uniqueName('progress').replace(/_/g, '-'),
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [
        { schema: 'public', table: 'a' },
        { schema: 'public', table: 'b' },
      ],
      // One chunk per table (chunkRows far above the table sizes), both copied at once, 6,000 rows/s.
      fullSync: { parallelism: 2, chunkRows: 1_000_000 },
      throttle: { full: { rps: 6_000 } },
      checkpoints: { store: 'file', dir },
    });
    const samples: TaskStatus[] = [];
    const sub = task.status$.subscribe((s) => s.state === 'full' && samples.push(s));
    const poll = setInterval(() => task.status.state === 'full' && samples.push(task.status), 50);
    task.start();
    let final: TaskStatus;
    try {
      final = await task.waitFor((s) => ['incremental', 'failed', 'precheckFailed'].includes(s.state), 120_000);
    } finally {
      clearInterval(poll);
      sub.unsubscribe();
    }
    expect(final.lastError).toBeNull();
    expect(final.state).toBe('incremental');

    const tableA = `${db.database}.public.a`;
    const tableB = `${db.database}.public.b`;
    const sum = (s: TaskStatus, k: 'rowsDone' | 'rowsEstimated' | 'chunksDone' | 'chunksTotal') => Object.values(s.progress.tables).reduce((n, t) => n + t[k], 0);
    for (const s of [...samples, final]) {
      // Never ahead of what the destination acknowledged.
      expect(s.progress.rowsDone).toBeLessThanOrEqual(s.counters.snapshotRows);
      // Per table adds up to the total.
      expect(sum(s, 'rowsDone')).toBe(s.progress.rowsDone);
      expect(sum(s, 'rowsEstimated')).toBe(s.progress.rowsEstimated);
      expect(sum(s, 'chunksDone')).toBe(s.progress.chunksDone);
      expect(sum(s, 'chunksTotal')).toBe(s.progress.chunksTotal);
      // The estimate is never below what was copied.
      expect(s.progress.rowsEstimated).toBeGreaterThanOrEqual(s.progress.rowsDone);
      for (const t of Object.values(s.progress.tables)) expect(t.rowsEstimated).toBeGreaterThanOrEqual(t.rowsDone);
    }
    // Rows move within a chunk: while no chunk has finished, the count already rose several times.
    const withinFirstChunk = new Set(samples.filter((s) => s.progress.chunksDone === 0 && s.progress.rowsDone > 0).map((s) => s.progress.rowsDone));
    expect(withinFirstChunk.size).toBeGreaterThanOrEqual(3);
    // And it never goes back.
    for (let i = 1; i < samples.length; i++) expect((samples[i] as TaskStatus).progress.rowsDone).toBeGreaterThanOrEqual((samples[i - 1] as TaskStatus).progress.rowsDone);
    // The bar's numbers while copying table a, whose estimate was a third of its rows: estimate ≥ done.
    expect(samples.some((s) => (s.progress.tables[tableA]?.rowsDone ?? 0) > 10_000 && s.progress.chunksDone < 2)).toBe(true);

    // At the end: exactly the rows copied, the estimate equal to them (the bar at 100%), per table too.
    expect(final.progress.rowsDone).toBe(A_ROWS + B_ROWS);
    expect(final.progress.rowsEstimated).toBe(A_ROWS + B_ROWS);
    expect(final.progress.chunksDone).toBe(final.progress.chunksTotal);
    expect(final.progress.tables[tableA]).toMatchObject({ rowsDone: A_ROWS, rowsEstimated: A_ROWS });
    expect(final.progress.tables[tableB]).toMatchObject({ rowsDone: B_ROWS, rowsEstimated: B_ROWS });
    expect(final.counters.snapshotRows).toBe(A_ROWS + B_ROWS);
    await task.stop();
  }, 180_000);
});
