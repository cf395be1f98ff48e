/**
 * MongoSource against the local MongoDB-compatible servers (`bash scripts/mongo.sh up`, see
 * docs/mongo-servers.md): 27117 is mongo-java-server answering as replica set rs0 with an oplog,
 * 27118 the same server as a standalone. Unreachable servers fail these tests; they never skip.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decimal128, Long, MongoClient, type Document } from 'mongodb';
import { lastValueFrom, toArray, type Subscription } from 'rxjs';
import type { FlowControl, Logger } from '../../src/core/contracts.js';
import { LostHistoryError } from '../../src/core/errors.js';
import type { ChangeEvent } from '../../src/core/events.js';
import type { MongoPatch } from '../../src/sources/mongodb/oplog.js';
import { OplogPosition, ResumeTokenPosition } from '../../src/sources/mongodb/position.js';
import { MongoSource, type MongoSourceOptions } from '../../src/sources/mongodb/source.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const STANDALONE_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';
const open: FlowControl = { waitForRoom: () => undefined };

const logs: Array<{ level: string; msg: string }> = [];
const logger: Logger = {
  debug: (msg) => logs.push({ level: 'debug', msg }),
  info: (msg) => logs.push({ level: 'info', msg }),
  warn: (msg) => logs.push({ level: 'warn', msg }),
  error: (msg) => logs.push({ level: 'error', msg }),
};

let client: MongoClient;
const dbs: string[] = [];

function uniqueDb(prefix: string): string {
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  dbs.push(name);
  return name;
}

beforeAll(async () => {
  client = new MongoClient(RS_URI, { serverSelectionTimeoutMS: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`MongoDB test server at ${RS_URI} is not reachable (start it with \`bash scripts/mongo.sh up\`): ${String(err)}`, { cause: err });
  }
});

afterAll(async () => {
  for (const d of dbs) await client.db(d).dropDatabase().catch(() => undefined);
  await client.close();
});

function source(db: string, method: MongoSourceOptions['method'], extra: Partial<MongoSourceOptions> = {}): MongoSource {
  return new MongoSource({ taskId: db, uri: RS_URI, method, fullDocument: method === 'changeStreams', select: (r) => r.database === db, databases: [db], chunkSize: 100, pollIntervalMs: 50, logger, ...extra });
}

function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Document = doc;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Document;
  }
  cur[parts[parts.length - 1] ?? ''] = value;
}

function unsetPath(doc: Document, path: string): void {
  const parts = path.split('.');
  let cur: Document | undefined = doc;
  for (const p of parts.slice(0, -1)) cur = cur?.[p] as Document | undefined;
  if (cur) delete cur[parts[parts.length - 1] ?? ''];
}

/** Copies plain objects and arrays; BSON values (Long, Decimal128, ObjectId, Date) are shared as they are immutable. */
function clone<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x: unknown) => clone(x)) as T;
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
  }
  return v;
}

/** Test documents: `_id` is a number or a marker string. */
interface Item {
  _id: number | string;
  [key: string]: unknown;
}

/** Applies events in order, keyed by `_id`: what a destination would hold. */
function fold(events: readonly ChangeEvent[], into = new Map<string, Document>()): Map<string, Document> {
  for (const e of events) {
    if (e.op === 'insert' && e.after) into.set(JSON.stringify(e.after._id), clone(e.after));
    else if (e.op === 'delete') into.delete(JSON.stringify(e.before?._id));
    else if (e.op === 'update') {
      const key = JSON.stringify(e.before?._id ?? e.after?._id);
      if (e.after) into.set(key, clone(e.after));
      else if (e.patch) {
        const doc = into.get(key);
        if (!doc) throw new Error(`patch for unknown document ${key}`);
        const p = e.patch as MongoPatch;
        for (const [k, v] of Object.entries(p.set ?? {})) setPath(doc, k, v);
        for (const k of p.unset ?? []) unsetPath(doc, k);
      }
    }
  }
  return into;
}

async function contents(db: string, coll: string): Promise<Map<string, Document>> {
  const m = new Map<string, Document>();
  // Read as the source reads: every number keeps its BSON type (issue 18).
  for (const d of await client.db(db).collection(coll).find({}, { promoteLongs: false, promoteValues: false, bsonRegExp: true }).toArray()) m.set(JSON.stringify(d._id), d);
  return m;
}

/** Subscribes and resolves when `until` holds over the events so far. */
function collect(src: MongoSource, from: Parameters<MongoSource['stream']>[0], until: (events: ChangeEvent[]) => boolean, ms = 30_000): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  let sub: Subscription | undefined;
  return new Promise<ChangeEvent[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      sub?.unsubscribe();
      reject(new Error(`stream did not reach the expected state within ${ms} ms (${events.length} events)`));
    }, ms);
    sub = src.stream(from, open).subscribe({
      next: (e) => {
        events.push(e);
        if (until(events)) {
          clearTimeout(timer);
          sub?.unsubscribe();
          resolve(events);
        }
      },
      error: (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
      complete: () => {
        clearTimeout(timer);
        reject(new Error('stream completed'));
      },
    });
  });
}

const hasId = (id: unknown) => (events: ChangeEvent[]) => events.some((e) => e.after?._id === id || e.before?._id === id);

async function writeLoad(db: string, rounds: number): Promise<void> {
  const c = client.db(db).collection<Item>('items');
  for (let n = 0; n < rounds; n++) {
    const id = (n * 7) % 300;
    switch (n % 5) {
      case 0:
        await c.updateOne({ _id: id }, { $set: { name: `renamed-${n}`, 'nested.x': n } });
        break;
      case 1:
        await c.updateOne({ _id: id }, { $inc: { qty: Long.fromNumber(1) }, $unset: { tag: '' } } as Document);
        break;
      case 2:
        await c.deleteOne({ _id: id });
        break;
      case 3:
        await c.insertOne({ _id: 1000 + n, name: `new-${n}`, price: Decimal128.fromString('0.10'), qty: Long.fromString('9007199254740993') });
        break;
      default:
        await c.replaceOne({ _id: id }, { name: `replaced-${n}`, price: Decimal128.fromString('3.30') });
    }
  }
}

async function seed(db: string, count: number): Promise<void> {
  const docs = Array.from({ length: count }, (_, n) => ({ _id: n, name: `item-${n}`, tag: 't', price: Decimal128.fromString(`${n}.25`), qty: Long.fromString('9007199254740993'), nested: { x: 0 } }));
  await client.db(db).collection<Item>('items').insertMany(docs);
}

describe.each(['oplog', 'changeStreams'] as const)('MongoSource (%s) on mongo-java-server rs0', (method) => {
  it('full sync with concurrent writes, then incremental: every document ends as stored', async () => {
    const db = uniqueDb(`trib_ms_${method === 'oplog' ? 'op' : 'cs'}`);
    await seed(db, 300);
    const src = source(db, method);
    try {
      const plan = await src.prepare({ full: true });
      expect(plan.chunks.length).toBeGreaterThanOrEqual(3);
      const writer = writeLoad(db, 120);
      const started = Date.now();
      const snapshotEvents: ChangeEvent[] = [];
      for (const chunk of plan.chunks) snapshotEvents.push(...(await lastValueFrom(src.snapshot(chunk).pipe(toArray()))));
      const snapshotMs = Date.now() - started;
      await writer;
      await client.db(db).collection<Item>('items').insertOne({ _id: 'end' });
      expect(snapshotEvents.every((e) => e.snapshot && e.op === 'insert' && e.position === plan.streamFrom)).toBe(true);
      const streamed = await collect(src, plan.streamFrom, hasId('end'));
      const state = fold(streamed, fold(snapshotEvents));
      expect(state).toEqual(await contents(db, 'items'));
      // BSON types are kept.
      const some = [...state.values()].find((d) => d.qty !== undefined);
      expect(some?.qty).toBeInstanceOf(Long);
      expect(streamed.every((e) => e.bytes >= 0 && e.position.compare(plan.streamFrom) >= 0)).toBe(true);
      // mongo-java-server keeps no tailable cursors and no cluster time: the fallbacks say so in the log.
      expect(logs.some((l) => l.level === 'warn' && l.msg.includes(method === 'oplog' ? 'polling local.oplog.rs' : 'watching each selected collection'))).toBe(true);
      console.info(`[${method}] snapshot ${snapshotEvents.length} docs in ${snapshotMs} ms (with concurrent writes); ${streamed.length} stream events`);
    } finally {
      await src.close();
    }
  });

  it('a stream restarted from a saved position resumes with nothing lost', async () => {
    const db = uniqueDb(`trib_rs_${method === 'oplog' ? 'op' : 'cs'}`);
    await seed(db, 50);
    const src = source(db, method);
    const plan = await src.prepare({ full: true });
    const snapshotEvents: ChangeEvent[] = [];
    for (const chunk of plan.chunks) snapshotEvents.push(...(await lastValueFrom(src.snapshot(chunk).pipe(toArray()))));
    const c = client.db(db).collection<Item>('items');
    for (let n = 0; n < 10; n++) await c.updateOne({ _id: n }, { $set: { round: 1, n } });
    await c.insertOne({ _id: 'mark1' });
    const first = await collect(src, plan.streamFrom, hasId('mark1'));
    // Keep only up to the 6th data event, as if the task stopped after confirming it.
    const data = first.filter((e) => e.op !== 'heartbeat');
    const kept = data.slice(0, 6);
    const saved = kept[kept.length - 1]?.position.encode() ?? '';
    await src.confirm(kept[kept.length - 1]!.position);
    await src.close();

    for (let n = 10; n < 20; n++) await c.updateOne({ _id: n }, { $set: { round: 2 } });
    await c.deleteOne({ _id: 30 });
    await c.insertOne({ _id: 'mark2' });

    const again = source(db, method);
    try {
      const resumed = await collect(again, again.decodePosition(saved), hasId('mark2'));
      expect(resumed[0]?.position.compare(again.decodePosition(saved))).toBeGreaterThanOrEqual(0);
      const state = fold(resumed, fold(kept, fold(snapshotEvents)));
      expect(state).toEqual(await contents(db, 'items'));
    } finally {
      await again.close();
    }
  });

  it('a position older than the oplog fails with LostHistoryError, never restarting from now', async () => {
    const db = uniqueDb('trib_lost');
    await seed(db, 1);
    const src = source(db, method);
    try {
      await src.prepare({ full: false });
      const ancient = method === 'oplog' ? new OplogPosition(1, 1) : new ResumeTokenPosition('0000000100000001', 1, 1);
      const err = await collect(src, ancient, () => true, 15_000).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LostHistoryError);
      expect((err as LostHistoryError).fix).toMatch(/new start position|full synchronization/);
      expect((err as LostHistoryError).retriable).toBe(false);
    } finally {
      await src.close();
    }
  });
});

describe('MongoSource prechecks', () => {
  it('passes the replica set and warns about TTL indexes', async () => {
    const db = uniqueDb('trib_pc');
    await seed(db, 3);
    await client.db(db).collection('items').createIndex({ at: 1 }, { expireAfterSeconds: 60 });
    const src = source(db, 'oplog');
    try {
      const items = await src.precheck();
      const byId = new Map(items.map((i) => [i.id, i]));
      expect(byId.get('source.topology')?.status).toBe('pass');
      expect(byId.get('source.flavour')?.status).toBe('pass');
      expect(byId.get('source.read')?.status).toBe('pass');
      expect(byId.get('source.ttl')?.status).toBe('warn');
      expect(byId.get('source.ttl')?.detail).toContain(`${db}.items`);
      expect(['pass', 'warn']).toContain(byId.get('source.oplog')?.status);
    } finally {
      await src.close();
    }
    const cs = source(db, 'changeStreams');
    try {
      expect((await cs.precheck()).find((i) => i.id === 'source.changeStreams')?.status).toBe('pass');
    } finally {
      await cs.close();
    }
  });

  it('rejects a standalone server with a clear fix', async () => {
    const db = uniqueDb('trib_sa');
    const standalone = new MongoClient(STANDALONE_URI, { serverSelectionTimeoutMS: 5_000 });
    await standalone.connect();
    try {
      await standalone.db(db).collection<Item>('items').insertOne({ _id: 1 });
      const src = new MongoSource({ taskId: db, uri: STANDALONE_URI, method: 'oplog', fullDocument: false, select: (r) => r.database === db, databases: [db], chunkSize: 100 });
      try {
        const topology = (await src.precheck()).find((i) => i.id === 'source.topology');
        expect(topology?.status).toBe('fail');
        expect(topology?.detail).toMatch(/standalone/);
        expect(topology?.fix).toMatch(/--replSet/);
      } finally {
        await src.close();
      }
    } finally {
      await standalone.db(db).dropDatabase().catch(() => undefined);
      await standalone.close();
    }
  });

  it('rejects an SRV URI without connecting', async () => {
    const src = new MongoSource({ taskId: 'srv', uri: 'mongodb+srv://cluster0.example.net/', method: 'oplog', fullDocument: false, select: () => true, chunkSize: 100 });
    const items = await src.precheck();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ id: 'source.uri', status: 'fail' });
    expect(items[0]?.fix).toMatch(/mongodb:\/\/host1/);
    await expect(src.prepare({ full: true })).rejects.toThrow(/SRV|srv/);
  });
});
