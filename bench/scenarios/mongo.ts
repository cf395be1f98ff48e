/**
 * mongo: MongoDB → Kafka (full sync + incremental, change streams and oplog) and MongoDB → MongoDB
 * (incremental replay) through createRuntime, against the mongo-java-server SUBSTITUTES of
 * docs/mongo-servers.md (27117 posing as replica set rs0, 27118 standalone). These are slow
 * in-memory Java servers, not MongoDB: their own write/read rate caps every figure, so the rows
 * that matter are the ratios to the raw-driver baselines measured in the same run.
 *
 * Incremental backlogs are pre-generated: the task reaches `incremental`, is paused (pipeline
 * ended, position checkpointed), N documents are inserted, the task is resumed, and the rate is
 * first ack → N-th ack of the backlog.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompressionTypes, type Message } from 'kafkajs';
import { MongoClient, Timestamp, type AnyBulkWriteOperation } from 'mongodb';
import { createRuntime, type TaskRunner } from '../../src/index.js';
import { mongoReplayTuning, type MongoSink } from '../../src/sinks/mongodb/index.js';
import { cpuSeconds, drainRate, failIfTaskFailed, perCpu, MB, createTopic, deleteTopics, kafka, round, rssSampler, uniqueName, until, type ScenarioContext } from '../lib.js';
import { rawProduce, startProfile } from './pgIncremental.js';

const SRC_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const DST_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';
const PARTITIONS = 3;
const BATCH = 1000;
const SUBSTITUTE = 'mongo-java-server substitute (not MongoDB); its own rate caps this';

type Method = 'changeStreams' | 'oplog';

interface Item {
  _id: number;
  sku: string;
  customer: string;
  qty: number;
  price: number;
  created: Date;
  note: string;
}

/** ~200 bytes of BSON per document, like the PostgreSQL scenarios' rows. */
function item(i: number): Item {
  const h = (i * 2654435761) >>> 0;
  return {
    _id: i,
    sku: `sku-${String(i % 100000).padStart(6, '0')}`,
    customer: `customer-${i % 9973}`,
    qty: (i % 17) + 1,
    price: (i % 100000) / 100,
    created: new Date(Date.UTC(2026, 0, 1) + i),
    note: `${h.toString(16).padStart(8, '0')}-${'abcdefghij'.repeat(11)}`,
  };
}

/** Raw driver insertMany of ids [from, from + n) in batches of BATCH; returns docs/s. */
async function insertItems(client: MongoClient, database: string, collection: string, from: number, n: number): Promise<number> {
  const coll = client.db(database).collection<Item>(collection);
  const t0 = performance.now();
  for (let s = 0; s < n; s += BATCH) {
    const size = Math.min(BATCH, n - s);
    await coll.insertMany(Array.from({ length: size }, (_, i) => item(from + s + i)), { ordered: false });
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Raw driver bulkWrite of replaceOne-upserts of ids [0, n) in batches of `batch` (unordered, one in flight); returns ops/s and ops per CPU-second of this process. */
async function upsertItems(client: MongoClient, database: string, n: number, batch = BATCH): Promise<{ rate: number; perCpuSecond: number }> {
  const coll = client.db(database).collection<Item>('items');
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  for (let s = 0; s < n; s += batch) {
    const size = Math.min(batch, n - s);
    const ops: AnyBulkWriteOperation<Item>[] = Array.from({ length: size }, (_, i) => {
      const d = item(s + i);
      return { replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true } };
    });
    await coll.bulkWrite(ops, { ordered: false });
  }
  return { rate: n / ((performance.now() - t0) / 1000), perCpuSecond: n / (cpuSeconds() - cpu0) };
}

/** The newest oplog entry's timestamp (where a raw oplog read of what follows starts). */
async function lastOplogTs(client: MongoClient): Promise<Timestamp> {
  const last = await client.db('local').collection('oplog.rs').find({}, { projection: { ts: 1 } }).sort({ $natural: -1 }).limit(1).next();
  return (last?.ts as Timestamp | undefined) ?? new Timestamp({ t: 0, i: 0 });
}

/**
 * Baseline: the server's own oplog read rate: the raw driver reading the backlog's `n` insert
 * entries of `ns` after `after` from local.oplog.rs (one cursor, the driver's default batches,
 * documents decoded by the driver), as the oplog method's reader must; entries/s and per CPU-second.
 */
async function readOplog(client: MongoClient, ns: string, after: Timestamp, n: number): Promise<{ rate: number; perCpuSecond: number; read: number }> {
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  let read = 0;
  const cursor = client.db('local').collection('oplog.rs').find({ ts: { $gt: after }, ns, op: 'i' });
  for await (const _doc of cursor) {
    if (++read >= n) break;
  }
  await cursor.close();
  return { rate: read / ((performance.now() - t0) / 1000), perCpuSecond: read / (cpuSeconds() - cpu0), read };
}

/**
 * Baseline for the change-stream method: the server's own change stream delivery of the same
 * backlog: the raw driver watching the collection from `after` (updateLookup, as the task asks;
 * the driver's default batches, events decoded by the driver) until `n` events; events/s and per
 * CPU-second. Gives up after `timeoutMs` with what it read.
 */
async function readChangeStream(client: MongoClient, database: string, after: Timestamp, n: number, timeoutMs = 300_000): Promise<{ rate: number; perCpuSecond: number; read: number }> {
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  let read = 0;
  const stream = client.db(database).collection('items').watch([], { startAtOperationTime: after, fullDocument: 'updateLookup' });
  try {
    while (read < n && performance.now() - t0 < timeoutMs) {
      if ((await stream.tryNext()) !== null) read++;
    }
  } finally {
    await stream.close();
  }
  return { rate: read / ((performance.now() - t0) / 1000), perCpuSecond: read / (cpuSeconds() - cpu0), read };
}

/** Fails on failed states; ignores precheck warnings (the substitute's oplog window) as a user would. */
function check(task: TaskRunner): void {
  failIfTaskFailed(task);
  const st = task.status;
  if (st.state === 'awaitingAlertIgnore') for (const p of st.precheck ?? []) if (p.status === 'warn') task.ignoreAlert(p.id);
}

/** Pauses the task (pipeline ends, position checkpointed), runs `write`, resumes; returns first ack → `n`-th ack events/s. */
async function drainBacklog(task: TaskRunner, n: number, write: () => Promise<void>, label: string, log: (line: string) => void): Promise<{ rate: number; wall: number; perCpuSecond: number; usPerEvent: number }> {
  task.pause();
  await until(() => (check(task), task.status.state === 'paused'), 60_000, 'task paused');
  await write();
  const base = task.status.counters.events - task.status.counters.snapshotRows;
  const t0 = performance.now();
  // BENCH_PROFILE=<dir>: main-thread CPU profile of the drain.
  const profiler = process.env.BENCH_PROFILE ? await startProfile(`mongo-${label}`) : null;
  task.resume();
  const { rate, doneAt, cpu, events } = await drainRate(
    () => task.status.counters.events - task.status.counters.snapshotRows - base,
    n,
    `${n} incremental events acked`,
    () => check(task),
  );
  if (profiler) log(`CPU profile (${label}): ${await profiler.stop(process.env.BENCH_PROFILE as string)}`);
  return { rate, wall: n / ((doneAt - t0) / 1000), ...perCpu(events, cpu) };
}

/** Up to `count` messages of `topic` from the beginning (key and value), for the raw-produce baseline. */
async function readSample(topic: string, count: number, timeoutMs: number): Promise<Message[]> {
  const consumer = kafka('bench-mongo-reader').consumer({ groupId: uniqueName('bench'), maxBytes: 64 * MB });
  const out: Message[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => (out.length > 0 ? resolve() : reject(new Error(`no messages read from ${topic}`))), timeoutMs);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) if (out.length < count && m.value) out.push({ key: m.key, value: m.value });
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

interface KafkaRun {
  method: Method;
  full: number;
  fullWall: number;
  inc: number;
  incWall: number;
  incPerCpu: number;
  incUs: number;
  fullPerCpu: number;
  oplogRead: { rate: number; perCpuSecond: number; read: number };
  /** The change-stream method's own baseline: the raw driver's change stream of the same backlog. */
  streamRead?: { rate: number; perCpuSecond: number; read: number };
  peakMB: number;
  insertRates: number[];
  bytesPerMessage: number;
}

async function mongoToKafka(ctx: ScenarioContext, src: MongoClient, method: Method, n: number, dir: string, dbs: string[], topics: string[]): Promise<KafkaRun> {
  const database = uniqueName(`bmk_${method === 'oplog' ? 'op' : 'cs'}`);
  dbs.push(database);
  const topic = uniqueName('bench_mongo');
  topics.push(topic);
  await createTopic(topic, PARTITIONS);
  const insert1 = await insertItems(src, database, 'items', 0, n);
  ctx.log(`[${method}] baseline insertMany into 27117: ${round(insert1, 0)} docs/s (${n} docs)`);
  const runtime = createRuntime({ confirmIntervalMs: 1000 });
  try {
    const task = runtime.add({
      name: database.replace(/_/g, '-'),
      source: method === 'changeStreams' ? { type: 'mongodb', uri: SRC_URI, method, fullDocument: 'updateLookup' } : { type: 'mongodb', uri: SRC_URI, method },
      destination: { kafka: { brokers: ['127.0.0.1:19092'], topic, format: 'canal-json', compression: 'lz4', acks: 'all', partitionPolicy: 'keyHash' } },
      objects: [{ database, collection: 'items' }],
      checkpoints: { store: 'file', dir },
    });
    const rss = rssSampler(100);
    const t0 = performance.now();
    task.start();
    const { rate: full, doneAt: done, cpu: fullCpu, events: fullEvents } = await drainRate(() => task.status.counters.snapshotRows, n, `${n} rows copied`, () => check(task));
    const fullWall = n / ((done - t0) / 1000);
    ctx.log(`[${method}] full sync: ${round(full, 0)} rows/s (first ack → last), ${round(fullWall, 0)} rows/s from start()`);
    await until(() => (check(task), task.status.state === 'incremental'), 120_000, 'incremental state');
    let insert2 = 0;
    let after = new Timestamp({ t: 0, i: 0 });
    const inc = await drainBacklog(task, n, async () => {
      after = await lastOplogTs(src);
      insert2 = await insertItems(src, database, 'items', n, n);
      ctx.log(`[${method}] backlog: ${n} docs inserted while paused, ${round(insert2, 0)} docs/s`);
    }, `kafka-${method}`, ctx.log);
    const peak = rss.stop();
    const c = task.status.counters;
    ctx.log(`[${method}] incremental: ${round(inc.rate, 0)} events/s (first ack → N-th), ${round(inc.wall, 0)} events/s from resume(); peak RSS ${round(peak / MB, 0)} MB`);
    await task.stop();
    const oplogRead = await readOplog(src, `${database}.items`, after, n);
    ctx.log(`[${method}] baseline: the server's own oplog read of the backlog: ${round(oplogRead.rate, 0)} entries/s (${oplogRead.read} read), ${round(oplogRead.perCpuSecond, 0)} per CPU-s; Tributary ${round(inc.perCpuSecond, 0)} events/CPU-s`);
    const streamRead = method === 'changeStreams' ? await readChangeStream(src, database, after, n) : undefined;
    if (streamRead) ctx.log(`[${method}] baseline: the server's own change stream of the backlog: ${round(streamRead.rate, 0)} events/s (${streamRead.read} read), ${round(streamRead.perCpuSecond, 0)} per CPU-s`);
    return { method, full, fullWall, inc: inc.rate, incWall: inc.wall, incPerCpu: inc.perCpuSecond, incUs: inc.usPerEvent, fullPerCpu: fullEvents / fullCpu, oplogRead, ...(streamRead ? { streamRead } : {}), peakMB: peak / MB, insertRates: [insert1, insert2], bytesPerMessage: c.bytes / Math.max(1, c.events) };
  } finally {
    await runtime.shutdown().catch(() => undefined);
  }
}

async function mongoToMongo(ctx: ScenarioContext, src: MongoClient, dst: MongoClient, method: Method, n: number, dir: string, dbs: string[]): Promise<{ rate: number; wall: number; perCpuSecond: number; usPerEvent: number; peakMB: number; dstCount: number; insertRate: number; opsPerBulk: number }> {
  const database = uniqueName('bmm');
  dbs.push(database);
  // One document, copied by the full sync, so the task passes through full → incremental like the Kafka runs.
  await src.db(database).collection<Item>('items').insertOne(item(-1));
  const runtime = createRuntime({ confirmIntervalMs: 1000 });
  try {
    const task = runtime.add({
      name: database.replace(/_/g, '-'),
      source: method === 'changeStreams' ? { type: 'mongodb', uri: SRC_URI, method, fullDocument: 'updateLookup' } : { type: 'mongodb', uri: SRC_URI, method },
      destination: { mongodb: { uri: DST_URI } },
      objects: [{ database, collection: 'items' }],
      checkpoints: { store: 'file', dir },
    });
    const rss = rssSampler(100);
    task.start();
    await until(() => (check(task), task.status.state === 'incremental'), 120_000, 'incremental state');
    let insertRate = 0;
    const sink = task.sink as MongoSink;
    let bulk0 = 0;
    const r = await drainBacklog(task, n, async () => {
      bulk0 = sink.counters.bulkWrites;
      insertRate = await insertItems(src, database, 'items', 0, n);
      ctx.log(`[mongo → mongo] backlog: ${n} docs inserted while paused, ${round(insertRate, 0)} docs/s`);
    }, `mongo-${method}`, ctx.log);
    const peak = rss.stop();
    const opsPerBulk = n / Math.max(1, sink.counters.bulkWrites - bulk0);
    const dstCount = await dst.db(database).collection('items').countDocuments();
    ctx.log(`[mongo → mongo, ${method}] replay: ${round(r.rate, 0)} ops/s (first ack → N-th), ${round(r.wall, 0)} ops/s from resume(); ${dstCount} docs at 27118; ${round(r.perCpuSecond, 0)} ops/CPU-s; ${round(opsPerBulk, 0)} ops per bulkWrite`);
    await task.stop();
    return { ...r, peakMB: peak / MB, dstCount, insertRate, opsPerBulk };
  } finally {
    await runtime.shutdown().catch(() => undefined);
  }
}

export async function mongo(ctx: ScenarioContext): Promise<void> {
  const n = ctx.quick ? 20_000 : 100_000;
  const methods: Method[] = (process.env.BENCH_MONGO_METHODS?.split(',') as Method[] | undefined) ?? ['changeStreams', 'oplog'];
  const src = await MongoClient.connect(SRC_URI, { serverSelectionTimeoutMS: 5000 });
  const dst = await MongoClient.connect(DST_URI, { serverSelectionTimeoutMS: 5000 });
  const dir = await mkdtemp(join(tmpdir(), 'trib-bench-mongo-'));
  const dbs: string[] = [];
  const topics: string[] = [];
  try {
    const runs: KafkaRun[] = [];
    for (const m of methods) runs.push(await mongoToKafka(ctx, src, m, n, dir, dbs, topics));
    const best = runs.reduce((a, b) => (b.inc > a.inc ? b : a));
    // Before/after in the same run: the sink's earlier grouping (always `parallelism` lanes, every
    // lane ordered) first, then the current defaults (the substitute's oplog grows, so the later
    // run reads a longer oplog: any bias is against the current settings).
    const tuned = { ...mongoReplayTuning };
    Object.assign(mongoReplayTuning, { minOpsPerLane: 1, unorderedLanes: false });
    const mmBefore = await mongoToMongo(ctx, src, dst, best.method, n, dir, dbs);
    Object.assign(mongoReplayTuning, tuned);
    const mm = await mongoToMongo(ctx, src, dst, best.method, n, dir, dbs);
    // A variant not made the default (the sink's tests pin `parallelism` lanes per batch): fewer,
    // fuller bulk writes, one lane per 250 writes at most.
    Object.assign(mongoReplayTuning, { minOpsPerLane: 250 });
    const mmFewer = await mongoToMongo(ctx, src, dst, best.method, n, dir, dbs);
    Object.assign(mongoReplayTuning, tuned);

    // Baselines, same run, same servers.
    const rawDb = uniqueName('bmm_raw');
    dbs.push(rawDb);
    const upsert = await upsertItems(dst, rawDb, n);
    ctx.log(`baseline bulkWrite replaceOne-upsert into 27118, ${BATCH}/batch: ${round(upsert.rate, 0)} ops/s`);
    // The same batch size as the sink's bulk writes in the replay (its mean ops per bulkWrite).
    const sameBatch = Math.max(1, Math.round(mm.opsPerBulk));
    const rawDb2 = uniqueName('bmm_raw');
    dbs.push(rawDb2);
    const upsertSame = await upsertItems(dst, rawDb2, n, sameBatch);
    ctx.log(`baseline bulkWrite replaceOne-upsert into 27118, ${sameBatch}/batch (the sink's mean): ${round(upsertSame.rate, 0)} ops/s`);
    const sample = await readSample(topics[0] as string, 5000, 60_000);
    const rawTopic = uniqueName('bench_mongo_raw');
    topics.push(rawTopic);
    await createTopic(rawTopic, PARTITIONS);
    const raw = await rawProduce(rawTopic, sample, n, CompressionTypes.LZ4, { stock: true });
    ctx.log(`baseline raw kafkajs LZ4 acks=all: ${round(raw.rate, 0)} msgs/s`);
    const inserts = runs.flatMap((r) => r.insertRates).concat(mm.insertRate);
    const insertRate = inserts.reduce((a, b) => a + b, 0) / inserts.length;

    ctx.row({ metric: 'documents (≈200 B each)', value: n, unit: 'docs', note: `servers: ${SUBSTITUTE.replace('; its own rate caps this', '')} 127.0.0.1:27117 (rs0) → 27118` });
    for (const r of runs) {
      const tag = r.method === best.method && runs.length > 1 ? ' (better)' : '';
      const oplogRatio = r.inc / r.oplogRead.rate;
      ctx.row({ metric: `mongo → kafka full sync, ${r.method}`, value: round(r.full, 0), unit: 'rows/s', note: `incl. start/precheck: ${round(r.fullWall, 0)}/s; ${round(r.fullPerCpu, 0)} rows/CPU-s; ${SUBSTITUTE}` });
      ctx.row({ metric: `mongo → kafka incremental events per CPU-second, ${r.method}`, value: round(r.incPerCpu, 0), unit: 'events/CPU-s', baseline: { name: "server's own oplog read (raw driver)", value: round(r.oplogRead.perCpuSecond, 0) }, note: `${round(r.incUs, 2)} µs CPU/event, whole process over the drain` });
      ctx.row({ metric: `mongo → kafka incremental, ${r.method}${tag}`, value: round(r.inc, 0), unit: 'events/s', target: '≥50,000', meets: r.inc >= 50_000, baseline: { name: "server's own oplog read (raw driver)", value: round(r.oplogRead.rate, 0) }, note: `backlog of ${n} inserts written while paused; from resume(): ${round(r.incWall, 0)}/s; ${SUBSTITUTE}` });
      ctx.row({ metric: `  ratio to the server's oplog read, ${r.method}`, value: round(oplogRatio, 2), unit: '×', target: '≥0.90', meets: oplogRatio >= 0.9, note: `incremental events/s ÷ raw find on local.oplog.rs of the same ${r.oplogRead.read} entries (${round(r.oplogRead.rate, 0)}/s)` });
      if (r.streamRead) {
        const streamRatio = r.inc / r.streamRead.rate;
        ctx.row({ metric: `  ratio to the server's change stream, ${r.method}`, value: round(streamRatio, 2), unit: '×', note: `incremental events/s ÷ raw driver change stream of the same backlog (${r.streamRead.read} events, ${round(r.streamRead.rate, 0)}/s, ${round(r.streamRead.perCpuSecond, 0)}/CPU-s): what the server delivers by this method` });
      }
      ctx.row({ metric: `  ratio to source insertMany, ${r.method}`, value: round(r.inc / insertRate, 2), unit: '×', note: 'incremental events/s ÷ raw insertMany docs/s into 27117' });
      ctx.row({ metric: `  ratio to raw kafkajs, ${r.method}`, value: round(r.inc / raw.rate, 2), unit: '×', note: `${round(r.bytesPerMessage, 0)} B/message Canal JSON` });
      ctx.row({ metric: `  peak RSS, ${r.method}`, value: round(r.peakMB, 0), unit: 'MB', target: '≤300', meets: r.peakMB <= 300, note: 'bench process (runs the pipeline)' });
    }
    const sameRatio = mm.rate / upsertSame.rate;
    ctx.row({ metric: `mongo → mongo replay events per CPU-second, ${best.method}`, value: round(mm.perCpuSecond, 0), unit: 'ops/CPU-s', baseline: { name: `raw bulkWrite upsert, ${sameBatch}/batch`, value: round(upsertSame.perCpuSecond, 0) }, note: `${round(mm.usPerEvent, 2)} µs CPU/op, whole process over the drain` });
    ctx.row({ metric: `mongo → mongo replay, ${best.method}`, value: round(mm.rate, 0), unit: 'ops/s', target: '≥80,000', meets: mm.rate >= 80_000, baseline: { name: `raw bulkWrite upsert into 27118, ${sameBatch}/batch`, value: round(upsertSame.rate, 0) }, note: `${n} inserts replayed 27117 → 27118 (${mm.dstCount} docs there); ${round(mm.opsPerBulk, 0)} ops per bulkWrite; from resume(): ${round(mm.wall, 0)}/s; ${SUBSTITUTE}` });
    ctx.row({ metric: '  before: every lane ordered (the earlier sink)', value: round(mmBefore.rate, 0), unit: 'ops/s', note: `${round(mmBefore.perCpuSecond, 0)} ops/CPU-s, ${round(mmBefore.opsPerBulk, 0)} ops per bulkWrite; now ${round(((mm.rate / mmBefore.rate) - 1) * 100, 1)} % ops/s, ${round(((mm.perCpuSecond / mmBefore.perCpuSecond) - 1) * 100, 1)} % ops/CPU-s (unordered lanes of distinct _ids)` });
    ctx.row({ metric: `  variant: one lane per 250 writes at most (not the default)`, value: round(mmFewer.rate, 0), unit: 'ops/s', note: `${round(mmFewer.perCpuSecond, 0)} ops/CPU-s, ${round(mmFewer.opsPerBulk, 0)} ops per bulkWrite; vs current ${round(((mmFewer.rate / mm.rate) - 1) * 100, 1)} % ops/s, ${round(((mmFewer.perCpuSecond / mm.perCpuSecond) - 1) * 100, 1)} % ops/CPU-s` });
    ctx.row({ metric: '  ratio to dest bulkWrite upsert, same batch size', value: round(sameRatio, 2), unit: '×', target: '≥0.90', meets: sameRatio >= 0.9, note: `replay ops/s ÷ raw replaceOne-upsert ops/s into 27118 at the sink's mean batch (${sameBatch}), one in flight` });
    ctx.row({ metric: `  ratio to dest bulkWrite upsert, ${BATCH}/batch`, value: round(mm.rate / upsert.rate, 2), unit: '×', note: 'the earlier rounds\' baseline' });
    ctx.row({ metric: '  peak RSS, mongo → mongo', value: round(mm.peakMB, 0), unit: 'MB', target: '≤300', meets: mm.peakMB <= 300 });
    ctx.row({ metric: 'baseline raw insertMany into 27117', value: round(insertRate, 0), unit: 'docs/s', note: `mean of ${inserts.length} runs (${inserts.map((r) => round(r, 0)).join(', ')}), ${BATCH}/batch` });
    ctx.row({ metric: 'baseline raw bulkWrite upsert into 27118', value: round(upsert.rate, 0), unit: 'ops/s', note: `replaceOne upsert, ${BATCH}/batch, unordered` });
    ctx.row({ metric: `baseline raw bulkWrite upsert into 27118, ${sameBatch}/batch`, value: round(upsertSame.rate, 0), unit: 'ops/s', note: `replaceOne upsert, the sink's mean batch, unordered, one in flight; ${round(upsertSame.perCpuSecond, 0)} ops/CPU-s` });
    ctx.row({ metric: 'baseline raw kafkajs produce', value: round(raw.rate, 0), unit: 'msgs/s', note: `same Canal JSON messages, LZ4, acks all, 5,000/batch, ${round(raw.mbps, 1)} MB/s` });
    ctx.shared.set('mongo', { runs, mm, mmBefore, mmFewer, insertRate, upsert: upsert.rate, upsertSame: upsertSame.rate, raw: raw.rate });
  } finally {
    for (const d of dbs) {
      await src.db(d).dropDatabase().catch(() => undefined);
      await dst.db(d).dropDatabase().catch(() => undefined);
    }
    await src.close().catch(() => undefined);
    await dst.close().catch(() => undefined);
    if (topics.length > 0) await deleteTopics(...topics);
    await rm(dir, { recursive: true, force: true });
  }
}
