import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Long, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCollections } from '../../src/sinks/mongodb/verify.js';
import type { ChangeEvent } from '../../src/core/events.js';
import { decodeMongoPosition, type MongoPosition } from '../../src/sources/mongodb/position.js';
import { MongoSource } from '../../src/sources/mongodb/source.js';
import { uniqueName } from './support.js';
import { TaskProcess } from './taskProcess.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const DEST_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';
const COLLS = ['alpha', 'beta', 'gamma'];

/**
 * Issue 18: change streams over several collections (the substitute watches each collection on its
 * own). A whole-database task with three collections written concurrently must deliver in order
 * (no "AckTracker: position ... was dispatched after ...") and resume after a SIGKILL.
 */
describe('MongoDB change streams over several collections: a whole-database task', () => {
  let src: MongoClient;
  let dst: MongoClient;
  let dir: string;
  const children: TaskProcess[] = [];
  const db = uniqueName('mmulti');

  beforeAll(async () => {
    src = await MongoClient.connect(RS_URI, { serverSelectionTimeoutMS: 5000 });
    dst = await MongoClient.connect(DEST_URI, { serverSelectionTimeoutMS: 5000 });
    dir = await mkdtemp(join(tmpdir(), 'trib-mmulti-'));
    for (const c of COLLS) await src.db(db).collection(c).insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: i as never, c, v: 0 })));
  });

  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await src?.db(db).dropDatabase().catch(() => undefined);
    await dst?.db(db).dropDatabase().catch(() => undefined);
    await src?.close();
    await dst?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Writers on every collection at once: inserts, updates and deletes interleaved. */
  async function writeConcurrently(round: number): Promise<void> {
    await Promise.all(
      COLLS.map(async (c) => {
        const coll = src.db(db).collection(c);
        for (let i = 0; i < 40; i++) {
          await coll.insertOne({ _id: (1000 * round + i) as never, c, v: Long.fromNumber(i) });
          await coll.updateOne({ _id: i as never }, { $set: { v: round * 100 + i } });
          if (i % 5 === 0) await coll.deleteOne({ _id: (1000 * round + i - 1) as never });
        }
      }),
    );
  }

  async function converged(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    let report;
    do {
      await new Promise((r) => setTimeout(r, 500));
      report = await verifyCollections(src, dst, COLLS.map((collection) => ({ source: { database: db, collection } })));
    } while (!report.equal && Date.now() < end);
    expect(report.collections.map((c) => `${c.source}: ${c.differences}`)).toEqual(COLLS.map((c) => `${db}.${c}: 0`));
    expect(report.equal).toBe(true);
  }

  it('per-collection streams hand out positions in dispatch order, and a saved one resumes every stream at its place', async () => {
    const sdb = uniqueName('mmulti_src');
    for (const c of COLLS) await src.db(sdb).collection(c).insertOne({ _id: -1 as never });
    const mk = () => new MongoSource({ taskId: 't', uri: RS_URI, method: 'changeStreams', fullDocument: false, select: (r) => r.database === sdb, databases: [sdb], chunkSize: 1000, watchScope: 'collection', pollIntervalMs: 300 });
    const run = async (source: MongoSource, from: MongoPosition, write: () => Promise<void>, want: number): Promise<ChangeEvent[]> => {
      const got: ChangeEvent[] = [];
      let failure: unknown;
      const sub = source.stream(from, { waitForRoom: () => undefined }).subscribe({ next: (e) => e.op !== 'heartbeat' && got.push(e), error: (e: unknown) => (failure = e) });
      await new Promise((r) => setTimeout(r, 500));
      await write();
      const end = Date.now() + 20_000;
      while (got.length < want && failure === undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      sub.unsubscribe();
      if (failure !== undefined) throw failure as Error;
      return got;
    };
    const burst = (base: number) => async () => {
      // One collection gets a burst while the others are polled; then all three interleave.
      for (let i = 0; i < 20; i++) await src.db(sdb).collection('alpha').insertOne({ _id: (base + i) as never });
      await Promise.all(COLLS.map(async (c) => { for (let i = 100; i < 110; i++) await src.db(sdb).collection(c).insertOne({ _id: (base + i) as never }); }));
    };
    const a = mk();
    const start = (await a.prepare({ full: false })).streamFrom as MongoPosition;
    const first = await run(a, start, burst(1000), 50);
    await a.close();
    expect(first).toHaveLength(50);
    for (let n = 1; n < first.length; n++) {
      const [p, q] = [first[n - 1]?.position, first[n]?.position];
      expect(q?.compare(p as MongoPosition), `${q?.encode()} after ${p?.encode()}`).toBeGreaterThanOrEqual(0);
    }
    // Resume from the position of the 25th event: exactly the later ones come again, none lost.
    const saved = decodeMongoPosition((first[24]?.position as MongoPosition).encode());
    const b = mk();
    const again = await run(b, saved, async () => undefined, 25);
    await b.close();
    const ids = (es: ChangeEvent[]) => es.map((e) => `${e.shape.ref.table}:${String(e.after?._id)}`).sort();
    expect(ids(again)).toEqual(ids(first.slice(25)));
    await src.db(sdb).dropDatabase();
  }, 60_000);

  it('three collections written concurrently arrive in full, also after a SIGKILL and restart', async () => {
    const name = db.replace(/_/g, '-');
    const config = {
      name,
      source: { type: 'mongodb', uri: RS_URI, method: 'changeStreams', fullDocument: 'updateLookup' },
      destination: { mongodb: { uri: DEST_URI } },
      objects: [{ database: db }],
      checkpoints: { store: 'file', dir },
    };
    const env = { TRIBUTARY_IGNORE_WARNINGS: '1' };
    const first = new TaskProcess(config, env);
    children.push(first);
    await first.waitForState('incremental', 120_000);
    await writeConcurrently(1);
    await converged(60_000);
    expect(first.lines.find((l) => l.state === 'failed')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1000)); // a checkpoint with the vector position
    await first.kill('SIGKILL');

    await writeConcurrently(2);
    const second = new TaskProcess(config, env);
    children.push(second);
    await second.waitForState('incremental', 120_000);
    await writeConcurrently(3);
    await converged(60_000);
    expect(second.lines.find((l) => l.state === 'failed')).toBeUndefined();
    await second.kill('SIGTERM');
  }, 300_000);
});
