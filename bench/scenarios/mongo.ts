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
import { MongoClient, type AnyBulkWriteOperation } from 'mongodb';
import { createRuntime, type TaskRunner } from '../../src/index.js';
import { drainRate, failIfTaskFailed, MB, createTopic, deleteTopics, kafka, round, rssSampler, uniqueName, until, type ScenarioContext } from '../lib.js';
import { rawProduce } from './pgIncremental.js';

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

/** Raw driver bulkWrite of replaceOne-upserts of ids [0, n) in batches of BATCH; returns ops/s. */
async function upsertItems(client: MongoClient, database: string, n: number): Promise<number> {
  const coll = client.db(database).collection<Item>('items');
  const t0 = performance.now();
  for (let s = 0; s < n; s += BATCH) {
    const size = Math.min(BATCH, n - s);
    const ops: AnyBulkWriteOperation<Item>[] = Array.from({ length: size }, (_, i) => {
      const d = item(s + i);
      return { replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true } };
    });
    await coll.bulkWrite(ops, { ordered: false });
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Fails on failed states; ignores precheck warnings (the substitute's oplog window) as a user would. */
function check(task: TaskRunner): void {
  failIfTaskFailed(task);
  const st = task.status;
  if (st.state === 'awaitingAlertIgnore') for (const p of st.precheck ?? []) if (p.status === 'warn') task.ignoreAlert(p.id);
}

/** Pauses the task (pipeline ends, position checkpointed), runs `write`, resumes; returns first ack → `n`-th ack events/s. */
async function drainBacklog(task: TaskRunner, n: number, write: () => Promise<void>): Promise<{ rate: number; wall: number }> {
  task.pause();
  await until(() => (check(task), task.status.state === 'paused'), 60_000, 'task paused');
  await write();
  const base = task.status.counters.events - task.status.counters.snapshotRows;
  const t0 = performance.now();
  task.resume();
  const { rate, doneAt } = await drainRate(
    () => task.status.counters.events - task.status.counters.snapshotRows - base,
    n,
    `${n} incremental events acked`,
    () => check(task),
  );
  return { rate, wall: n / ((doneAt - t0) / 1000) };
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
    const { rate: full, doneAt: done } = await drainRate(() => task.status.counters.snapshotRows, n, `${n} rows copied`, () => check(task));
    const fullWall = n / ((done - t0) / 1000);
    ctx.log(`[${method}] full sync: ${round(full, 0)} rows/s (first ack → last), ${round(fullWall, 0)} rows/s from start()`);
    await until(() => (check(task), task.status.state === 'incremental'), 120_000, 'incremental state');
    let insert2 = 0;
    const inc = await drainBacklog(task, n, async () => {
      insert2 = await insertItems(src, database, 'items', n, n);
      ctx.log(`[${method}] backlog: ${n} docs inserted while paused, ${round(insert2, 0)} docs/s`);
    });
    const peak = rss.stop();
    const c = task.status.counters;
    ctx.log(`[${method}] incremental: ${round(inc.rate, 0)} events/s (first ack → N-th), ${round(inc.wall, 0)} events/s from resume(); peak RSS ${round(peak / MB, 0)} MB`);
    await task.stop();
    return { method, full, fullWall, inc: inc.rate, incWall: inc.wall, peakMB: peak / MB, insertRates: [insert1, insert2], bytesPerMessage: c.bytes / Math.max(1, c.events) };
  } finally {
    await runtime.shutdown().catch(() => undefined);
  }
}

async function mongoToMongo(ctx: ScenarioContext, src: MongoClient, dst: MongoClient, method: Method, n: number, dir: string, dbs: string[]): Promise<{ rate: number; wall: number; peakMB: number; dstCount: number; insertRate: number }> {
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
    const r = await drainBacklog(task, n, async () => {
      insertRate = await insertItems(src, database, 'items', 0, n);
      ctx.log(`[mongo → mongo] backlog: ${n} docs inserted while paused, ${round(insertRate, 0)} docs/s`);
    });
    const peak = rss.stop();
    const dstCount = await dst.db(database).collection('items').countDocuments();
    ctx.log(`[mongo → mongo, ${method}] replay: ${round(r.rate, 0)} ops/s (first ack → N-th), ${round(r.wall, 0)} ops/s from resume(); ${dstCount} docs at 27118`);
    await task.stop();
    return { ...r, peakMB: peak / MB, dstCount, insertRate };
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
    const mm = await mongoToMongo(ctx, src, dst, best.method, n, dir, dbs);

    // Baselines, same run, same servers.
    const rawDb = uniqueName('bmm_raw');
    dbs.push(rawDb);
    const upsert = await upsertItems(dst, rawDb, n);
    ctx.log(`baseline bulkWrite replaceOne-upsert into 27118: ${round(upsert, 0)} ops/s`);
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
      ctx.row({ metric: `mongo → kafka full sync, ${r.method}`, value: round(r.full, 0), unit: 'rows/s', note: `incl. start/precheck: ${round(r.fullWall, 0)}/s; ${SUBSTITUTE}` });
      ctx.row({ metric: `mongo → kafka incremental, ${r.method}${tag}`, value: round(r.inc, 0), unit: 'events/s', target: '≥50,000', meets: r.inc >= 50_000, baseline: { name: 'raw stock kafkajs produce', value: round(raw.rate, 0) }, note: `backlog of ${n} inserts written while paused; from resume(): ${round(r.incWall, 0)}/s; ${SUBSTITUTE}` });
      ctx.row({ metric: `  ratio to source insertMany, ${r.method}`, value: round(r.inc / insertRate, 2), unit: '×', note: 'incremental events/s ÷ raw insertMany docs/s into 27117' });
      ctx.row({ metric: `  ratio to raw kafkajs, ${r.method}`, value: round(r.inc / raw.rate, 2), unit: '×', note: `${round(r.bytesPerMessage, 0)} B/message Canal JSON` });
      ctx.row({ metric: `  peak RSS, ${r.method}`, value: round(r.peakMB, 0), unit: 'MB', target: '≤300', meets: r.peakMB <= 300, note: 'bench process (runs the pipeline)' });
    }
    ctx.row({ metric: `mongo → mongo replay, ${best.method}`, value: round(mm.rate, 0), unit: 'ops/s', target: '≥80,000', meets: mm.rate >= 80_000, baseline: { name: 'raw bulkWrite upsert into 27118', value: round(upsert, 0) }, note: `${n} inserts replayed 27117 → 27118 (${mm.dstCount} docs there); from resume(): ${round(mm.wall, 0)}/s; ${SUBSTITUTE}` });
    ctx.row({ metric: '  ratio to dest bulkWrite upsert', value: round(mm.rate / upsert, 2), unit: '×', note: 'replay ops/s ÷ raw replaceOne-upsert ops/s into 27118' });
    ctx.row({ metric: '  peak RSS, mongo → mongo', value: round(mm.peakMB, 0), unit: 'MB', target: '≤300', meets: mm.peakMB <= 300 });
    ctx.row({ metric: 'baseline raw insertMany into 27117', value: round(insertRate, 0), unit: 'docs/s', note: `mean of ${inserts.length} runs (${inserts.map((r) => round(r, 0)).join(', ')}), ${BATCH}/batch` });
    ctx.row({ metric: 'baseline raw bulkWrite upsert into 27118', value: round(upsert, 0), unit: 'ops/s', note: `replaceOne upsert, ${BATCH}/batch, unordered` });
    ctx.row({ metric: 'baseline raw kafkajs produce', value: round(raw.rate, 0), unit: 'msgs/s', note: `same Canal JSON messages, LZ4, acks all, 5,000/batch, ${round(raw.mbps, 1)} MB/s` });
    ctx.shared.set('mongo', { runs, mm, insertRate, upsert, raw: raw.rate });
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
