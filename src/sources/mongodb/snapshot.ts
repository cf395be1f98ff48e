import { Observable } from 'rxjs';
import { BSON, type Document, type MongoClient } from 'mongodb';

const { EJSON } = BSON;
import type { FlowControl, SnapshotChunk } from '../../core/contracts.js';
import type { ChangeEvent, Row, TableShape } from '../../core/events.js';
import type { Position } from '../../core/position.js';
import { classifyError } from '../../core/errors.js';
import { RAW_BYTES, decodeDocument } from './rawBson.js';

/** An `_id` range of one collection; bounds in canonical extended JSON so the chunk stays JSON. */
export interface IdRangeBounds {
  database: string;
  collection: string;
  /** Inclusive lower bound; absent for the first chunk. */
  gte?: Document;
  /** Exclusive upper bound; absent for the last chunk. */
  lt?: Document;
}

function bsonType(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return (v as { _bsontype?: string })._bsontype ?? (v instanceof Date ? 'Date' : Array.isArray(v) ? 'array' : 'object');
  return typeof v === 'number' || typeof v === 'bigint' ? 'number' : typeof v;
}

/**
 * Splits a collection into `_id` ranges of about `chunkSize` documents: split points are read with
 * a sorted `_id` scan (`skip`), no `$sample`. MongoDB compares values of different BSON types by
 * type bracket, so a range query only sees one type: when the smallest and largest `_id` differ in
 * type the collection is read as one chunk.
 */
export async function planIdRanges(client: MongoClient, database: string, collection: string, chunkSize: number): Promise<{ bounds: IdRangeBounds[]; count: number }> {
  const coll = client.db(database).collection(collection);
  const count = await coll.estimatedDocumentCount();
  const whole = [{ database, collection }];
  if (count <= chunkSize) return { bounds: whole, count };
  const min = await coll.findOne({}, { sort: { _id: 1 }, projection: { _id: 1 } });
  const max = await coll.findOne({}, { sort: { _id: -1 }, projection: { _id: 1 } });
  const type = bsonType(min?._id);
  if (!min || !max || type !== bsonType(max._id) || type === 'object' || type === 'array') return { bounds: whole, count };
  const splits: unknown[] = [];
  for (let skip = chunkSize; skip < count; skip += chunkSize) {
    const d = await coll.find({}, { sort: { _id: 1 }, projection: { _id: 1 }, skip, limit: 1 }).next();
    if (!d) break;
    splits.push(d._id);
  }
  const enc = (v: unknown) => EJSON.serialize({ v }, { relaxed: false });
  const bounds: IdRangeBounds[] = [];
  let lower: unknown;
  for (const s of [...splits, undefined]) {
    const b: IdRangeBounds = { database, collection };
    if (lower !== undefined) b.gte = enc(lower);
    if (s !== undefined) b.lt = enc(s);
    bounds.push(b);
    lower = s;
  }
  return { bounds, count };
}

export function rangeFilter(b: IdRangeBounds): Document {
  const f: Document = {};
  if (b.gte) f.$gte = (EJSON.deserialize(b.gte, { relaxed: false }) as { v: unknown }).v;
  if (b.lt) f.$lt = (EJSON.deserialize(b.lt, { relaxed: false }) as { v: unknown }).v;
  return Object.keys(f).length > 0 ? { _id: f } : {};
}

/** Reads one `_id` range as snapshot inserts, waiting for room before each fetched batch. */
export function readIdRange(client: MongoClient, chunk: SnapshotChunk, shape: TableShape, position: Position, flow: FlowControl, batchSize: number): Observable<ChangeEvent> {
  const b = chunk.bounds as IdRangeBounds;
  return new Observable<ChangeEvent>((sub) => {
    let stopped = false;
    // Majority read concern: the copy never holds a write a failover could roll back (servers without it ignore the option).
    const cursor = client.db(b.database).collection(b.collection).find(rangeFilter(b), { sort: { _id: 1 }, batchSize, readConcern: { level: 'majority' }, ...RAW_BYTES });
    const run = async () => {
      const now = Date.now();
      for (;;) {
        if (cursor.bufferedCount() === 0) {
          const w = flow.waitForRoom();
          if (w) await w;
        }
        if (stopped) return;
        // Documents as BSON bytes, decoded here: each one's size is its byte length.
        const raw = (await cursor.tryNext()) as Uint8Array | null;
        if (!raw) return;
        sub.next({ op: 'insert', shape, snapshot: true, before: null, after: decodeDocument<Row>(raw), commitTime: now, position, bytes: raw.length });
      }
    };
    run()
      .then(() => sub.complete())
      .catch((err: unknown) => {
        if (!stopped) sub.error(classifyError(err, `full sync of ${b.database}.${b.collection} chunk ${chunk.id}`));
      })
      .finally(() => void cursor.close().catch(() => undefined));
    return () => {
      stopped = true;
    };
  });
}
