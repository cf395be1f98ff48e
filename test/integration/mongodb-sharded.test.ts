/**
 * A sharded cluster read by oplog per shard (issue 18), on a topology built from substitutes
 * (`bash scripts/mongo.sh sharded-up`, see docs/mongo-servers.md): two mongo-java-servers that
 * answer as the replica sets `shardA` (27131) and `shardB` (27132), each with its own
 * `local.oplog.rs`, and a third that answers hello as mongos (27130). Nothing routes between
 * them: the test writes each document to its shard (even `_id` on shardA, odd on shardB) and the
 * same write to the "mongos", which so holds the union, as a real mongos would show it. The full
 * sync reads through the "mongos"; the incremental sync reads the two shards' oplogs and merges them.
 * Migration traffic and sharding commands are written straight into a shard's oplog, in the shapes
 * MongoDB logs them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient, Timestamp, type Document } from 'mongodb';
import type { Position } from '../../src/core/position.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoSource } from '../../src/sources/mongodb/source.js';
import { servers } from './servers.js';
import { createTopic, deleteTopics, kafkaClient, uniqueName } from './support.js';
import { TaskProcess } from './taskProcess.js';

const PORT = Number(process.env.TRIBUTARY_MONGO_SHARDED_PORT ?? 27130);
const MONGOS = `mongodb://127.0.0.1:${PORT}`;
const SHARD_A = `127.0.0.1:${PORT + 1}`;
const SHARD_B = `127.0.0.1:${PORT + 2}`;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const env = { TRIBUTARY_IGNORE_WARNINGS: '1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Doc = { _id: number | string } & Document;

/** The "mongos" and the two shards, with writes that go to the owning shard and to the union. */
class Cluster {
  constructor(
    readonly mongos: MongoClient,
    readonly a: MongoClient,
    readonly b: MongoClient,
    readonly db: string,
  ) {}

  static async connect(db: string): Promise<Cluster> {
    const opts = { serverSelectionTimeoutMS: 5000 };
    return new Cluster(await MongoClient.connect(MONGOS, opts), await MongoClient.connect(`mongodb://${SHARD_A}/?replicaSet=shardA`, opts), await MongoClient.connect(`mongodb://${SHARD_B}/?replicaSet=shardB`, opts), db);
  }

  shardOf(id: number): MongoClient {
    return id % 2 === 0 ? this.a : this.b;
  }

  private both(id: number) {
    return [this.shardOf(id), this.mongos].map((c) => c.db(this.db).collection<Doc>('items'));
  }

  async insert(docs: Doc[]): Promise<void> {
    for (const shard of [this.a, this.b]) {
      const mine = docs.filter((d) => this.shardOf(d._id as number) === shard);
      if (mine.length > 0) await shard.db(this.db).collection<Doc>('items').insertMany(mine.map((d) => ({ ...d })));
    }
    await this.mongos.db(this.db).collection<Doc>('items').insertMany(docs.map((d) => ({ ...d })));
  }

  async set(id: number, fields: Document): Promise<void> {
    for (const c of this.both(id)) await c.updateOne({ _id: id }, { $set: fields });
  }

  async unset(id: number, field: string): Promise<void> {
    for (const c of this.both(id)) await c.updateOne({ _id: id }, { $unset: { [field]: '' } });
  }

  async replace(id: number, doc: Document): Promise<void> {
    for (const c of this.both(id)) await c.replaceOne({ _id: id }, doc);
  }

  async remove(id: number): Promise<void> {
    for (const c of this.both(id)) await c.deleteOne({ _id: id });
  }

  /**
   * Writes an entry into a shard's oplog as MongoDB would log it, at a `ts` after everything there,
   * then waits past that second: the substitute stamps entries with the wall-clock second, so a
   * later write of the same second would sort before the injected entry.
   */
  async injectOplog(shard: MongoClient, entry: Document): Promise<void> {
    const oplog = shard.db('local').collection('oplog.rs');
    const last = await oplog.findOne({}, { sort: { $natural: -1 } });
    const t = Math.max(Math.floor(Date.now() / 1000), ((last?.ts as Timestamp | undefined)?.high ?? 0) >>> 0);
    await oplog.insertOne({ ts: new Timestamp({ t, i: 0x7ffffff0 }), t: 1, h: 0, v: 2, wall: new Date(), ...entry });
    await sleep(Math.max(0, (t + 1) * 1000 - Date.now()) + 50);
  }

  /** The source as a reader sees it through mongos, as JSON (the test's values are strings, int32 numbers and arrays). */
  async truth(): Promise<Map<string, unknown>> {
    const docs = await this.mongos.db(this.db).collection('items').find({}).toArray();
    return new Map(docs.map((d) => [JSON.stringify(d._id), JSON.parse(JSON.stringify(d)) as unknown]));
  }

  async close(): Promise<void> {
    await this.mongos.db(this.db).dropDatabase().catch(() => undefined);
    await this.a.db(this.db).dropDatabase().catch(() => undefined);
    await this.b.db(this.db).dropDatabase().catch(() => undefined);
    for (const c of [this.mongos, this.a, this.b]) await c.close();
  }
}

interface CanalMessage {
  type: string;
  database: string;
  table: string;
  data: Array<Record<string, unknown>> | null;
}

/** JSON with object keys sorted, to compare documents whatever order their fields were set in. */
function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Applies an insert, a replacement or a delete (Canal JSON) to the rebuilt collection. */
function apply(rows: Map<string, Record<string, unknown>>, m: CanalMessage): void {
  for (const d of m.data ?? []) {
    const id = JSON.stringify(d._id);
    if (m.type === 'DELETE') rows.delete(id);
    else rows.set(id, d);
  }
}

/** The last image per `_id` of a topic, rebuilt partition by partition (keyHash keeps each `_id` on one). */
async function rebuild(topic: string, timeoutMs: number, until: (rows: Map<string, Record<string, unknown>>) => boolean) {
  const consumer = kafkaClient().consumer({ groupId: uniqueName('g') });
  const messages = new Map<number, Array<{ m: CanalMessage; key: string | null }>>();
  const build = () => {
    const rows = new Map<string, Record<string, unknown>>();
    for (const list of messages.values()) {
      for (const { m, key } of list) {
        if (m.type === 'UPDATE' && m.data?.[0] && (m.data[0].$set !== undefined || m.data[0].$unset !== undefined)) {
          const old = (m as unknown as { old: Array<{ _id: unknown }> | null }).old?.[0];
          const id = JSON.stringify(old?._id ?? (key !== null ? JSON.parse(key) : null));
          const row = { ...(rows.get(id) ?? {}) };
          Object.assign(row, (m.data[0].$set ?? {}) as Record<string, unknown>);
          for (const f of Object.keys((m.data[0].$unset ?? {}) as Record<string, unknown>)) delete row[f];
          rows.set(id, row);
        } else {
          apply(rows, m);
        }
      }
    }
    return rows;
  };
  await consumer.connect();
  const all: CanalMessage[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const m = JSON.parse(message.value?.toString() ?? 'null') as CanalMessage;
        all.push(m);
        const list = messages.get(partition) ?? [];
        list.push({ m, key: message.key?.toString() ?? null });
        messages.set(partition, list);
      },
    });
    const end = Date.now() + timeoutMs;
    while (!until(build()) && Date.now() < end) await sleep(250);
  } finally {
    await consumer.disconnect();
  }
  return { rows: build(), all };
}

async function readCheckpoint(file: string): Promise<{ position?: string; streamFrom?: string }> {
  return JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as { position?: string; streamFrom?: string };
}

/** Polls the child's status lines until one is in `state`. */
async function waitForLine(child: TaskProcess, state: string, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const l = child.lines.find((x) => x.state === state);
    if (l) return l;
    if (Date.now() > end) throw new Error(`no ${state}; states ${child.lines.map((x) => x.state).join(',')}; stderr ${child.stderr.slice(-2000)}`);
    await sleep(100);
  }
}

/** Resolves once the task recorded where its stream starts (so entries written from now on are read). */
async function streamStarted(file: string): Promise<void> {
  const end = Date.now() + 30_000;
  while ((await readCheckpoint(file)).streamFrom === undefined) {
    if (Date.now() > end) throw new Error(`no streamFrom in ${file}`);
    await sleep(100);
  }
}

/** The shard component of a checkpoint's composite position. */
const shardPosition = (checkpoint: { position?: string }, shard: string): string | undefined =>
  checkpoint.position?.startsWith('{') ? (JSON.parse(checkpoint.position) as { shards?: Record<string, string> }).shards?.[shard] : undefined;

/** Waits until the checkpoint holds the newest `op` entry of `ns` on `shard` (the reader runs and got there); returns its `t:i`. */
async function checkpointReaches(file: string, shard: MongoClient, shardName: string, ns: string, op: string): Promise<{ at: string; entry: Document }> {
  const entry = await shard.db('local').collection('oplog.rs').findOne({ ns, op }, { sort: { $natural: -1 } });
  if (!entry) throw new Error(`no ${op} entry of ${ns} on ${shardName}`);
  const ts = entry.ts as Timestamp;
  const at = `${ts.high >>> 0}:${ts.low >>> 0}`;
  const end = Date.now() + 30_000;
  while (shardPosition(await readCheckpoint(file), shardName) !== at) {
    if (Date.now() > end) throw new Error(`checkpoint never reached ${at}: ${JSON.stringify(await readCheckpoint(file))}`);
    await sleep(100);
  }
  return { at, entry };
}

describe('MongoDB sharded cluster by oplog per shard (two substitute shards)', () => {
  let dir: string;
  const children: TaskProcess[] = [];
  const clusters: Cluster[] = [];
  const topics: string[] = [];

  beforeAll(async () => {
    execFileSync('bash', [join(ROOT, 'scripts/mongo.sh'), 'sharded-up'], { stdio: 'ignore' });
    dir = await mkdtemp(join(tmpdir(), 'trib-msharded-'));
  }, 120_000);

  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    for (const c of clusters) await c.close();
    if (topics.length > 0) await deleteTopics(...topics).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const setUp = async (prefix: string) => {
    const db = uniqueName(prefix);
    const cluster = await Cluster.connect(db);
    clusters.push(cluster);
    const topic = uniqueName(prefix);
    topics.push(topic);
    await createTopic(topic, 3);
    const name = db.replace(/_/g, '-');
    const config = (extra: Document = {}) => ({
      name,
      source: { type: 'mongodb', uri: MONGOS, architecture: 'shardedCluster', method: 'oplog', shard: { endpoints: [SHARD_A, SHARD_B] } },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, partitionPolicy: 'keyHash' } },
      objects: [{ database: db, collection: 'items' }],
      checkpoints: { store: 'file', dir },
      fullSync: { parallelism: 1, chunkRows: 500 },
      ...extra,
    });
    return { db, cluster, topic, name, config, file: join(dir, `${encodeURIComponent(name)}.json`) };
  };

  it('two shards by oplog into Kafka: every document equals the source after a SIGKILL, migration entries skipped', async () => {
    const { cluster, topic, config, file } = await setUp('msharded');
    const doc = (i: number): Doc => ({ _id: i, v: `doc ${i}`, n: i * 7, nested: { shard: i % 2 === 0 ? 'A' : 'B', list: [i, `x${i}`] } });
    await cluster.insert(Array.from({ length: 2000 }, (_, i) => doc(i)));

    // The copy runs slowly (throttled) so that writes on both shards land during it.
    const first = new TaskProcess(config({ throttle: { full: { rps: 1000 } } }), env);
    children.push(first);
    await first.waitForState('full', 60_000);
    for (let i = 0; i < 60; i++) {
      await cluster.set(i * 3, { v: `during copy ${i}` });
      if (i % 5 === 0) await cluster.remove(1001 + i * 2);
    }
    await cluster.insert(Array.from({ length: 40 }, (_, i) => doc(5000 + i)));
    await first.waitForState('incremental', 120_000);

    // Migration traffic: shardA's copy of a chunk it receives (an insert of a document the cluster
    // does not show) and shardB's cleanup of a chunk it gave away (a delete of a live document).
    // Both are `fromMigrate`: neither may reach Kafka.
    const ns = `${cluster.db}.items`;
    await cluster.injectOplog(cluster.a, { op: 'i', ns, o: { _id: 'migrated-in', ghost: true }, fromMigrate: true });
    await cluster.injectOplog(cluster.b, { op: 'd', ns, o: { _id: 7 }, fromMigrate: true });

    // Writes keep going on both shards (shardA three times as busy) while the runtime is killed.
    let stop = false;
    let k = 0;
    const writer = (async () => {
      while (!stop) {
        const id = 6000 + k;
        await cluster.insert([doc(id)]);
        await cluster.set((k * 2) % 1000, { v: `incremental ${k}`, n: k });
        if (k % 3 === 0) await cluster.set(((k * 2) % 1000) + 1, { v: `odd ${k}` });
        if (k % 4 === 0) await cluster.unset((k * 2) % 1000, 'nested');
        if (k % 7 === 0) await cluster.replace(100 + (k % 50), { v: `replaced ${k}`, tags: ['r', k] });
        if (k % 5 === 0) await cluster.remove(1500 + k);
        k++;
      }
    })();
    let checkpoint = await readCheckpoint(file);
    const moved = () => {
      const shards = (checkpoint.position?.startsWith('{') ? (JSON.parse(checkpoint.position) as { shards?: Record<string, string> }).shards : undefined) ?? {};
      return Object.keys(shards).length === 2 && k > 30;
    };
    const end = Date.now() + 60_000;
    while (!moved()) {
      if (Date.now() > end) throw new Error(`no composite position in the checkpoint: ${JSON.stringify(checkpoint)}; ${first.stderr.slice(-2000)}`);
      await sleep(100);
      checkpoint = await readCheckpoint(file);
    }
    await first.kill('SIGKILL');
    const atKill = JSON.parse(checkpoint.position ?? '{}') as { shards: Record<string, string> };
    expect(Object.keys(atKill.shards).sort()).toEqual(['shardA', 'shardB']);
    await sleep(1000); // writes while the runtime is down
    stop = true;
    await writer;

    const second = new TaskProcess(config(), env);
    children.push(second);
    await second.waitForState('incremental', 120_000);
    await cluster.insert(Array.from({ length: 20 }, (_, i) => doc(9000 + i)));
    await cluster.set(2, { v: 'after restart' });
    await cluster.remove(3);

    const want = await cluster.truth();
    expect(want.has('"migrated-in"')).toBe(false);
    expect(want.has('7')).toBe(true);
    const same = (rows: Map<string, Record<string, unknown>>) => rows.size === want.size && [...want].every(([id, d]) => canon(rows.get(id)) === canon(d));
    const { rows, all } = await rebuild(topic, 90_000, same);
    const missing = [...want.keys()].filter((id) => !rows.has(id));
    const extra = [...rows.keys()].filter((id) => !want.has(id));
    const differ = [...want].filter(([id, d]) => rows.has(id) && canon(rows.get(id)) !== canon(d)).map(([id]) => id);
    expect({ missing: missing.slice(0, 5), extra: extra.slice(0, 5), differ: differ.slice(0, 5) }).toEqual({ missing: [], extra: [], differ: [] });
    expect(rows.size).toBe(want.size);
    for (const [id, d] of want) expect(rows.get(id), id).toEqual(d);
    // The migration entries never reached Kafka: no message names the migrated document, and
    // document 7 (deleted only by the donor's cleanup) was never deleted.
    expect(all.filter((m) => (m.data ?? []).some((d) => d._id === 'migrated-in'))).toEqual([]);
    expect(all.filter((m) => m.type === 'DELETE' && (m.data ?? []).some((d) => d._id === 7))).toEqual([]);
    const after = JSON.parse((await readCheckpoint(file)).position ?? '{}') as { shards: Record<string, string> };
    for (const s of ['shardA', 'shardB']) {
      const [t0, i0] = (atKill.shards[s] ?? '0:0').split(':').map(Number);
      const [t1, i1] = (after.shards[s] ?? '0:0').split(':').map(Number);
      expect((t1 ?? 0) * 2 ** 32 + (i1 ?? 0), `shard ${s} resumed and moved on`).toBeGreaterThan((t0 ?? 0) * 2 ** 32 + (i0 ?? 0));
    }
    console.log(`sharded: ${want.size} documents compared, ${all.length} messages, writer rounds ${k}, position at kill ${JSON.stringify(atKill.shards)}`);
    await second.kill('SIGTERM');
  }, 400_000);

  it('a shardCollection entry on a shard fails the task with the reason; an entry of a newer election term fails it as a switchover', async () => {
    const incrementalOnly = { syncTypes: { full: false, incremental: true } };
    const one = await setUp('mshardcmd');
    await one.cluster.insert([{ _id: 1, v: 'a' }, { _id: 2, v: 'b' }]);
    const first = new TaskProcess(one.config(incrementalOnly), env);
    children.push(first);
    await first.waitForState('incremental', 60_000);
    await streamStarted(one.file);
    const ns = `${one.db}.items`;
    await one.cluster.injectOplog(one.cluster.a, { op: 'n', ns, o: { msg: { shardCollection: ns } }, o2: { shardCollection: ns, key: { _id: 'hashed' }, unique: false, numInitialChunks: 0 } });
    const failed = await waitForLine(first, 'failed', 30_000);
    expect(failed.error).toMatchObject({ code: 'SHARDING_CHANGED', message: expect.stringMatching(new RegExp(`shardCollection on ${ns} \\(shard shardA`)) });
    await first.kill('SIGKILL');

    const two = await setUp('mshardterm');
    await two.cluster.insert([{ _id: 1, v: 'a' }]);
    const second = new TaskProcess(two.config(incrementalOnly), env);
    children.push(second);
    await second.waitForState('incremental', 60_000);
    await streamStarted(two.file);
    await two.cluster.set(1, { v: 'before the switchover' });
    await checkpointReaches(two.file, two.cluster.b, 'shardB', `${two.db}.items`, 'u');
    await two.cluster.injectOplog(two.cluster.b, { op: 'n', ns: '', o: { msg: 'new primary' }, t: 2 });
    const switched = await waitForLine(second, 'failed', 30_000);
    expect(switched.error).toMatchObject({ code: 'SOURCE_SWITCHOVER', message: expect.stringMatching(/shard shardB: the primary changed \(election term 1 → 2\)/) });
    await second.kill('SIGKILL');
  }, 200_000);

  it('a restart whose checkpointed shard position was rolled back fails instead of resuming', async () => {
    const { cluster, config, file } = await setUp('mshardrb');
    await cluster.insert([{ _id: 1, v: 'a' }, { _id: 2, v: 'b' }]);
    const cfg = config({ syncTypes: { full: false, incremental: true } });
    const first = new TaskProcess(cfg, env);
    children.push(first);
    await first.waitForState('incremental', 60_000);
    await streamStarted(file);
    await cluster.set(2, { v: 'to be rolled back' });
    const { at, entry } = await checkpointReaches(file, cluster.a, 'shardA', `${cluster.db}.items`, 'u');
    await first.kill('SIGTERM');
    // A failover rolled the write back: its entry is gone from the shard's oplog, older ones remain.
    await cluster.a.db('local').collection('oplog.rs').deleteOne({ _id: entry._id });
    const second = new TaskProcess(cfg, env);
    children.push(second);
    const failed = await waitForLine(second, 'failed', 60_000);
    expect(failed.error).toMatchObject({ code: 'SOURCE_ROLLED_BACK', message: expect.stringMatching(new RegExp(`shard shardA: no oplog entry at the saved position ${at}`)) });
    await second.kill('SIGKILL');
  }, 200_000);

  it('prechecks: shards discovered from config.shards; orphans, an _id on two shards, more than 10 mongos and a running balancer are reported', async () => {
    const { cluster, db } = await setUp('mshardpre');
    await cluster.insert(Array.from({ length: 10 }, (_, i) => ({ _id: i, v: `d${i}` })));
    const config = cluster.mongos.db('config');
    await config.collection<{ _id: string; host?: string }>('shards').insertMany([
      { _id: 'shardA', host: `shardA/${SHARD_A}` },
      { _id: 'shardB', host: `shardB/${SHARD_B}` },
    ]);
    const source = new MongoSource({ taskId: 'pre', uri: MONGOS, method: 'oplog', architecture: 'shardedCluster', shard: {}, fullDocument: false, select: (r) => r.database === db, databases: [db], chunkSize: 1000 });
    const item = (items: Awaited<ReturnType<MongoSource['precheck']>>, id: string) => items.find((i) => i.id === id);
    try {
      const clean = await source.precheck();
      expect(clean.filter((i) => i.status === 'fail')).toEqual([]);
      expect(item(clean, 'source.architecture')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/mongos/) });
      expect(item(clean, 'source.oplog.shardA')).toMatchObject({ detail: expect.stringMatching(/local.oplog.rs of shard shardA spans/) });
      expect(item(clean, 'source.oplog.shardB')).toBeDefined();
      expect(item(clean, 'source.balancer')).toMatchObject({ status: 'warn', detail: 'the balancer is on' });
      expect(item(clean, 'source.mongos')).toMatchObject({ status: 'pass', detail: '1 mongos' });

      // An orphan (a document only a shard holds) and an _id on both shards; 11 active mongos; the balancer stopped.
      await cluster.a.db(db).collection<Doc>('items').insertOne({ _id: 100, v: 'orphan' });
      await cluster.a.db(db).collection<Doc>('items').insertOne({ _id: 3, v: 'also on shardB' });
      await config.collection<{ _id: string; ping?: Date }>('mongos').insertMany(Array.from({ length: 11 }, (_, i) => ({ _id: `router-${i}:27017`, ping: new Date() })));
      await config.collection<{ _id: string; stopped?: boolean }>('settings').insertOne({ _id: 'balancer', stopped: true });
      const dirty = await source.precheck();
      expect(item(dirty, 'source.orphans')).toMatchObject({ status: 'fail', detail: `${db}.items: 2 more on the shards than through mongos` });
      expect(item(dirty, 'source.idUnique')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/_id \{"\$numberInt":"3"\} on shardA and shardB/) });
      expect(item(dirty, 'source.mongos')).toMatchObject({ status: 'fail', detail: '11 mongos (1 in the connection string, 11 active in config.mongos)' });
      expect(item(dirty, 'source.balancer')).toMatchObject({ status: 'pass' });
    } finally {
      await source.close();
      await config.collection<{ _id: string; host?: string }>('shards').deleteMany({ _id: { $in: ['shardA', 'shardB'] } });
      await config.collection<{ _id: string; ping?: Date }>('mongos').deleteMany({ _id: { $in: Array.from({ length: 11 }, (_, i) => `router-${i}:27017`) } });
      await config.collection<{ _id: string; stopped?: boolean }>('settings').deleteMany({ _id: 'balancer' });
    }
  }, 120_000);

  it('a replica set read by oplog fails the same way on a rolled-back position and on a newer term (shardA as the replica set)', async () => {
    const { cluster, db } = await setUp('mrsfail');
    await cluster.insert([{ _id: 2, v: 'a' }]);
    const source = new MongoSource({ taskId: 'rs', uri: `mongodb://${SHARD_A}/?replicaSet=shardA`, method: 'oplog', fullDocument: false, select: (r) => r.database === db, databases: [db], chunkSize: 1000, pollIntervalMs: 50 });
    const firstError = (from: Position) =>
      new Promise<{ code?: string; message: string }>((resolve) => {
        const sub = source.stream(from, { waitForRoom: () => undefined }).subscribe({ error: (e: unknown) => resolve(e as { code?: string; message: string }) });
        setTimeout(() => {
          sub.unsubscribe();
          resolve({ message: 'no error within 15 s' });
        }, 15_000);
      });
    try {
      const plan = await source.prepare({ full: false });
      await cluster.set(2, { v: 'to be rolled back' });
      const oplog = cluster.a.db('local').collection('oplog.rs');
      const entry = await oplog.findOne({ ns: `${db}.items`, op: 'u' }, { sort: { $natural: -1 } });
      const ts = entry?.ts as Timestamp;
      await oplog.deleteOne({ _id: entry?._id });
      const at = `${ts.high >>> 0}:${ts.low >>> 0}`;
      expect(await firstError(source.decodePosition(at))).toMatchObject({ code: 'SOURCE_ROLLED_BACK', message: expect.stringMatching(new RegExp(`no oplog entry at the saved position ${at}`)) });
      const reading = firstError(plan.streamFrom);
      await sleep(500);
      await cluster.injectOplog(cluster.a, { op: 'n', ns: '', o: { msg: 'new primary' }, t: 2 });
      expect(await reading).toMatchObject({ code: 'SOURCE_SWITCHOVER', message: expect.stringMatching(/the primary changed \(election term 1 → 2\)/) });
    } finally {
      await source.close();
    }
  }, 60_000);
});
