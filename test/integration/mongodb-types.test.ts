/**
 * Issue 18, "numbers change type": every BSON type survives MongoDB → MongoDB and MongoDB → Canal
 * JSON, and `verify` notices a changed type. Against the substitutes (docs/mongo-servers.md):
 * 27117 (rs0, change streams) as source, 27118 as destination.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BSONRegExp, Decimal128, Double, Int32, Long, MongoClient, type Document } from 'mongodb';
import { lastValueFrom, toArray } from 'rxjs';
import { SequencePosition, createBatch } from '../../src/core/index.js';
import type { ChangeEvent } from '../../src/core/index.js';
import { MongoSink, verifyCollections } from '../../src/sinks/mongodb/index.js';
import { MongoSource } from '../../src/sources/mongodb/source.js';
import { documentToJson } from '../../src/formats/types/document.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const DEST_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';
const RAW = { promoteLongs: false, promoteValues: false, bsonRegExp: true } as const;

let src: MongoClient;
let dst: MongoClient;
const dbs: Array<[MongoClient, string]> = [];
const name = (c: MongoClient, p: string) => {
  const n = `${p}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  dbs.push([c, n]);
  return n;
};

beforeAll(async () => {
  src = await MongoClient.connect(RS_URI, { serverSelectionTimeoutMS: 5_000 });
  dst = await MongoClient.connect(DEST_URI, { serverSelectionTimeoutMS: 5_000 });
});
afterAll(async () => {
  for (const [c, d] of dbs) await c.db(d).dropDatabase().catch(() => undefined);
  await src.close();
  await dst.close();
});

const DOC = (): Document => ({
  _id: new Long(7),
  i32: new Int32(18),
  smallLong: Long.fromNumber(5),
  bigLong: Long.fromNumber(2 ** 40),
  hugeLong: Long.fromString('9007199254740993'),
  wholeDouble: new Double(1402),
  zero: new Double(0),
  frac: new Double(0.5),
  dec: Decimal128.fromString('12345678901234567890.123456789'),
  re: new BSONRegExp('^a.c', 'imx'),
  nested: { arr: [new Long(1), new Double(2), new Int32(3)] },
});

function typesOf(d: Document): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d)) out[k] = (v as { _bsontype?: string })._bsontype ?? typeof v;
  return out;
}

describe('BSON types end to end', () => {
  it('the full sync reads every number as its BSON type; Canal JSON writes $numberLong, 1402.0, $numberDecimal', async () => {
    const db = name(src, 'types_src');
    await src.db(db).collection('c').insertOne(DOC());
    const source = new MongoSource({ taskId: 't', uri: RS_URI, method: 'changeStreams', fullDocument: false, select: (r) => r.database === db, databases: [db], chunkSize: 1000 });
    try {
      const plan = await source.prepare({ full: true });
      const chunk = plan.chunks[0];
      if (!chunk) throw new Error('no chunk');
      const events = await lastValueFrom(source.snapshot(chunk).pipe(toArray()));
      const doc = events[0]?.after as Document;
      expect(typesOf(doc)).toMatchObject({ _id: 'Long', i32: 'Int32', smallLong: 'Long', bigLong: 'Long', hugeLong: 'Long', wholeDouble: 'Double', zero: 'Double', frac: 'Double', dec: 'Decimal128', re: 'BSONRegExp' });
      const json = documentToJson(doc);
      expect(json).toBe(
        '{"_id":{"$numberLong":"7"},"i32":18,"smallLong":{"$numberLong":"5"},"bigLong":{"$numberLong":"1099511627776"},' +
          '"hugeLong":{"$numberLong":"9007199254740993"},"wholeDouble":1402.0,"zero":0.0,"frac":0.5,' +
          '"dec":{"$numberDecimal":"12345678901234567890.123456789"},"re":{"$regularExpression":{"pattern":"^a.c","options":"imx"}},' +
          '"nested":{"arr":[{"$numberLong":"1"},2.0,3]}}',
      );
    } finally {
      await source.close();
    }
  });

  it('into MongoDB a small int64 stays Int64, 2^40 stays Int64, 1402.0 stays Double; verify is equal', async () => {
    const db = name(src, 'types_e2e');
    await src.db(db).collection('c').insertOne(DOC());
    const source = new MongoSource({ taskId: 't', uri: RS_URI, method: 'changeStreams', fullDocument: false, select: (r) => r.database === db, databases: [db], chunkSize: 1000 });
    const sink = new MongoSink({ uri: DEST_URI, conflictMode: 'precheckAndReport' });
    dbs.push([dst, db]);
    try {
      const plan = await source.prepare({ full: true });
      const chunk = plan.chunks[0];
      if (!chunk) throw new Error('no chunk');
      const events: ChangeEvent[] = (await lastValueFrom(source.snapshot(chunk).pipe(toArray()))).map((e, n) => ({ ...e, position: new SequencePosition(BigInt(n + 1)) }));
      await sink.write(createBatch(events, 0, () => undefined));
      const back = await dst.db(db).collection('c').findOne({}, RAW);
      expect(typesOf(back ?? {})).toMatchObject({ _id: 'Long', i32: 'Int32', smallLong: 'Long', bigLong: 'Long', wholeDouble: 'Double', zero: 'Double', dec: 'Decimal128', re: 'BSONRegExp' });
      expect(typesOf((back?.nested as Document).arr as Document)).toEqual({ 0: 'Long', 1: 'Double', 2: 'Int32' });
      const report = await verifyCollections(src, dst, [{ source: { database: db, collection: 'c' } }]);
      expect(report.equal).toBe(true);
    } finally {
      await source.close();
      await sink.close();
    }
  });

  it('verify reports a document whose number changed type', async () => {
    const db = name(src, 'types_verify');
    dbs.push([dst, db]);
    await src.db(db).collection('c').insertMany([{ _id: 1 as never, n: Long.fromNumber(5), d: new Double(1402) }, { _id: 2 as never, n: new Int32(1) }]);
    await dst.db(db).collection('c').insertMany([{ _id: 1 as never, n: new Int32(5), d: new Int32(1402) }, { _id: 2 as never, n: new Int32(1) }]);
    const report = await verifyCollections(src, dst, [{ source: { database: db, collection: 'c' } }]);
    expect(report.equal).toBe(false);
    expect(report.collections[0]?.contentDiffers).toEqual(['1']);
  });
});
