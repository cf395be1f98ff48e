/** pg-full: full synchronization of N rows PostgreSQL → Kafka (Canal JSON, LZ4, acks all) through createRuntime. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type KafkaSink } from '../../src/index.js';
import { drainRate, ITEMS_DDL, MB, createDatabase, createTopic, deleteTopics, itemsInsert, pgConfig, round, rssSampler, uniqueName, withPg, type ScenarioContext } from '../lib.js';

export async function pgFull(ctx: ScenarioContext): Promise<void> {
  const n = ctx.quick ? 200_000 : 1_000_000;
  const db = await createDatabase('bench_full');
  const topic = uniqueName('bench_full');
  const dir = await mkdtemp(join(tmpdir(), 'trib-bench-'));
  let runtime: ReturnType<typeof createRuntime> | null = null;
  try {
    await createTopic(topic, 3);
    await withPg(db.database, async (c) => {
      await c.query(ITEMS_DDL);
      for (let i = 0; i < 4; i++) await c.query(itemsInsert(Math.floor((i * n) / 4) + 1, Math.floor(((i + 1) * n) / 4)));
      await c.query('VACUUM ANALYZE public.items');
    });
    runtime = createRuntime({ confirmIntervalMs: 1000 });
    const task = runtime.add({
      name: uniqueName('bfull').replace(/_/g, '-'),
      source: { type: 'postgres', host: '127.0.0.1', port: Number(pgConfig().port), user: 'postgres', database: db.database },
      destination: { kafka: { brokers: ['127.0.0.1:19092'], topic, format: 'canal-json', compression: 'lz4', acks: 'all', partitionPolicy: 'keyHash' } },
      objects: [{ schema: 'public', table: 'items' }],
      syncTypes: { full: true, incremental: true },
      checkpoints: { store: 'file', dir },
    });
    const sink = task.sink as KafkaSink;
    const rss = rssSampler(100);
    const t0 = performance.now();
    task.start();
    const { rate, doneAt } = await drainRate(() => task.status.counters.snapshotRows, n, `${n} rows copied`, () => {
        const st = task.status;
        if (st.state === 'failed' || st.state === 'precheckFailed') throw new Error(`task ${st.state}: ${st.lastError?.message ?? JSON.stringify(st.precheck?.filter((p) => p.status !== 'pass'))}`);
      });
    const peak = rss.stop();
    const status = task.status;
    const wall = n / ((doneAt - t0) / 1000);
    ctx.log(`full sync: ${round(rate, 0)} rows/s (first ack → last), ${round(wall, 0)} rows/s from start(); ${status.progress.chunksTotal} chunks`);
    ctx.row({ metric: 'rows (4 × 50k-row chunks in parallel, default)', value: n, unit: 'rows' });
    ctx.row({ metric: 'full-sync throughput', value: round(rate, 0), unit: 'rows/s', target: '≥150,000', meets: rate >= 150_000, note: `incl. start/precheck/slot: ${round(wall, 0)}/s` });
    ctx.row({ metric: 'throughput (encoded)', value: round(sink.counters.bytes / MB / ((doneAt - t0) / 1000), 1), unit: 'MB/s' });
    ctx.row({ metric: 'peak RSS', value: round(peak / MB, 0), unit: 'MB', target: '≤300', meets: peak / MB <= 300 });
    ctx.shared.set('full', { rate, wall, peakRssMB: peak / MB });
  } finally {
    await runtime?.shutdown().catch(() => undefined);
    await db.drop().catch((err: unknown) => ctx.log(`cleanup: ${(err as Error).message}`));
    await deleteTopics(topic);
    await rm(dir, { recursive: true, force: true });
  }
}
