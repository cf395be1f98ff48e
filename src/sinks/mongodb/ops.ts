/**
 * Pure translation of change events into MongoDB write models, and the lane partitioning that
 * lets the writer replay documents in parallel while keeping each `_id`'s changes in order.
 * No I/O here: everything is unit-tested without a server.
 */
import { BSON } from 'mongodb';
import type { AnyBulkWriteOperation, Document } from 'mongodb';
import { FatalError, OversizedRecordError, qualifiedName } from '../../core/index.js';
import type { ChangeEvent, Row } from '../../core/index.js';

/** MongoDB's BSON document limit. */
export const MAX_BSON_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** An update would change a shard key of a sharded destination collection. */
export class ShardKeyUpdateError extends FatalError {
  constructor(message: string, details: { object: string; field: string; fix: string }) {
    super('SHARD_KEY_UPDATE', message, details);
  }
}

/** What one event does at the destination, before it is grouped into lanes. */
export type WriteKind = 'insert' | 'replace' | 'update' | 'delete';

export interface WriteOp {
  kind: WriteKind;
  /** `database.collection` at the destination. */
  ns: string;
  id: unknown;
  model: AnyBulkWriteOperation<Document>;
  /** True for a snapshot insert: a duplicate `_id` is a conflict, not an upsert. */
  snapshot: boolean;
}

/** Collection-wide operations that must not overlap with document writes (DDL, truncate). */
export interface BarrierOp {
  kind: 'ddl' | 'truncate';
  database: string;
  collection: string;
  command?: Document;
}

export type Translated = { type: 'write'; op: WriteOp } | { type: 'barrier'; op: BarrierOp } | { type: 'skip' };

export interface TranslateOptions {
  /** Shard key fields of the destination collection, when it is sharded. */
  shardKey?: readonly string[] | undefined;
  maxDocumentBytes?: number;
  /**
   * The task resumes from its checkpoint: full-sync inserts may repeat documents an earlier run
   * already copied, so they upsert by `_id` (replace) instead of inserting, like incremental replay.
   */
  replay?: boolean;
}

/** A printable form of an `_id` for messages and reports (canonical Extended JSON). */
export function formatId(id: unknown): string {
  if (typeof id === 'string') return JSON.stringify(id);
  try {
    return BSON.EJSON.stringify(id as Document, { relaxed: true });
  } catch {
    return String(id);
  }
}

function checkSize(doc: Document, ns: string, id: unknown, limit: number, what: string): void {
  const size = BSON.calculateObjectSize(doc);
  if (size > limit) {
    throw new OversizedRecordError(
      `${what} of ${ns} with _id ${formatId(id)} is ${size} bytes, over the ${limit}-byte BSON document limit of MongoDB.`,
      {
        object: ns,
        field: '_id',
        fix: 'Reduce the document at the source (or exclude it with a filter); MongoDB cannot store documents over 16 MB.',
      },
    );
  }
}

function idOf(e: ChangeEvent, ns: string): unknown {
  const id = e.after?._id ?? e.before?._id;
  if (id === undefined) {
    throw new FatalError('MISSING_ID', `A ${e.op} event for ${ns} carries no _id in its before or after image.`, {
      object: ns,
      field: '_id',
      fix: 'MongoDB destinations need the document key: make the source emit `_id` (documentKey) with every change.',
    });
  }
  return id;
}

function getPath(doc: Row | null | undefined, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return BSON.EJSON.stringify({ v: a } as Document, { relaxed: false }) === BSON.EJSON.stringify({ v: b } as Document, { relaxed: false });
}

/** True when `field` (a patch path) touches shard-key path `key`: equal, a parent or a child of it. */
function touches(field: string, key: string): boolean {
  return field === key || key.startsWith(`${field}.`) || field.startsWith(`${key}.`);
}

function shardKeyError(ns: string, id: unknown, field: string): ShardKeyUpdateError {
  return new ShardKeyUpdateError(
    `An update of ${ns} with _id ${formatId(id)} changes shard key field "${field}", which a sharded destination does not allow.`,
    {
      object: ns,
      field,
      fix: 'Do not modify shard key values at the source during synchronization, or shard the destination collection on fields that never change.',
    },
  );
}

/** Filter by `_id` plus the shard key values the document carries (what mongos needs to route). */
function keyFilter(id: unknown, doc: Row | null | undefined, shardKey: readonly string[] | undefined): Document {
  const filter: Document = { _id: id };
  if (shardKey && doc) {
    for (const k of shardKey) {
      if (k === '_id') continue;
      const v = getPath(doc, k);
      if (v !== undefined) filter[k] = v;
    }
  }
  return filter;
}

/**
 * One change event → what the destination must do. Throws OversizedRecordError for documents over
 * the BSON limit and ShardKeyUpdateError for updates that would move a document between shards.
 */
export function translateEvent(e: ChangeEvent, opts: TranslateOptions = {}): Translated {
  const ns = qualifiedName({ database: e.shape.ref.database, table: e.shape.ref.table });
  const limit = opts.maxDocumentBytes ?? MAX_BSON_DOCUMENT_BYTES;
  const shardKey = opts.shardKey;
  switch (e.op) {
    case 'heartbeat':
      return { type: 'skip' };
    case 'ddl': {
      const command = (e.ddl?.command ?? undefined) as Document | undefined;
      if (!command || typeof command !== 'object') {
        throw new FatalError('DDL_UNSUPPORTED', `A DDL event for ${ns} carries no MongoDB command document (ddl.command).`, {
          object: ns,
          field: 'ddl.command',
          fix: 'MongoDB destinations replay DDL from the command document of the oplog entry; make the source fill ddl.command.',
        });
      }
      return { type: 'barrier', op: { kind: 'ddl', database: e.shape.ref.database, collection: e.shape.ref.table, command } };
    }
    case 'truncate':
      return { type: 'barrier', op: { kind: 'truncate', database: e.shape.ref.database, collection: e.shape.ref.table } };
    case 'insert': {
      const doc = e.after;
      if (!doc) throw new FatalError('MISSING_IMAGE', `An insert into ${ns} carries no document.`, { object: ns, field: 'after' });
      const id = idOf(e, ns);
      checkSize(doc, ns, id, limit, 'A document');
      if (e.snapshot && opts.replay === true) {
        return { type: 'write', op: { kind: 'replace', ns, id, snapshot: true, model: { replaceOne: { filter: keyFilter(id, doc, shardKey), replacement: doc, upsert: true } } } };
      }
      if (e.snapshot) {
        return { type: 'write', op: { kind: 'insert', ns, id, snapshot: true, model: { insertOne: { document: doc } } } };
      }
      return {
        type: 'write',
        op: {
          kind: 'replace',
          ns,
          id,
          snapshot: false,
          model: { replaceOne: { filter: keyFilter(id, doc, shardKey), replacement: doc, upsert: true } },
        },
      };
    }
    case 'update': {
      const id = idOf(e, ns);
      if (e.after) {
        checkSize(e.after, ns, id, limit, 'A document');
        if (shardKey && e.before) {
          for (const k of shardKey) {
            if (!sameValue(getPath(e.before, k), getPath(e.after, k))) throw shardKeyError(ns, id, k);
          }
        }
        return {
          type: 'write',
          op: {
            kind: 'replace',
            ns,
            id,
            snapshot: false,
            model: { replaceOne: { filter: keyFilter(id, e.before ?? e.after, shardKey), replacement: e.after, upsert: true } },
          },
        };
      }
      if (e.patch) {
        const set = e.patch.set ?? {};
        const unset = e.patch.unset ?? [];
        if (shardKey) {
          for (const k of shardKey) {
            for (const f of Object.keys(set)) {
              // $set of a shard key to the value it already has (known from `before`) is not a change.
              if (touches(f, k) && !(f === k && e.before && getPath(e.before, k) !== undefined && sameValue(getPath(e.before, k), set[f]))) {
                throw shardKeyError(ns, id, k);
              }
            }
            for (const f of unset) if (touches(f, k)) throw shardKeyError(ns, id, k);
          }
        }
        const update: Document = {};
        if (Object.keys(set).length > 0) {
          checkSize(set, ns, id, limit, 'The $set of an update');
          update.$set = set;
        }
        if (unset.length > 0) {
          const u: Document = {};
          for (const f of unset) u[f] = '';
          update.$unset = u;
        }
        if (Object.keys(update).length === 0) return { type: 'skip' };
        // No upsert: a partial update of a missing document cannot rebuild it (seed 001, TTL FAQ).
        return {
          type: 'write',
          op: { kind: 'update', ns, id, snapshot: false, model: { updateOne: { filter: keyFilter(id, e.before, shardKey), update } } },
        };
      }
      throw new FatalError('MISSING_IMAGE', `An update of ${ns} with _id ${formatId(id)} carries neither a full document nor a patch.`, {
        object: ns,
        field: 'after',
        fix: 'Make the source emit the full document (updateLookup) or the $set/$unset of the update.',
      });
    }
    case 'delete': {
      const id = idOf(e, ns);
      return {
        type: 'write',
        op: { kind: 'delete', ns, id, snapshot: false, model: { deleteOne: { filter: keyFilter(id, e.before, shardKey) } } },
      };
    }
  }
}

/**
 * A stable key for an `_id`, equal for values MongoDB treats as the same `_id` (1, 1.0,
 * NumberLong(1) all give "n:1"), used only to pick a lane.
 */
export function idKey(id: unknown): string {
  if (typeof id === 'string') return `s:${id}`;
  if (typeof id === 'number' || typeof id === 'bigint') return `n:${String(id)}`;
  if (id !== null && typeof id === 'object') {
    const b = (id as { _bsontype?: string })._bsontype;
    if (b === 'ObjectId') return `o:${(id as BSON.ObjectId).toHexString()}`;
    if (b === 'Int32' || b === 'Double') return `n:${String((id as BSON.Int32).value)}`;
    if (b === 'Long') return `n:${(id as BSON.Long).toString()}`;
  }
  try {
    return `e:${BSON.EJSON.stringify({ v: id } as Document, { relaxed: false })}`;
  } catch {
    return `x:${String(id)}`;
  }
}

/** 32-bit FNV-1a over the UTF-16 code units of a string. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function laneOf(id: unknown, lanes: number): number {
  return lanes <= 1 ? 0 : fnv1a(idKey(id)) % lanes;
}

/** True when no two ops share an `_id` (by `idKey`): their relative order cannot change the outcome. */
export function distinctIds(ops: readonly WriteOp[]): boolean {
  const seen = new Set<string>();
  for (const op of ops) {
    const k = idKey(op.id);
    if (seen.has(k)) return false;
    seen.add(k);
  }
  return true;
}

/** Lanes for a flush of `ops` writes: at most `parallelism`, and no more than one per `minOpsPerLane` writes. */
export function laneCount(ops: number, parallelism: number, minOpsPerLane: number): number {
  return Math.max(1, Math.min(parallelism, Math.floor(ops / Math.max(1, minOpsPerLane))));
}

/** One ordered run of writes against one collection. */
export interface Lane {
  ns: string;
  lane: number;
  ops: WriteOp[];
}

/**
 * Splits writes into lanes: per collection, by hash of `_id` into `lanes` lanes (one lane for
 * collections in `singleThreaded`). Every op of one `_id` lands in the same lane, in input order.
 */
export function partitionLanes(ops: readonly WriteOp[], lanes: number, singleThreaded: (ns: string) => boolean): Lane[] {
  const byKey = new Map<string, Lane>();
  const out: Lane[] = [];
  for (const op of ops) {
    const n = singleThreaded(op.ns) ? 0 : laneOf(op.id, lanes);
    const key = `${n}\u0000${op.ns}`;
    let lane = byKey.get(key);
    if (!lane) {
      lane = { ns: op.ns, lane: n, ops: [] };
      byKey.set(key, lane);
      out.push(lane);
    }
    lane.ops.push(op);
  }
  return out;
}
