/**
 * pg-full: full synchronization of N rows PostgreSQL → Kafka (Canal JSON, LZ4, acks all) through
 * createRuntime, repeated (each time a new task and topic over the same table; the figure is the
 * median, with the range), beside a raw baseline: the same rows read by the stock `pg` client
 * through 4 parallel cursors over the same page ranges, 2,500 rows per FETCH, no encoding, no Kafka.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type KafkaSink } from '../../src/index.js';
import { drainRate, failIfTaskFailed, pgKafkaTask, ITEMS_DDL, MB, createDatabase, createTopic, deleteTopics, itemsInsert, pgConfig, round, rssSampler, uniqueName, withPg, type ScenarioContext } from '../lib.js';

/** Baseline: rows/s of reading the table through `parallel` cursors over equal page ranges. */
async function rawRead(database: string, parallel: number, fetchRows: number): Promise<number> {
  const pages = await withPg(database, async (c) => Number((await c.query<{ n: string }>("SELECT pg_relation_size('public.items') / current_setting('block_size')::int AS n")).rows[0]?.n ?? 0));
  const t0 = performance.now();
  const counts = await Promise.all(
    Array.from({ length: parallel }, async (_, i) => {
      const from = Math.floor((i * pages) / parallel);
      const to = i === parallel - 1 ? null : Math.floor(((i + 1) * pages) / parallel);
      const client = new pg.Client(pgConfig(database));
      await client.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await client.query(`DECLARE c NO SCROLL CURSOR FOR SELECT * FROM ONLY public.items WHERE ctid >= '(${from},0)'::tid${to === null ? '' : ` AND ctid < '(${to},0)'::tid`}`);
        let rows = 0;
        for (;;) {
          const r = await client.query(`FETCH ${fetchRows} FROM c`);
          rows += r.rows.length;
          if (r.rows.length < fetchRows) break;
        }
        await client.query('COMMIT');
        return rows;
      } finally {
        await client.end();
      }
    }),
  );
  const rows = counts.reduce((a, b) => a + b, 0);
  return rows / ((performance.now() - t0) / 1000);
}

export async function pgFull(ctx: ScenarioContext): Promise<void> {
  const n = ctx.quick ? 200_000 : 1_000_000;
  const runs = Number(process.env.BENCH_FULL_RUNS ?? (ctx.quick ? 1 : 3));
  const db = await createDatabase('bench_full');
  const topics: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'trib-bench-'));
  let runtime: ReturnType<typeof createRuntime> | null = null;
  try {
    await withPg(db.database, async (c) => {
      await c.query(ITEMS_DDL);
      for (let i = 0; i < 4; i++) await c.query(itemsInsert(Math.floor((i * n) / 4) + 1, Math.floor(((i + 1) * n) / 4)));
      await c.query('VACUUM ANALYZE public.items');
    });
    const rates: number[] = [];
    const peaks: number[] = [];
    const walls: number[] = [];
    let mbps = 0;
    for (let run = 0; run < runs; run++) {
      const topic = uniqueName('bench_full');
      topics.push(topic);
      await createTopic(topic, 3);
      runtime = createRuntime({ confirmIntervalMs: 1000 });
      const task = runtime.add(pgKafkaTask({ name: uniqueName('bfull').replace(/_/g, '-'), database: db.database, topic, checkpointDir: dir, full: true }));
      const sink = task.sink as KafkaSink;
      const rss = rssSampler(100);
      const t0 = performance.now();
      task.start();
      const { rate, doneAt } = await drainRate(() => task.status.counters.snapshotRows, n, `${n} rows copied`, () => failIfTaskFailed(task));
      peaks.push(rss.stop());
      const wall = n / ((doneAt - t0) / 1000);
      rates.push(rate);
      walls.push(wall);
      mbps = sink.counters.bytes / MB / ((doneAt - t0) / 1000);
      ctx.log(`full sync run ${run + 1}/${runs}: ${round(rate, 0)} rows/s (first ack → last), ${round(wall, 0)} rows/s from start(); ${task.status.progress.chunksTotal} chunks`);
      await runtime.shutdown();
      runtime = null;
    }
    const peak = peaks[0] as number;
    const sorted = [...rates].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    const raw = await rawRead(db.database, 4, 2500);
    ctx.log(`baseline: stock pg client, 4 cursors, ${round(raw, 0)} rows/s`);
    ctx.row({ metric: 'rows (4 × 50k-row chunks in parallel, default)', value: n, unit: 'rows' });
    ctx.row({ metric: `full-sync throughput (median of ${runs})`, value: round(median, 0), unit: 'rows/s', target: '≥150,000', meets: median >= 150_000, baseline: { name: 'raw read (stock pg, 4 cursors)', value: round(raw, 0) }, note: `runs: ${rates.map((r) => round(r, 0)).join(', ')}; incl. start/precheck/slot: ${walls.map((w) => round(w, 0)).join(', ')}` });
    ctx.row({ metric: 'ratio to raw read', value: round(median / raw, 2), unit: '×', note: 'full sync ÷ baseline' });
    ctx.row({ metric: 'baseline: raw read (stock pg, 4 cursors)', value: round(raw, 0), unit: 'rows/s', note: 'same page ranges, FETCH 2500, no encoding, no Kafka' });
    ctx.row({ metric: 'throughput (encoded, last run)', value: round(mbps, 1), unit: 'MB/s' });
    ctx.row({ metric: 'peak RSS (first run, fresh process)', value: round(peak / MB, 0), unit: 'MB', target: '≤300', meets: peak / MB <= 300, note: `later runs in the same process: ${peaks.slice(1).map((p) => round(p / MB, 0)).join(', ') || '-'} MB` });
    ctx.shared.set('full', { rate: median, rates, raw, peakRssMB: peaks.map((p) => p / MB) });
  } finally {
    await runtime?.shutdown().catch(() => undefined);
    await db.drop().catch((err: unknown) => ctx.log(`cleanup: ${(err as Error).message}`));
    await deleteTopics(...topics);
    await rm(dir, { recursive: true, force: true });
  }
}
