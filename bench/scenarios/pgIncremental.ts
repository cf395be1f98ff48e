/**
 * pg-incremental: N changes PRE-GENERATED into the task's slot (slot and publication created
 * before the INSERTs, task started afterwards), streamed PostgreSQL → Kafka (Canal JSON, LZ4,
 * acks all) through createRuntime; then a steady phase at a fixed 10,000 events/s for latency.
 * Baselines over the same changes: (a) stock pg-logical-replication PgoutputPlugin on its own
 * slot, no encoding, no Kafka; (b) raw kafkajs sendBatch of the same pre-encoded messages.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { CompressionTypes, type Message } from 'kafkajs';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { createRuntime, type KafkaSink } from '../../src/index.js';
import { registerCodecs } from '../../src/codecs/index.js';
import { publicationMark } from '../../src/sources/postgres/publication.js';
import { defaultReplicationName } from '../../src/sources/postgres/slot.js';
import {
  cpuSeconds, drainRate, failIfTaskFailed, perCpu, pgKafkaTask, ITEMS_DDL, MB, createDatabase, createTopic, deleteTopics, itemsInsert, kafka, percentile, pgConfig, round, rssSampler, sleep, uniqueName, until, withPg,
  type ScenarioContext,
} from '../lib.js';

const PARTITIONS = 3;

/** Which Kafka client a raw production runs (raw-produce-worker.mjs, a worker thread of its own). */
export type ProduceClient = 'stock' | 'patched' | 'platformatic';
const BATCH = 5000;

interface Consumed {
  burstLatencies: Float64Array;
  steadyLatencies: Float64Array;
  sample: Message[];
}

/** Reads `count` messages from the beginning; latency = broker append time − Canal `es`. */
async function consumeLatencies(topic: string, count: number, steadyFrom: number, timeoutMs: number): Promise<Consumed> {
  const consumer = kafka('bench-reader').consumer({ groupId: uniqueName('bench'), maxBytes: 64 * MB, maxBytesPerPartition: 16 * MB });
  const burst: number[] = [];
  const steady: number[] = [];
  const sample: Message[] = [];
  let seen = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${seen} of ${count} messages of ${topic}`)), timeoutMs);
      void consumer.run({
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            seen += 1;
            const v = m.value;
            if (!v) continue;
            const i = v.indexOf('"es":');
            if (i < 0) continue;
            let es = 0;
            for (let j = i + 5; j < v.length; j++) {
              const c = v[j] as number;
              if (c < 48 || c > 57) break;
              es = es * 10 + (c - 48);
            }
            const lat = Number(m.timestamp) - es;
            if (es >= steadyFrom) steady.push(lat);
            else burst.push(lat);
            if (sample.length < BATCH) sample.push({ key: m.key, value: v });
          }
          if (seen >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return { burstLatencies: Float64Array.from(burst).sort(), steadyLatencies: Float64Array.from(steady).sort(), sample };
}

/** Baseline (a): the stock PgoutputPlugin over its own slot; counts inserts of `items` until n. */
async function rawDecode(database: string, slot: string, publication: string, n: number): Promise<{ rate: number; seconds: number; cpu: number }> {
  const service = new LogicalReplicationService(pgConfig(database), { acknowledge: { auto: true, timeoutSeconds: 10 } });
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
  let count = 0;
  let first = 0;
  let last = 0;
  let cpu0 = 0;
  let cpu1 = 0;
  const done = new Promise<void>((resolve, reject) => {
    service.on('data', (_lsn: string, m: Pgoutput.Message) => {
      if (m.tag !== 'insert' || m.relation.name !== 'items') return;
      if (count === 0) {
        first = performance.now();
        cpu0 = cpuSeconds();
      }
      count += 1;
      if (count === n) {
        last = performance.now();
        cpu1 = cpuSeconds();
        resolve();
      }
    });
    service.on('error', reject);
  });
  void service.subscribe(plugin, slot).catch(() => undefined);
  await Promise.race([done, sleep(600_000).then(() => Promise.reject(new Error(`raw decode read ${count} of ${n}`)))]);
  await service.destroy().catch(() => undefined);
  const seconds = (last - first) / 1000;
  return { rate: (n - 1) / seconds, seconds, cpu: cpu1 - cpu0 };
}

/**
 * Baseline (c): PostgreSQL's own `pg_recvlogical` draining the same backlog from a slot of its own
 * with the same output plugin (pgoutput, proto_version 1, the task's publication) into /dev/null,
 * until `endpos` (the WAL position after the N inserts). Wall time from spawn to exit (connection
 * included, a few ms); its CPU (utime + stime of the process) from /usr/bin/time.
 */
async function recvLogical(database: string, slot: string, publication: string, endpos: string, n: number): Promise<{ rate: number; seconds: number; cpu: number }> {
  const cfg = pgConfig(database);
  const args = ['-f', '%U %S', 'pg_recvlogical', '-h', String(cfg.host), '-p', String(cfg.port), '-U', String(cfg.user), '-d', database, '--slot', slot, '--start', '--no-loop', '--endpos', endpos, '-o', 'proto_version=1', '-o', `publication_names=${publication}`, '-f', '/dev/null'];
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('exit', resolve);
    child.once('error', reject);
  });
  const seconds = (performance.now() - t0) / 1000;
  const times = /([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  if (code !== 0 || !times) throw new Error(`pg_recvlogical exited with ${code}: ${stderr.slice(-300)}`);
  return { rate: n / seconds, seconds, cpu: Number(times[1]) + Number(times[2]) };
}

/**
 * Raw kafkajs sendBatch of pre-encoded messages, `batch` per request, one request in flight.
 * `stock` (baseline (b)): unmodified kafkajs on a worker thread with its own module cache
 * (raw-produce-worker.mjs); otherwise kafkajs as Tributary runs it, with src/kafka/patches.ts
 * installed (the codec comparison of the stages scenario).
 */
export async function rawProduce(topic: string, sample: readonly Message[], n: number, compression: CompressionTypes, opts: { batch?: number; stock?: boolean; client?: ProduceClient } = {}): Promise<{ rate: number; mbps: number; perCpuSecond: number; note: string }> {
  const batch = opts.batch ?? BATCH;
  const client = opts.client ?? (opts.stock ? 'stock' : undefined);
  if (client) {
    const cpu0 = cpuSeconds();
    const worker = new Worker(new URL('../raw-produce-worker.mjs', import.meta.url), {
      workerData: {
        brokers: ['127.0.0.1:19092'],
        topic,
        n,
        compression,
        batch,
        client,
        keys: sample.map((m) => (m.key ? new Uint8Array(m.key as Buffer) : null)),
        values: sample.map((m) => new Uint8Array(m.value as Buffer)),
      },
    });
    const r = await new Promise<{ rate: number; bytes: number; seconds: number; note: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    // The whole process's CPU over the worker's life (start-up and connection included; the main thread waits).
    return { rate: r.rate, mbps: r.bytes / MB / r.seconds, perCpuSecond: n / (cpuSeconds() - cpu0), note: r.note };
  }
  registerCodecs();
  const producer = kafka('bench-raw').producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, idempotent: false });
  await producer.connect();
  try {
    let bytes = 0;
    const start = performance.now();
    for (let sent = 0; sent < n; ) {
      const size = Math.min(batch, n - sent);
      const messages: Message[] = new Array<Message>(size);
      for (let i = 0; i < size; i++) {
        const m = sample[(sent + i) % sample.length] as Message;
        messages[i] = m;
        bytes += (m.value as Buffer).length + ((m.key as Buffer | null)?.length ?? 0);
      }
      await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1, compression });
      sent += size;
    }
    const seconds = (performance.now() - start) / 1000;
    return { rate: n / seconds, mbps: bytes / MB / seconds, perCpuSecond: NaN, note: 'kafkajs as loaded in this process' };
  } finally {
    await producer.disconnect();
  }
}

/** V8 CPU profile of the main thread between start and stop (BENCH_PROFILE=<dir>). */
export async function startProfile(label = 'pg-incremental'): Promise<{ stop: (dir: string) => Promise<string> }> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return {
    async stop(dir) {
      const { profile } = await post<{ profile: object }>('Profiler.stop');
      session.disconnect();
      await mkdir(dir, { recursive: true });
      const file = join(dir, `${label}-${Date.now()}.cpuprofile`);
      await writeFile(file, JSON.stringify(profile));
      return file;
    },
  };
}

export async function pgIncremental(ctx: ScenarioContext): Promise<void> {
  const n = ctx.quick ? 100_000 : 1_000_000;
  const steadyRate = 10_000;
  const steadySeconds = ctx.quick ? 5 : 15;
  const db = await createDatabase('bench_inc');
  const topic = uniqueName('bench_inc');
  const rawTopic = uniqueName('bench_raw');
  const name = uniqueName('binc').replace(/_/g, '-');
  const slot = defaultReplicationName(name);
  const rawSlot = uniqueName('bench_rawslot');
  const recvSlot = uniqueName('bench_recvslot');
  let endpos = '';
  const dir = await mkdtemp(join(tmpdir(), 'trib-bench-'));
  let runtime: ReturnType<typeof createRuntime> | null = null;
  try {
    await createTopic(topic, PARTITIONS);
    await createTopic(rawTopic, PARTITIONS);
    // Slot and publication first, so both slots hold the same N changes before anything reads them.
    await withPg(db.database, async (c) => {
      await c.query(ITEMS_DDL);
      await c.query('ALTER TABLE public.items REPLICA IDENTITY FULL');
      await c.query(`CREATE PUBLICATION ${slot} FOR TABLE public.items WITH (publish_via_partition_root = true)`);
      // Marked as the task's own, so the task adds its helper tables to it (it leaves a user's alone).
      await c.query(`COMMENT ON PUBLICATION ${slot} IS '${publicationMark(name).replace(/'/g, "''")}'`);
      await c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
      await c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [rawSlot]);
      await c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [recvSlot]);
      const txs = 10;
      const t0 = performance.now();
      for (let i = 0; i < txs; i++) await c.query(itemsInsert(Math.floor((i * n) / txs) + 1, Math.floor(((i + 1) * n) / txs)));
      endpos = (await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn ?? '';
      ctx.log(`generated ${n} changes in ${txs} transactions in ${round((performance.now() - t0) / 1000, 2)} s (pre-generated into the slot)`);
    });

    runtime = createRuntime({ confirmIntervalMs: 1000 });
    const task = runtime.add(pgKafkaTask({ name, database: db.database, topic, checkpointDir: dir, full: false }));
    const sink = task.sink as KafkaSink;
    const rss = rssSampler(100);
    const profiler = process.env.BENCH_PROFILE ? await startProfile() : null;
    const tStart = performance.now();
    task.start();
    const { rate, doneAt, cpu, events } = await drainRate(() => sink.counters.messages, n, `${n} messages in Kafka`, () => failIfTaskFailed(task));
    const own = perCpu(events, cpu);
    if (profiler) ctx.log(`CPU profile of the burst phase: ${await profiler.stop(process.env.BENCH_PROFILE as string)}`);
    const bytes = sink.counters.bytes;
    const wallRate = n / ((doneAt - tStart) / 1000);
    const mbps = ((bytes / n) * rate) / MB;
    const avgMessage = bytes / n;
    ctx.log(`pipeline: ${round(rate, 0)} events/s (first ack → last ack), ${round(wallRate, 0)} events/s from start(); ${round(avgMessage, 0)} B/message; ${round(cpu, 2)} CPU-s → ${round(own.perCpuSecond, 0)} events/CPU-s, ${round(own.usPerEvent, 2)} µs CPU/change`);

    // Steady phase: small transactions at a fixed rate, latency from commit to Kafka append.
    const perTx = 100;
    const txEveryMs = (perTx * 1000) / steadyRate;
    const steadyTotal = Math.round((steadySeconds * steadyRate) / perTx) * perTx;
    const steadyFrom = Date.now() + 1;
    await sleep(2);
    const writer = fork(fileURLToPath(new URL('../steady-writer.mjs', import.meta.url)), [], { execArgv: [] });
    writer.send({ config: pgConfig(db.database), firstId: n + 1, perTx, rate: steadyRate, total: steadyTotal, sql: itemsInsert(0, 0).replace('generate_series(0, 0)', 'generate_series($FROM, $TO)') });
    const w = await new Promise<{ achieved: number; late: number }>((resolve, reject) => {
      writer.once('message', (m) => resolve(m as { achieved: number; late: number }));
      writer.once('error', reject);
      writer.once('exit', (code) => reject(new Error(`steady writer exited with code ${code}`)));
    });
    ctx.log(`steady writer (child process): ${round(w.achieved, 0)} events/s achieved, ${w.late} transactions over one period late`);
    await until(() => sink.counters.messages >= n + steadyTotal, 120_000, 'steady phase in Kafka', 5);
    const peak = rss.stop();
    await runtime.shutdown();
    runtime = null;

    const consumed = await consumeLatencies(topic, n + steadyTotal, steadyFrom, 600_000);
    const b = consumed.burstLatencies;
    const s = consumed.steadyLatencies;

    // Baselines, same run, same servers.
    const rawC = await recvLogical(db.database, recvSlot, slot, endpos, n);
    const c = perCpu(n, rawC.cpu);
    ctx.log(`baseline (c) pg_recvlogical (pgoutput): ${round(rawC.rate, 0)} changes/s, its CPU ${round(rawC.cpu, 2)} s`);
    const rawA = await rawDecode(db.database, rawSlot, slot, n);
    const a = perCpu(n, rawA.cpu);
    ctx.log(`baseline (a) stock pgoutput decode: ${round(rawA.rate, 0)} changes/s, ${round(a.perCpuSecond, 0)} per CPU-s`);
    const rawB = await rawProduce(rawTopic, consumed.sample, n, CompressionTypes.LZ4, { client: 'stock' });
    ctx.log(`baseline (b) raw stock kafkajs LZ4 acks=all: ${round(rawB.rate, 0)} messages/s, ${round(rawB.perCpuSecond, 0)} per CPU-s`);
    // The Kafka clients on the same messages, each in a worker of its own, alternating twice: the
    // kafkajs Tributary runs (with its fast path) and @platformatic/kafka (bench-only devDependency).
    const clients: Record<'patched' | 'platformatic', Array<{ rate: number; perCpuSecond: number; note: string }>> = { patched: [], platformatic: [] };
    const clientN = Math.min(n, 200_000);
    for (const order of [['patched', 'platformatic'], ['platformatic', 'patched']] as const) {
      for (const cl of order) {
        const r = await rawProduce(rawTopic, consumed.sample, clientN, CompressionTypes.LZ4, { client: cl });
        clients[cl].push(r);
        ctx.log(`kafka client ${cl}: ${round(r.rate, 0)} msgs/s, ${round(r.perCpuSecond, 0)} msgs/CPU-s (${r.note})`);
      }
    }
    ctx.shared.set('canalSample', consumed.sample);
    const slower = Math.min(rawA.rate, rawB.rate);
    const ratio = rate / slower;
    const ratioC = rate / rawC.rate;

    ctx.row({ metric: 'changes (pre-generated into slot, 10 tx)', value: n, unit: 'events' });
    ctx.row({ metric: 'events per CPU-second (headline)', value: round(own.perCpuSecond, 0), unit: 'events/CPU-s', target: '≥100,000', meets: own.perCpuSecond >= 100_000, note: `${round(cpu, 2)} CPU-s of the whole process (every thread) over the drain; ≥100,000 = ≤10 µs/change` });
    ctx.row({ metric: 'CPU per change', value: round(own.usPerEvent, 2), unit: 'µs/event', target: '≤10', meets: own.usPerEvent <= 10 });
    ctx.row({ metric: 'throughput', value: round(rate, 0), unit: 'events/s', target: '≥100,000', meets: rate >= 100_000, baseline: { name: '(c) pg_recvlogical', value: round(rawC.rate, 0) }, note: `incl. startup: ${round(wallRate, 0)}/s` });
    ctx.row({ metric: 'ratio to (c) pg_recvlogical', value: round(ratioC, 2), unit: '×', target: '≥0.80', meets: ratioC >= 0.8, note: 'events/s ÷ pg_recvlogical changes/s, same backlog, same run' });
    ctx.row({ metric: 'throughput (encoded Canal JSON)', value: round(mbps, 1), unit: 'MB/s', note: `${round(avgMessage, 0)} B/message` });
    ctx.row({ metric: 'ratio to slower of (a), (b)', value: round(ratio, 2), unit: '×', target: '≥0.70', meets: ratio >= 0.7, note: `slower = ${rawA.rate <= rawB.rate ? '(a) decode' : '(b) produce'}` });
    ctx.row({ metric: 'baseline (c) pg_recvlogical', value: round(rawC.rate, 0), unit: 'changes/s', note: `pgoutput proto 1, own slot, to /dev/null until endpos; its own CPU ${round(rawC.cpu, 2)} s = ${round(c.perCpuSecond, 0)} changes/CPU-s` });
    ctx.row({ metric: 'baseline (a) stock pgoutput decode', value: round(rawA.rate, 0), unit: 'changes/s', note: `pg-logical-replication PgoutputPlugin, own slot; ${round(a.perCpuSecond, 0)} changes/CPU-s` });
    ctx.row({ metric: 'baseline (b) raw kafkajs produce', value: round(rawB.rate, 0), unit: 'msgs/s', note: `stock kafkajs 2.2.4 (worker thread), LZ4, acks all, ${BATCH}/batch, ${round(rawB.mbps, 1)} MB/s; ${round(rawB.perCpuSecond, 0)} msgs/CPU-s` });
    for (const cl of ['patched', 'platformatic'] as const) {
      const rs = clients[cl];
      const best = (f: (r: { rate: number; perCpuSecond: number }) => number) => Math.max(...rs.map(f));
      ctx.row({ metric: `kafka client ${cl === 'patched' ? "kafkajs + Tributary's fast path" : '@platformatic/kafka 1.35.0'}`, value: round(best((r) => r.rate), 0), unit: 'msgs/s', note: `best of ${rs.length} alternating runs of ${clientN} (${rs.map((r) => round(r.rate, 0)).join(', ')}); ${round(best((r) => r.perCpuSecond), 0)} msgs/CPU-s (${rs.map((r) => round(r.perCpuSecond, 0)).join(', ')}); ${rs[0]?.note ?? ''}; same Canal JSON messages, LZ4, acks all, ${BATCH}/request, one in flight` });
    }
    ctx.row({ metric: 'burst latency p50 / p99 (backlog)', value: `${round(percentile(b, 50), 0)} / ${round(percentile(b, 99), 0)}`, unit: 'ms', note: 'commit → append while draining the pre-generated backlog' });
    ctx.row({ metric: `latency p50 at ${steadyRate.toLocaleString('en')}/s`, value: round(percentile(s, 50), 1), unit: 'ms', note: `${s.length} events, ${perTx}-row tx every ${txEveryMs} ms` });
    ctx.row({ metric: `latency p99 at ${steadyRate.toLocaleString('en')}/s`, value: round(percentile(s, 99), 1), unit: 'ms', target: '≤30', meets: percentile(s, 99) <= 30 });
    ctx.row({ metric: 'steady writer achieved', value: round(w.achieved, 0), unit: 'events/s', note: `${w.late} tx late by > one period` });
    ctx.row({ metric: 'peak RSS', value: round(peak / MB, 0), unit: 'MB', target: '≤300', meets: peak / MB <= 300 });
    ctx.shared.set('incremental', { rate, perCpuSecond: own.perCpuSecond, usPerEvent: own.usPerEvent, recvlogical: rawC.rate, wallRate, mbps, avgMessage, rawA: rawA.rate, rawB: rawB.rate, ratio, peakRssMB: peak / MB, p50: percentile(s, 50), p99: percentile(s, 99) });
  } finally {
    await runtime?.shutdown().catch(() => undefined);
    await db.drop().catch((err: unknown) => ctx.log(`cleanup: ${(err as Error).message}`));
    await deleteTopics(topic, rawTopic);
    await rm(dir, { recursive: true, force: true });
  }
}
