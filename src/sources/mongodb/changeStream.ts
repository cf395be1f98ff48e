import type { Document, Timestamp } from 'mongodb';
import type { ChangeEvent, Row, TableRef, TableShape } from '../../core/events.js';
import { parseUpdate, type MongoPatch, type OplogContext } from './oplog.js';
import { ResumeTokenPosition } from './position.js';
import { bsonNumber, bsonSize } from './shapes.js';

/** A change stream event, as far as Tributary reads it (see the MongoDB change events reference). */
export interface ChangeStreamEvent {
  _id: { _data: string } | Document;
  operationType: string;
  clusterTime?: Timestamp;
  wallTime?: Date;
  ns?: { db: string; coll?: string };
  to?: { db: string; coll: string };
  documentKey?: Document;
  fullDocument?: Document | null;
  updateDescription?: {
    updatedFields?: Document;
    removedFields?: string[];
    truncatedArrays?: Array<{ field: string; newSize: unknown }>;
  };
  lsid?: { id?: unknown };
  txnNumber?: unknown;
}

export interface ChangeStreamContext extends OplogContext {
  /** Whether the task asked for the whole document after updates (`fullDocument: 'updateLookup'`). */
  fullDocument: boolean;
  /** The collection a per-collection stream watches, for servers whose events lack `ns`. */
  defaultNs?: TableRef;
}

/** The `_data` string of a resume token. */
export function tokenData(id: unknown): string {
  const d = (id as { _data?: unknown } | null)?._data;
  if (typeof d === 'string') return d;
  return JSON.stringify(id);
}

/** Thrown for change events that cannot be turned into a change without losing information. */
export class UnreadableChangeError extends Error {}

/**
 * Converts a change event. Returns null for collections that are not selected and for events that
 * carry no data change (e.g. `invalidate` is reported by the reader, not here).
 *
 * Updates: with `fullDocument` requested and present, `after` is the document; otherwise (not
 * requested, or the lookup found nothing, e.g. the document moved or was deleted since) the partial
 * form `patch` from `updateDescription`. `replace` is an update with the new document as `after`.
 */
export function convertChangeEvent(ev: ChangeStreamEvent, ctx: ChangeStreamContext): ChangeEvent | null {
  const ct = ev.clusterTime;
  if (!ct) throw new UnreadableChangeError(`change event ${tokenData(ev._id)} has no clusterTime`);
  const ref: TableRef = ev.ns ? { database: ev.ns.db, table: ev.ns.coll ?? '' } : (ctx.defaultNs ?? { database: '', table: '' });
  const position = ResumeTokenPosition.of(tokenData(ev._id), ct, ctx.defaultNs ? `${ref.database}.${ref.table}` : undefined);
  const commitTime = ev.wallTime instanceof Date ? ev.wallTime.getTime() : (ct.high >>> 0) * 1000;
  const tx = ev.txnNumber !== undefined ? { id: `${String((ev.lsid?.id as { toHexString?: (d?: boolean) => string } | undefined)?.toHexString?.(true) ?? '')}:${String(ev.txnNumber as number | bigint)}`, seq: 0 } : undefined;
  // Row changes built field by field, in the oplog reader's order (one object shape downstream).
  const event = (op: 'insert' | 'update' | 'delete', shape: TableShape, before: Row | null, after: Row | null, bytes: number, patch?: MongoPatch): ChangeEvent => {
    const e: ChangeEvent = { op, shape, snapshot: false, before, after, commitTime, position, bytes };
    if (patch) e.patch = patch;
    if (tx) e.tx = tx;
    return e;
  };

  const base = () => ({ snapshot: false, commitTime, position, ...(tx ? { tx } : {}) });

  const crud = (shape: TableShape): ChangeEvent | null => {
    const key = ev.documentKey as Row | undefined;
    switch (ev.operationType) {
      case 'insert':
        return event('insert', shape, null, (ev.fullDocument ?? key ?? null) as Row | null, bsonSize(ev.fullDocument));
      case 'delete':
        return event('delete', shape, key ?? null, null, bsonSize(key));
      case 'replace':
        return event('update', shape, keyOf(key, ev.fullDocument), (ev.fullDocument ?? null) as Row | null, bsonSize(ev.fullDocument));
      case 'update': {
        const full = ev.fullDocument ?? null;
        const ud = ev.updateDescription;
        // The key comes from documentKey; `fullDocument` is only the looked-up document, which is
        // gone (null, or on wire-compatible servers something without `_id`) when the document
        // was deleted or moved since. `before` null: the reader must find the key (see stream.ts).
        const docKey = isKey(key) ? key : null;
        const wholeDoc = full !== null && '_id' in full ? full : null;
        const before = docKey ?? (wholeDoc ? { _id: wholeDoc._id as unknown } : null);
        if (ud === undefined) {
          // Real MongoDB always sends updateDescription. Some wire-compatible servers do not, and put
          // the update spec in documentKey: the whole document when the lookup found it, else the spec.
          if (wholeDoc) return event('update', shape, before, wholeDoc as Row, bsonSize(wholeDoc));
          const spec = key && Object.keys(key).some((k) => k.startsWith('$')) ? parseUpdate(key) : null;
          if (spec?.kind === 'patch') return event('update', shape, before, null, bsonSize(key), spec.patch);
          // A replacement reported as an update, documentKey = the replacement (without `_id`).
          if (key && !spec && !('_id' in key)) return event('update', shape, before, key as Row, bsonSize(key));
          throw new UnreadableChangeError(
            `update event ${tokenData(ev._id)} on ${ref.database}.${ref.table} has neither updateDescription nor a looked-up document`,
          );
        }
        if (ctx.fullDocument && wholeDoc) {
          return event('update', shape, before, wholeDoc as Row, bsonSize(wholeDoc));
        }
        const patch: MongoPatch = {};
        if (ud.updatedFields && Object.keys(ud.updatedFields).length > 0) patch.set = ud.updatedFields as Row;
        if (ud.removedFields && ud.removedFields.length > 0) patch.unset = ud.removedFields;
        if (ud.truncatedArrays && ud.truncatedArrays.length > 0) patch.truncatedArrays = ud.truncatedArrays.map((t) => ({ field: t.field, newSize: bsonNumber(t.newSize) ?? 0 }));
        return event('update', shape, before, null, bsonSize(ud as Document) + bsonSize(key), patch);
      }
      default:
        return null;
    }
  };

  switch (ev.operationType) {
    case 'insert':
    case 'delete':
    case 'replace':
    case 'update': {
      const shape = ctx.shapeFor(ref);
      return shape ? crud(shape) : null;
    }
    case 'drop': {
      const shape = ctx.shapeFor(ref);
      return shape ? { ...base(), op: 'ddl', shape, ddl: { command: { drop: ref.table } }, bytes: 0 } : null;
    }
    case 'rename': {
      const to = ev.to ? { database: ev.to.db, table: ev.to.coll } : null;
      const shape = ctx.shapeFor(ref) ?? (to ? ctx.shapeFor(to) : null);
      if (!shape) return null;
      const command = { renameCollection: `${ref.database}.${ref.table}`, to: to ? `${to.database}.${to.table}` : null };
      return { ...base(), op: 'ddl', shape, ddl: { command }, bytes: 0 };
    }
    case 'dropDatabase': {
      if (!ctx.databaseSelected(ref.database)) return null;
      return { ...base(), op: 'ddl', shape: { ref: { database: ref.database, table: '' }, columns: [], key: [] }, ddl: { command: { dropDatabase: 1 } }, bytes: 0 };
    }
    default:
      return null;
  }
}

/** Whether a documentKey is one (`_id` plus shard key fields), not an update spec. */
function isKey(key: Document | undefined): key is Row {
  return key !== undefined && '_id' in key && !Object.keys(key).some((k) => k.startsWith('$'));
}

/** The document key: `documentKey` when it names `_id`, else the `_id` of the full document. */
function keyOf(key: Document | undefined, full: Document | null | undefined): Row | null {
  if (key && '_id' in key && !Object.keys(key).some((k) => k.startsWith('$'))) return key as Row;
  if (full && '_id' in full) return { _id: full._id as unknown };
  return key ? (key as Row) : null;
}
