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
import { snapshotReader, type SnapshotReadMethod } from '../../src/sources/postgres/snapshot.js';
import { startProfile } from './pgIncremental.js';
import { cpuSeconds, drainRate, perCpu, failIfTaskFailed, pgKafkaTask, ITEMS_DDL, MB, createDatabase, createTopic, deleteTopics, itemsInsert, pgConfig, round, rssSampler, uniqueName, withPg, type ScenarioContext } from '../lib.js';

/** rows/s and CPU-seconds of this process (every thread) of a raw read; `rows` what it read. */
interface RawRead {
  rate: number;
  cpu: number;
  rows: number;
}

/** Equal page ranges of the table for `parallel` readers: [from, to) with null for the last. */
async function pageRanges(database: string, parallel: number): Promise<Array<{ from: number; to: number | null }>> {
  const pages = await withPg(database, async (c) => Number((await c.query<{ n: string }>("SELECT pg_relation_size('public.items') / current_setting('block_size')::int AS n")).rows[0]?.n ?? 0));
  return Array.from({ length: parallel }, (_, i) => ({ from: Math.floor((i * pages) / parallel), to: i === parallel - 1 ? null : Math.floor(((i + 1) * pages) / parallel) }));
}

const tidRange = (r: { from: number; to: number | null }) => `ctid >= '(${r.from},0)'::tid${r.to === null ? '' : ` AND ctid < '(${r.to},0)'::tid`}`;

/**
 * Reads the table's equal page ranges in parallel, one connection each, every range inside a
 * REPEATABLE READ transaction; `readRange` returns the rows it read. Rows/s and this process's CPU.
 */
async function parallelRead(database: string, parallel: number, readRange: (client: pg.Client, where: string) => Promise<number>): Promise<RawRead> {
  const ranges = await pageRanges(database, parallel);
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  const counts = await Promise.all(
    ranges.map(async (range) => {
      const client = new pg.Client(pgConfig(database));
      await client.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const rows = await readRange(client, tidRange(range));
        await client.query('COMMIT');
        return rows;
      } finally {
        await client.end();
      }
    }),
  );
  const rows = counts.reduce((a, b) => a + b, 0);
  return { rate: rows / ((performance.now() - t0) / 1000), cpu: cpuSeconds() - cpu0, rows };
}

/** Baseline: rows/s of reading the table through `parallel` cursors over equal page ranges (stock `pg`, rows parsed into objects). */
function rawRead(database: string, parallel: number, fetchRows: number): Promise<RawRead> {
  return parallelRead(database, parallel, async (client, where) => {
    await client.query(`DECLARE c NO SCROLL CURSOR FOR SELECT * FROM ONLY public.items WHERE ${where}`);
    let rows = 0;
    for (;;) {
      const r = await client.query(`FETCH ${fetchRows} FROM c`);
      rows += r.rows.length;
      if (r.rows.length < fetchRows) return rows;
    }
  });
}

/**
 * Baseline: the server's own delivery of the same rows: `COPY (SELECT * ... WHERE ctid range) TO
 * STDOUT` (text) over `parallel` connections of the stock `pg` client, counting the CopyData
 * messages (one per row) without decoding them.
 */
function rawCopy(database: string, parallel: number): Promise<RawRead> {
  return parallelRead(
    database,
    parallel,
    (client, where) =>
      new Promise<number>((resolve, reject) => {
        let n = 0;
        // A node-postgres "submittable": the client hands it the connection and the messages of its query.
        const copy = {
          submit(connection: { query(text: string): void }) {
            connection.query(`COPY (SELECT * FROM ONLY public.items WHERE ${where}) TO STDOUT`);
          },
          handleCopyData() {
            n++;
          },
          handleCommandComplete() {},
          handleReadyForQuery() {
            resolve(n);
          },
          handleError(err: Error) {
            reject(err);
          },
        };
        void client.query(copy as unknown as pg.QueryConfig);
      }),
  );
}

const medianOf = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const pct = (after: number, before: number) => `${after >= before ? '+' : ''}${round((after / before - 1) * 100, 1)} %`;

export async function pgFull(ctx: ScenarioContext): Promise<void> {
  const n = ctx.quick ? 200_000 : 1_000_000;
  const runs = Number(process.env.BENCH_FULL_RUNS ?? (ctx.quick ? 1 : 3));
  // BENCH_FULL_METHODS=copy (or cursor) runs one reader only (profiling).
  const methods = (process.env.BENCH_FULL_METHODS ?? 'copy,cursor').split(',');
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
    // Each run copies the table twice, once per reader (the default, `snapshotReader.method`, and the
    // other), alternating which goes first; the default's first run is the process's first (its RSS).
    const primary = snapshotReader.method;
    const other: SnapshotReadMethod = primary === 'copy' ? 'cursor' : 'copy';
    const by: Record<SnapshotReadMethod, { rates: number[]; walls: number[]; perCpus: number[]; peaks: number[] }> = {
      copy: { rates: [], walls: [], perCpus: [], peaks: [] },
      cursor: { rates: [], walls: [], perCpus: [], peaks: [] },
    };
    let mbps = 0;
    for (let run = 0; run < runs; run++) {
      for (const method of (run % 2 === 0 ? [primary, other] : [other, primary]).filter((m) => methods.includes(m))) {
        snapshotReader.method = method;
        const m = by[method];
        const topic = uniqueName('bench_full');
        topics.push(topic);
        await createTopic(topic, 3);
        runtime = createRuntime({ confirmIntervalMs: 1000 });
        const task = runtime.add(pgKafkaTask({ name: uniqueName('bfull').replace(/_/g, '-'), database: db.database, topic, checkpointDir: dir, full: true }));
        const sink = task.sink as KafkaSink;
        const rss = rssSampler(100);
        const t0 = performance.now();
        const usage0 = process.cpuUsage();
        // BENCH_PROFILE=<dir>: main-thread CPU profile of the first run of each reader.
        const profiler = process.env.BENCH_PROFILE && run === 0 ? await startProfile(`pg-full-${method}`) : null;
        task.start();
        const { rate, doneAt, cpu, events } = await drainRate(() => task.status.counters.snapshotRows, n, `${n} rows copied`, () => failIfTaskFailed(task));
        if (profiler) ctx.log(`CPU profile (${method}): ${await profiler.stop(process.env.BENCH_PROFILE as string)}`);
        const own = perCpu(events, cpu);
        const usage = process.cpuUsage(usage0);
        m.perCpus.push(own.perCpuSecond);
        m.peaks.push(rss.stop());
        const wall = n / ((doneAt - t0) / 1000);
        m.rates.push(rate);
        m.walls.push(wall);
        if (method === primary) mbps = sink.counters.bytes / MB / ((doneAt - t0) / 1000);
        ctx.log(`full sync run ${run + 1}/${runs} (${method}): ${round(rate, 0)} rows/s (first ack → last), ${round(wall, 0)} rows/s from start(); ${task.status.progress.chunksTotal} chunks; ${round(own.perCpuSecond, 0)} rows/CPU-s (${round(own.usPerEvent, 2)} µs/row); from start(): user ${round(usage.user / 1e6, 2)} s, system ${round(usage.system / 1e6, 2)} s; ${sink.counters.batches} Kafka batches (${round(sink.counters.messages / Math.max(1, sink.counters.batches), 0)} messages each)`);
        await runtime.shutdown();
        runtime = null;
      }
    }
    snapshotReader.method = primary;
    const { rates, walls, perCpus, peaks } = by[primary];
    const peak = peaks[0] as number;
    const median = medianOf(rates);
    const otherMedian = medianOf(by[other].rates);
    const otherCpu = medianOf(by[other].perCpus);
    const raw = await rawRead(db.database, 4, 2500);
    const rawPer = perCpu(raw.rows, raw.cpu);
    ctx.log(`baseline: stock pg client, 4 cursors, ${round(raw.rate, 0)} rows/s, ${round(rawPer.perCpuSecond, 0)} rows/CPU-s`);
    const copy = await rawCopy(db.database, 4);
    const copyPer = perCpu(copy.rows, copy.cpu);
    ctx.log(`baseline: COPY TO STDOUT, 4 connections, rows counted not decoded, ${round(copy.rate, 0)} rows/s, ${round(copyPer.perCpuSecond, 0)} rows/CPU-s`);
    const cpuMedian = medianOf(perCpus);
    ctx.row({ metric: 'rows (4 × 50k-row chunks in parallel, default)', value: n, unit: 'rows' });
    ctx.row({ metric: `rows per CPU-second (headline, ${primary} reader, median of ${runs})`, value: round(cpuMedian, 0), unit: 'rows/CPU-s', baseline: { name: 'raw read (stock pg, 4 cursors)', value: round(rawPer.perCpuSecond, 0) }, note: `runs: ${perCpus.map((r) => round(r, 0)).join(', ')}; CPU of the whole process over the copy; raw cursor read ${round(rawPer.perCpuSecond, 0)}, raw COPY (undecoded) ${round(copyPer.perCpuSecond, 0)}` });
    ctx.row({ metric: 'CPU per row (median)', value: round(1e6 / cpuMedian, 2), unit: 'µs/event' });
    ctx.row({ metric: `full-sync throughput (${primary} reader, median of ${runs})`, value: round(median, 0), unit: 'rows/s', target: '≥150,000', meets: median >= 150_000, baseline: { name: 'raw read (stock pg, 4 cursors)', value: round(raw.rate, 0) }, note: `runs: ${rates.map((r) => round(r, 0)).join(', ')}; incl. start/precheck/slot: ${walls.map((w) => round(w, 0)).join(', ')}` });
    ctx.row({ metric: `other reader (${other}), rows per CPU-second (median of ${runs})`, value: round(otherCpu, 0), unit: 'rows/CPU-s', note: `same run, alternating with ${primary}; runs: ${by[other].perCpus.map((r) => round(r, 0)).join(', ')}; ${primary} ${pct(cpuMedian, otherCpu)}` });
    ctx.row({ metric: `other reader (${other}), throughput (median of ${runs})`, value: round(otherMedian, 0), unit: 'rows/s', note: `runs: ${by[other].rates.map((r) => round(r, 0)).join(', ')}; ${primary} ${pct(median, otherMedian)}; peak RSS ${by[other].peaks.map((p) => round(p / MB, 0)).join(', ')} MB` });
    ctx.row({ metric: 'ratio to raw read (4 cursors)', value: round(median / raw.rate, 2), unit: '×', target: '≥0.85', meets: median / raw.rate >= 0.85, note: 'full sync ÷ raw parallel read, same connections' });
    ctx.row({ metric: 'ratio to raw COPY (4 connections)', value: round(median / copy.rate, 2), unit: '×', note: 'full sync ÷ COPY rows counted, not decoded: the server-side ceiling' });
    ctx.row({ metric: 'baseline: raw read (stock pg, 4 cursors)', value: round(raw.rate, 0), unit: 'rows/s', note: `same page ranges, FETCH 2500, rows parsed, no encoding, no Kafka; ${round(rawPer.perCpuSecond, 0)} rows/CPU-s` });
    ctx.row({ metric: 'baseline: raw COPY TO STDOUT (4 connections)', value: round(copy.rate, 0), unit: 'rows/s', note: `same page ranges, text, rows counted not decoded; ${round(copyPer.perCpuSecond, 0)} rows/CPU-s` });
    ctx.row({ metric: 'throughput (encoded, last run)', value: round(mbps, 1), unit: 'MB/s' });
    ctx.row({ metric: 'peak RSS (first run, fresh process)', value: round(peak / MB, 0), unit: 'MB', target: '≤300', meets: peak / MB <= 300, note: `later ${primary} runs in the same process: ${peaks.slice(1).map((p) => round(p / MB, 0)).join(', ') || '-'} MB` });
    ctx.shared.set('full', { rate: median, rates, perCpu: perCpus, reader: primary, other: by[other], raw: raw.rate, rawCopy: copy.rate, peakRssMB: peaks.map((p) => p / MB) });
  } finally {
    await runtime?.shutdown().catch(() => undefined);
    await db.drop().catch((err: unknown) => ctx.log(`cleanup: ${(err as Error).message}`));
    await deleteTopics(...topics);
    await rm(dir, { recursive: true, force: true });
  }
}
