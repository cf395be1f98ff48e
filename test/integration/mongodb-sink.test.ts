/**
 * MongoSink against the local MongoDB-compatible servers (docs/mongo-servers.md):
 * destination = mongo-java-server posing as replica set rs0 (27117), source for schema sync and
 * verification = the standalone mongo-java-server (27118). Unreachable servers fail the tests.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import type { Document } from 'mongodb';
import { SequencePosition, createBatch, OversizedRecordError } from '../../src/core/index.js';
import type { ChangeEvent, Row } from '../../src/core/index.js';
import {
  DuplicateKeyConflictError,
  MongoSink,
  formatSchemaReport,
  formatVerificationReport,
  readCollectionSpecs,
  syncSchema,
  verifyCollections,
} from '../../src/sinks/mongodb/index.js';
import type { MongoSinkOptions } from '../../src/sinks/mongodb/index.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const OPLOG_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';

async function connected(uri: string): Promise<MongoClient> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new Error(`MongoDB test server at ${uri} is not reachable (start it with \`bash scripts/mongo.sh up\`): ${String(err)}`, { cause: err });
  }
  return client;
}

let dest: MongoClient;
let source: MongoClient;
const dbs: Array<[MongoClient, string]> = [];
let seq = 0n;

function dbName(prefix: string, client: MongoClient = dest): string {
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  dbs.push([client, name]);
  return name;
}

function ev(database: string, table: string, e: Partial<ChangeEvent> & Pick<ChangeEvent, 'op'>): ChangeEvent {
  seq++;
  return { shape: { ref: { database, table }, columns: [], key: ['_id'] }, snapshot: false, commitTime: Date.now(), position: new SequencePosition(seq), bytes: 100, ...e };
}
const ins = (d: string, t: string, after: Row, snapshot = false) => ev(d, t, { op: 'insert', after, snapshot });
const rep = (d: string, t: string, after: Row) => ev(d, t, { op: 'update', before: { _id: after._id }, after });
const pat = (d: string, t: string, id: unknown, set?: Row, unset?: string[]) =>
  ev(d, t, { op: 'update', before: { _id: id }, patch: { ...(set ? { set } : {}), ...(unset ? { unset } : {}) } });
const del = (d: string, t: string, id: unknown) => ev(d, t, { op: 'delete', before: { _id: id } });
const ddl = (d: string, t: string, command: Document) => ev(d, t, { op: 'ddl', ddl: { command } });

async function write(sink: MongoSink, items: ChangeEvent[]): Promise<void> {
  let acked: Error | undefined | null = null;
  const batch = createBatch(items, items.length * 100, (err) => (acked = err));
  await sink.write(batch);
  expect(acked).toBeNull(); // the sink resolves; acking is the caller's job
}

function sink(extra: Partial<MongoSinkOptions> = {}): MongoSink {
  return new MongoSink({ uri: RS_URI, client: dest, conflictMode: 'ignoreAndProceed', ...extra });
}

const all = (d: string, c: string): Promise<Document[]> => dest.db(d).collection(c).find({}, { sort: { _id: 1 } }).toArray();

beforeAll(async () => {
  dest = await connected(RS_URI);
  source = await connected(OPLOG_URI);
});

afterAll(async () => {
  for (const [c, name] of dbs) await c.db(name).dropDatabase().catch(() => undefined);
  await dest?.close();
  await source?.close();
});

describe('MongoSink', () => {
  it('replays snapshot inserts then incremental changes idempotently, reading back exact documents', async () => {
    const d = dbName('sink_replay');
    const s = sink({ parallelism: 4 });
    const snapshot = Array.from({ length: 200 }, (_, i) => ins(d, 'orders', { _id: i, n: i, tag: 'snap' }, true));
    await write(s, snapshot);
    expect(s.counters.inserted).toBe(200);
    const changes = [
      rep(d, 'orders', { _id: 1, n: 100, tag: 'replaced' }),
      pat(d, 'orders', 1, { n: 101, 'sub.x': 5 }, ['tag']),
      pat(d, 'orders', 2, { tag: 'patched' }),
      del(d, 'orders', 3),
      ins(d, 'orders', { _id: 500, n: 500 }),
      pat(d, 'orders', 500, { n: 501 }),
      rep(d, 'orders', { _id: 501, n: 1 }), // update with full document of a missing doc: upsert
      del(d, 'orders', 500),
      ins(d, 'orders', { _id: 500, n: 502 }),
    ];
    await write(s, changes);
    // Replaying the same changes again (at-least-once redelivery) yields the same state.
    await write(s, changes);
    const docs = await all(d, 'orders');
    expect(docs).toHaveLength(200 - 1 + 2);
    expect(docs.find((x) => x._id === 1)).toEqual({ _id: 1, n: 101, sub: { x: 5 } });
    expect(docs.find((x) => x._id === 2)).toEqual({ _id: 2, n: 2, tag: 'patched' });
    expect(docs.find((x) => x._id === 3)).toBeUndefined();
    expect(docs.find((x) => x._id === 4)).toEqual({ _id: 4, n: 4, tag: 'snap' });
    expect(docs.find((x) => x._id === 500)).toEqual({ _id: 500, n: 502 });
    expect(docs.find((x) => x._id === 501)).toEqual({ _id: 501, n: 1 });
    expect(s.counters.replaced).toBe(8);
    expect(s.counters.updated).toBe(6);
    expect(s.counters.deleted).toBe(3); // 3 and 500 first round, 500 again second round
    expect(s.counters.missingOnDelete).toBe(1); // 3 on replay
    expect(s.counters.conflicts).toBe(0);
  });

  it('ignoreAndProceed keeps the destination document on a duplicate _id and counts the conflict', async () => {
    const d = dbName('sink_ignore');
    await dest.db(d).collection('c').insertOne({ _id: 1 as unknown as Document['_id'], v: 'destination' });
    const s = sink({ conflictMode: 'ignoreAndProceed' });
    await write(s, [ins(d, 'c', { _id: 1, v: 'source' }, true), ins(d, 'c', { _id: 2, v: 'source' }, true), ins(d, 'c', { _id: 3, v: 'source' }, true)]);
    expect(await all(d, 'c')).toEqual([
      { _id: 1, v: 'destination' },
      { _id: 2, v: 'source' },
      { _id: 3, v: 'source' },
    ]);
    expect(s.counters.conflicts).toBe(1);
    expect(s.counters.inserted).toBe(2);
  });

  it('precheckAndReport fails on a duplicate _id naming collection and _id, and the precheck names the existing collection', async () => {
    const d = dbName('sink_report');
    await dest.db(d).collection('c').insertOne({ _id: 'k1' as unknown as Document['_id'], v: 'destination' });
    const s = sink({ conflictMode: 'precheckAndReport', precheck: { targets: [{ database: d, collection: 'c' }, { database: d, collection: 'fresh' }], sourceVersion: '4.4.0' } });
    const items = await s.precheck();
    const conflict = items.find((i) => i.id === 'mongodb.destination.conflicting-collections');
    expect(conflict?.status).toBe('fail');
    expect(conflict?.detail).toBe(`already present at the destination: ${d}.c`);
    expect(conflict?.fix).toMatch(/ignoreAndProceed/);
    expect(items.find((i) => i.id === 'mongodb.destination.version')).toMatchObject({ status: 'pass', detail: 'source 4.4.0, destination 5.0.0' });
    const tooNew = await sink({ precheck: { sourceVersion: '7.0.2' } }).precheck();
    expect(tooNew.find((i) => i.id === 'mongodb.destination.version')?.status).toBe('fail');

    const err = await s.write(createBatch([ins(d, 'c', { _id: 'k0', v: 's' }, true), ins(d, 'c', { _id: 'k1', v: 's' }, true)], 0, () => undefined)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyConflictError);
    expect((err as Error).message).toContain(`${d}.c`);
    expect((err as Error).message).toContain('"k1"');
    expect((err as DuplicateKeyConflictError).retriable).toBe(false);
    expect((await dest.db(d).collection('c').findOne({ _id: 'k1' as unknown as Document['_id'] }))?.v).toBe('destination');
  });

  it('collections with a unique index go through one ordered lane; ordering across documents is kept', async () => {
    const d = dbName('sink_unique');
    await dest.db(d).collection('users').createIndex({ email: 1 }, { unique: true });
    await dest.db(d).collection('plain').createIndex({ email: 1 });
    const s = sink({ parallelism: 8 });
    expect((await s.collectionMeta(d, 'users')).singleThreaded).toBe(true);
    expect((await s.collectionMeta(d, 'plain')).singleThreaded).toBe(false);
    const users = Array.from({ length: 40 }, (_, i) => ins(d, 'users', { _id: i, email: `u${i}@x` }));
    // Email moves from user 0 to user 39 after user 0 changed: only correct in order.
    users.push(rep(d, 'users', { _id: 0, email: 'moved@x' }), rep(d, 'users', { _id: 39, email: 'u0@x' }));
    const plain = Array.from({ length: 40 }, (_, i) => ins(d, 'plain', { _id: i, email: `p${i}` }));
    const before = s.counters.bulkWrites;
    await write(s, [...users, ...plain]);
    // users: 1 lane; plain: 40 ids over 8 lanes.
    expect(s.counters.bulkWrites - before).toBe(1 + 8);
    expect(s.counters.conflicts).toBe(0);
    const u = await all(d, 'users');
    expect(u).toHaveLength(40);
    expect(u[0]).toEqual({ _id: 0, email: 'moved@x' });
    expect(u[39]).toEqual({ _id: 39, email: 'u0@x' });
    expect(await dest.db(d).collection('plain').countDocuments()).toBe(40);
  });

  it('a patch update of a missing document is ignored and counted (no upsert); a delete of a missing one too', async () => {
    const d = dbName('sink_missing');
    const s = sink();
    await write(s, [ins(d, 'c', { _id: 1, a: 1 }), pat(d, 'c', 2, { a: 2 }), pat(d, 'c', 1, { a: 3 }), del(d, 'c', 9)]);
    expect(await all(d, 'c')).toEqual([{ _id: 1, a: 3 }]);
    expect(s.counters.missingOnUpdate).toBe(1);
    expect(s.counters.updated).toBe(1);
    expect(s.counters.missingOnDelete).toBe(1);
  });

  it('oversized documents fail the write naming collection and _id', async () => {
    const d = dbName('sink_big');
    const s = sink();
    const err = await s.write(createBatch([ins(d, 'c', { _id: 'huge', s: 'x'.repeat(17 * 1024 * 1024) })], 0, () => undefined)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OversizedRecordError);
    expect((err as Error).message).toContain(`${d}.c with _id "huge"`);
    expect(await dest.db(d).collection('c').countDocuments()).toBe(0);
  });

  it('replays DDL: create, createIndexes (TTL stripped), dropIndexes, renameCollection, drop, dropDatabase', async () => {
    const d = dbName('sink_ddl');
    const s = sink();
    await write(s, [
      ddl(d, 'a', { create: 'a' }),
      ddl(d, 'a', { createIndexes: 'a', v: 2, key: { u: 1 }, name: 'u_1', unique: true }),
      ddl(d, 'a', { createIndexes: 'a', indexes: [{ key: { ts: 1 }, name: 'ts_1', expireAfterSeconds: 30 }, { key: { z: 1 }, name: 'z_1' }] }),
      ins(d, 'a', { _id: 1, u: 1 }),
    ]);
    const ix = await dest.db(d).collection('a').listIndexes().toArray();
    expect(ix.map((i) => i.name).sort()).toEqual(['_id_', 'ts_1', 'u_1', 'z_1']);
    expect(ix.find((i) => i.name === 'ts_1')?.expireAfterSeconds).toBeUndefined();
    expect(ix.find((i) => i.name === 'u_1')?.unique).toBe(true);
    // The unique index added by DDL in the previous batch switches the collection to one lane.
    expect((await s.collectionMeta(d, 'a')).singleThreaded).toBe(true);
    await write(s, [
      ddl(d, 'a', { dropIndexes: 'a', index: 'z_1' }),
      ddl(d, 'a', { renameCollection: `${d}.a`, to: `${d}.b` }),
      ins(d, 'b', { _id: 2, u: 2 }),
      ddl(d, 'x', { create: 'x' }),
      ddl(d, 'x', { drop: 'x' }),
      ddl(d, 'x', { drop: 'x' }), // replayed again: idempotent
      ddl(d, 'a', { create: 'a' }),
      ddl(d, 'a', { create: 'a' }), // already there: ignored
    ]);
    const names = (await dest.db(d).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    expect(names).toEqual(['a', 'b']);
    expect(await all(d, 'b')).toEqual([
      { _id: 1, u: 1 },
      { _id: 2, u: 2 },
    ]);
    expect((await dest.db(d).collection('b').listIndexes().toArray()).map((i) => i.name).sort()).toEqual(['_id_', 'ts_1', 'u_1']);
    await write(s, [ddl(d, '', { dropDatabase: 1 })]);
    expect((await dest.db('admin').admin().listDatabases()).databases.map((x) => x.name)).not.toContain(d);
    expect(s.counters.ddlApplied).toBe(11);
  });

  it('schema sync creates collections and indexes, TTL indexes without expireAfterSeconds, and reports them', async () => {
    const sdb = dbName('schema_src', source);
    await source.db(sdb).collection('events').createIndex({ createdAt: 1 }, { expireAfterSeconds: 3600, name: 'ttl_created' });
    await source.db(sdb).collection('events').createIndex({ code: 1 }, { unique: true, name: 'code_u' });
    await source.db(sdb).createCollection('empty');
    const specs = await readCollectionSpecs(source, sdb);
    expect(specs.map((x) => x.name).sort()).toEqual(['empty', 'events']);
    const d = dbName('schema_dst');
    const report = await syncSchema(dest, specs.map((x) => ({ ...x, database: d })));
    expect(report.createdCollections.sort()).toEqual([`${d}.empty`, `${d}.events`]);
    expect(report.ttl).toEqual([
      {
        collection: `${d}.events`,
        index: 'ttl_created',
        key: { createdAt: 1 },
        expireAfterSeconds: 3600,
        action: 'stripped',
        restore: { collMod: 'events', index: { name: 'ttl_created', expireAfterSeconds: 3600 } },
      },
    ]);
    const ix = await dest.db(d).collection('events').listIndexes().toArray();
    expect(ix.find((i) => i.name === 'ttl_created')).toMatchObject({ key: { createdAt: 1 } });
    expect(ix.find((i) => i.name === 'ttl_created')?.expireAfterSeconds).toBeUndefined();
    expect(ix.find((i) => i.name === 'code_u')?.unique).toBe(true);
    expect(formatSchemaReport(report)).toContain('TTL index');
    // Running it again finds everything present.
    const again = await syncSchema(dest, specs.map((x) => ({ ...x, database: d })));
    expect(again.existingCollections.sort()).toEqual([`${d}.empty`, `${d}.events`]);
  });

  it('verification: zero differences for equal data, the differing _ids otherwise', async () => {
    const sdb = dbName('verify_src', source);
    const d = dbName('verify_dst');
    const docs = Array.from({ length: 300 }, (_, i) => ({ _id: i, v: `x${i}`, nested: { a: i, b: [i, 'y'] } }));
    await source.db(sdb).collection('c').insertMany(docs as unknown as Document[]);
    const s = sink();
    await write(s, docs.map((doc) => ins(d, 'c', doc, true)));
    const pairs = [{ source: { database: sdb, collection: 'c' }, destination: { database: d, collection: 'c' } }];
    const same = await verifyCollections(source, dest, pairs);
    expect(same.equal).toBe(true);
    expect(same.collections[0]).toMatchObject({ sourceCount: 300, destinationCount: 300, differences: 0, missingInDestination: [], extraInDestination: [], contentDiffers: [] });
    expect(same.collections[0]?.sourceHash).toBe(same.collections[0]?.destinationHash);

    await dest.db(d).collection('c').deleteOne({ _id: 5 as unknown as Document['_id'] });
    await dest.db(d).collection('c').updateOne({ _id: 7 as unknown as Document['_id'] }, { $set: { v: 'changed' } });
    await dest.db(d).collection('c').insertOne({ _id: 1000 as unknown as Document['_id'], v: 'extra' });
    const diff = await verifyCollections(source, dest, pairs);
    expect(diff.equal).toBe(false);
    expect(diff.collections[0]).toMatchObject({
      sourceCount: 300,
      destinationCount: 300,
      differences: 3,
      missingInDestination: ['5'],
      extraInDestination: ['1000'],
      contentDiffers: ['7'],
      truncated: false,
    });
    const text = formatVerificationReport(diff);
    expect(text).toContain('missing in destination: 5');
    expect(text).toContain('content differs: 7');
    const bounded = await verifyCollections(source, dest, pairs, { maxIds: 0 });
    expect(bounded.collections[0]).toMatchObject({ differences: 3, truncated: true, contentDiffers: [] });
  });

  it('measures a 20k-document replay (snapshot inserts, then full-document updates)', async () => {
    const d = dbName('sink_bench');
    const s = sink({ parallelism: 8 });
    const N = 20_000; // the test servers keep an untrimmed in-memory oplog: bigger runs exhaust their heap
    const snap = Array.from({ length: N }, (_, i) => ins(d, 'c', { _id: i, n: i, pad: 'p'.repeat(100) }, true));
    let t = performance.now();
    for (let i = 0; i < N; i += 5000) await write(s, snap.slice(i, i + 5000));
    const insertMs = performance.now() - t;
    const upd = Array.from({ length: N }, (_, i) => rep(d, 'c', { _id: i, n: i + 1, pad: 'q'.repeat(100) }));
    t = performance.now();
    for (let i = 0; i < N; i += 5000) await write(s, upd.slice(i, i + 5000));
    const replaceMs = performance.now() - t;
    console.log(
      `mongodb sink ${N}: snapshot insert ${Math.round((N / insertMs) * 1000)} docs/s, incremental replace ${Math.round((N / replaceMs) * 1000)} ops/s (parallelism 8, w: majority, mongo-java-server)`,
    );
    expect(await dest.db(d).collection('c').countDocuments()).toBe(N);
    expect(await dest.db(d).collection('c').findOne({ _id: (N - 1) as unknown as Document['_id'] })).toEqual({ _id: N - 1, n: N, pad: 'q'.repeat(100) });
    expect(s.counters.inserted).toBe(N);
    expect(s.counters.replaced).toBe(N);
  }, 600_000);
});
