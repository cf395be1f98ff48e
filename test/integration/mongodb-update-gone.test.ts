import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { SequencePosition, createBatch } from '../../src/core/index.js';
import type { ChangeEvent } from '../../src/core/index.js';
import { createCanalJson } from '../../src/formats/canal-json.js';
import { MongoSink } from '../../src/sinks/mongodb/index.js';
import { MongoSource } from '../../src/sources/mongodb/source.js';
import type { MongoPosition } from '../../src/sources/mongodb/position.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const DEST_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';

/**
 * Issue 18: an update whose looked-up document is gone (updated, then deleted before the stream
 * reads the update). The substitute then sends `fullDocument` without `_id` and the update spec as
 * `documentKey` (docs/mongo-servers.md); real MongoDB sends `fullDocument: null` with
 * `documentKey: {_id}` (unit test in changeStream.test.ts). Either way the change keeps its `_id`.
 */
describe('MongoDB change stream: an update whose document is gone', () => {
  let src: MongoClient;
  let dst: MongoClient;
  const db = `mgone_${randomUUID().replaceAll('-', '').slice(0, 10)}`;

  beforeAll(async () => {
    src = await MongoClient.connect(RS_URI, { serverSelectionTimeoutMS: 5000 });
    dst = await MongoClient.connect(DEST_URI, { serverSelectionTimeoutMS: 5000 });
    await src.db(db).collection('c').insertOne({ _id: 0 as never });
  });
  afterAll(async () => {
    await src.db(db).dropDatabase().catch(() => undefined);
    await dst.db(db).dropDatabase().catch(() => undefined);
    await src.close();
    await dst.close();
  });

  it('is delivered with its _id into Canal JSON, and the MongoDB destination applies it without failing', async () => {
    const source = new MongoSource({ taskId: 't', uri: RS_URI, method: 'changeStreams', fullDocument: true, select: (r) => r.database === db, databases: [db], chunkSize: 1000, pollIntervalMs: 200 });
    const from = (await source.prepare({ full: false })).streamFrom as MongoPosition;
    const c = src.db(db).collection('c');
    await c.insertOne({ _id: 1 as never, x: 1 });
    await c.updateOne({ _id: 1 as never }, { $set: { x: 2 } });
    await c.deleteOne({ _id: 1 as never });
    await c.insertOne({ _id: 2 as never, x: 1 });
    const got: ChangeEvent[] = [];
    let failure: unknown;
    const sub = source.stream(from, { waitForRoom: () => undefined }).subscribe({ next: (e) => e.op !== 'heartbeat' && got.push(e), error: (e: unknown) => (failure = e) });
    const end = Date.now() + 20_000;
    while (got.length < 4 && failure === undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    await source.close();
    expect(failure).toBeUndefined();
    expect(got.map((e) => e.op)).toEqual(['insert', 'update', 'delete', 'insert']);
    const update = got[1] as ChangeEvent;
    expect(JSON.stringify(update.before)).toBe(JSON.stringify({ _id: 1 }));

    const fmt = createCanalJson();
    const msg = JSON.parse(fmt.encode(update, { now: Date.now(), documents: true, sourceName: 'MongoDB', sourceVersion: '5.0' }).value.toString()) as { old: unknown; data: unknown };
    expect(msg.old).toEqual([{ _id: 1 }]);
    expect(msg.data).toEqual([{ $set: { x: 2 } }]);

    const sink = new MongoSink({ uri: DEST_URI, conflictMode: 'precheckAndReport' });
    try {
      await sink.write(createBatch(got.map((e, n) => ({ ...e, position: new SequencePosition(BigInt(n + 1)) })), 0, () => undefined));
    } finally {
      await sink.close();
    }
    expect(await dst.db(db).collection('c').find({}).toArray()).toEqual([{ _id: 2, x: 1 }]);
  }, 60_000);
});
