import type { Document, Timestamp } from 'mongodb';
import type { ChangeEvent, Row, TableRef, TableShape } from '../../core/events.js';
import { OplogPosition } from './position.js';
import { HEARTBEAT_SHAPE, bsonNumber, bsonSize, splitNs } from './shapes.js';

/** One `local.oplog.rs` entry, as far as Tributary reads it. */
export interface OplogEntry {
  ts: Timestamp;
  /** The election term of the primary that wrote the entry. */
  t?: unknown;
  op: string;
  ns: string;
  o: Document;
  o2?: Document;
  wall?: Date;
  ui?: unknown;
  lsid?: { id?: { toHexString?: (dashes?: boolean) => string } | unknown; uid?: unknown };
  txnNumber?: unknown;
  prevOpTime?: { ts: Timestamp; t?: unknown };
  partialTxn?: boolean;
  prepare?: boolean;
  /** Written by a chunk migration between shards: not a change of the data. */
  fromMigrate?: boolean;
}

/** A `$set`/`$unset` patch with dotted paths. Array truncations (`$v: 2` `l` entries) apply first. */
export interface MongoPatch {
  set?: Row;
  unset?: readonly string[];
  truncatedArrays?: ReadonlyArray<{ field: string; newSize: number }>;
}

/** What an update's `o` means. */
export type UpdateForm =
  | { kind: 'patch'; patch: MongoPatch }
  | { kind: 'replace'; doc: Document }
  /** Operators that do not carry resulting values (`$inc`, `$push`...): only wire-compatible servers log these. */
  | { kind: 'unsupported'; operators: string[] };

/** DDL commands synchronized from the oplog (`op: 'c'`). */
export const DDL_COMMANDS: ReadonlySet<string> = new Set([
  'create',
  'createIndexes',
  'commitIndexBuild',
  'drop',
  'dropDatabase',
  'renameCollection',
  'dropIndexes',
  'deleteIndexes',
  'collMod',
]);

interface MutablePatch {
  set: Row;
  unset: string[];
  truncatedArrays: Array<{ field: string; newSize: number }>;
}

function walkDocDiff(diff: Document, prefix: string, out: MutablePatch): void {
  for (const key of Object.keys(diff)) {
    const v: unknown = diff[key];
    if (key === 'u' || key === 'i') {
      for (const [k, val] of Object.entries(v as Document)) out.set[prefix + k] = val;
    } else if (key === 'd') {
      for (const k of Object.keys(v as Document)) out.unset.push(prefix + k);
    } else if (key.startsWith('s')) {
      walkSubDiff(v as Document, prefix + key.slice(1), out);
    }
  }
}

function walkSubDiff(sub: Document, path: string, out: MutablePatch): void {
  if (sub.a === true) walkArrayDiff(sub, path, out);
  else walkDocDiff(sub, `${path}.`, out);
}

function walkArrayDiff(diff: Document, path: string, out: MutablePatch): void {
  const l = bsonNumber(diff.l);
  if (l !== undefined) out.truncatedArrays.push({ field: path, newSize: l });
  for (const key of Object.keys(diff)) {
    if (key === 'a' || key === 'l') continue;
    const kind = key[0];
    const index = key.slice(1);
    if (!/^\d+$/.test(index)) continue;
    if (kind === 'u') out.set[`${path}.${index}`] = diff[key];
    else if (kind === 's') walkSubDiff(diff[key] as Document, `${path}.${index}`, out);
  }
}

function finish(p: MutablePatch): MongoPatch {
  const out: MongoPatch = {};
  if (Object.keys(p.set).length > 0) out.set = p.set;
  if (p.unset.length > 0) out.unset = p.unset;
  if (p.truncatedArrays.length > 0) out.truncatedArrays = p.truncatedArrays;
  return out;
}

/** Turns a MongoDB 5.0+ `$v: 2` diff (`o.diff`) into `$set`/`$unset` with dotted paths. */
export function diffToPatch(diff: Document): MongoPatch {
  const p: MutablePatch = { set: {}, unset: [], truncatedArrays: [] };
  walkDocDiff(diff, '', p);
  return finish(p);
}

/** Classifies an update entry's `o`: `$v: 2` diff, classic `$set`/`$unset`, or a replacement. */
export function parseUpdate(o: Document): UpdateForm {
  if (bsonNumber(o.$v) === 2 || (o.diff !== undefined && typeof o.diff === 'object' && Object.keys(o).every((k) => k === '$v' || k === 'diff'))) {
    return { kind: 'patch', patch: diffToPatch((o.diff ?? {}) as Document) };
  }
  const keys = Object.keys(o);
  const operators = keys.filter((k) => k.startsWith('$') && k !== '$v');
  if (operators.length === 0) return { kind: 'replace', doc: o };
  const other = operators.filter((k) => k !== '$set' && k !== '$unset');
  if (other.length > 0) return { kind: 'unsupported', operators: other };
  const p: MutablePatch = { set: {}, unset: [], truncatedArrays: [] };
  if (o.$set) Object.assign(p.set, o.$set as Document);
  if (o.$unset) p.unset.push(...Object.keys(o.$unset as Document));
  return { kind: 'patch', patch: finish(p) };
}

/** How a conversion learns which collections are selected and their shapes. */
export interface OplogContext {
  /** The collection's shape, or null when it is not selected. */
  shapeFor(ref: TableRef): TableShape | null;
  /** Whether a database is covered (for `dropDatabase`). */
  databaseSelected(database: string): boolean;
}

/** A converted event; `lookup` asks the reader to fetch the current document (see UpdateForm 'unsupported'). */
export interface OplogChange {
  event: ChangeEvent;
  lookup?: { ref: TableRef; id: unknown; operators: string[] };
}

function commitTimeOf(e: OplogEntry): number {
  return e.wall instanceof Date ? e.wall.getTime() : (e.ts.high >>> 0) * 1000;
}

function txIdOf(e: OplogEntry): string {
  const id = e.lsid?.id as { toHexString?: (d?: boolean) => string; toString?: () => string } | undefined;
  const session = id?.toHexString ? id.toHexString(true) : undefined;
  const txn = e.txnNumber === undefined ? undefined : String(e.txnNumber as number | bigint);
  return session !== undefined && txn !== undefined ? `${session}:${txn}` : `${e.ts.high >>> 0}:${e.ts.low >>> 0}`;
}

/** Converts one CRUD entry (`i`, `u`, `d`) to an event, or null when its collection is not selected. */
function convertCrud(e: OplogEntry, ctx: OplogContext, position: OplogPosition, commitTime: number, docBytes: number | undefined): OplogChange | null {
  const ref = splitNs(e.ns);
  const shape = ctx.shapeFor(ref);
  if (!shape) return null;
  const bytes = docBytes ?? bsonSize(e.o) + bsonSize(e.o2);
  switch (e.op) {
    case 'i':
      return { event: { op: 'insert', shape, snapshot: false, before: null, after: e.o as Row, commitTime, position, bytes } };
    case 'd':
      return { event: { op: 'delete', shape, snapshot: false, before: e.o as Row, after: null, commitTime, position, bytes } };
    case 'u': {
      const key = (e.o2 ?? { _id: (e.o as Document)._id }) as Row;
      const form = parseUpdate(e.o);
      if (form.kind === 'replace') {
        return { event: { op: 'update', shape, snapshot: false, before: key, after: form.doc as Row, commitTime, position, bytes } };
      }
      if (form.kind === 'patch') {
        return { event: { op: 'update', shape, snapshot: false, before: key, after: null, patch: form.patch, commitTime, position, bytes } };
      }
      return {
        event: { op: 'update', shape, snapshot: false, before: key, after: null, commitTime, position, bytes },
        lookup: { ref, id: key._id, operators: form.operators },
      };
    }
    default:
      return null;
  }
}

function ddlTarget(e: OplogEntry, ctx: OplogContext): TableShape | null {
  const database = splitNs(e.ns).database;
  const cmd = e.o;
  const name = Object.keys(cmd)[0];
  if (name === undefined) return null;
  if (name === 'dropDatabase') return ctx.databaseSelected(database) ? (ctx.shapeFor({ database, table: '' }) ?? { ref: { database, table: '' }, columns: [], key: [] }) : null;
  if (name === 'renameCollection') {
    const from = splitNs(String(cmd.renameCollection));
    const to = splitNs(String(cmd.to));
    return ctx.shapeFor(from) ?? ctx.shapeFor(to);
  }
  if (name === 'commitIndexBuild' || name === 'createIndexes' || name === 'dropIndexes' || name === 'deleteIndexes' || name === 'create' || name === 'drop' || name === 'collMod') {
    return ctx.shapeFor({ database, table: String(cmd[name]) });
  }
  return null;
}

/**
 * Converts one oplog entry to change events. `applyOps` entries (transactions) become one event
 * per selected operation, each with `tx` and its rank in the entry as position `seq`. Entries of
 * collections that are not selected give nothing. Inserts carry the document as `after`; updates
 * carry `patch` (`$set`/`$unset`, from either the classic form or a `$v: 2` diff) or `after` for a
 * replacement; deletes carry the key as `before`. DDL commands keep the command document.
 * Entries flagged `fromMigrate` (chunk migrations on a shard's oplog) give nothing.
 * `docBytes` is the BSON size of the entry's `o` plus `o2` when the reader read it off the entry's
 * bytes (`oplogDocumentBytes`); otherwise it is measured on the decoded documents.
 */
export function convertOplogEntry(e: OplogEntry, ctx: OplogContext, skipThroughSeq = -1, docBytes?: number): OplogChange[] {
  // Migration traffic (a shard's copy of a moved chunk, or the donor's cleanup) changes no data.
  if (e.fromMigrate === true && e.op !== 'n') return [];
  const commitTime = commitTimeOf(e);
  switch (e.op) {
    case 'i':
    case 'u':
    case 'd': {
      const c = convertCrud(e, ctx, OplogPosition.of(e.ts), commitTime, docBytes);
      return c ? [c] : [];
    }
    case 'n':
      return [{ event: { op: 'heartbeat', shape: HEARTBEAT_SHAPE, snapshot: false, commitTime, position: OplogPosition.of(e.ts), bytes: 0 } }];
    case 'c': {
      const ops = e.o.applyOps as OplogEntry[] | undefined;
      if (Array.isArray(ops)) {
        if (e.prepare === true) return []; // applied by its commitTransaction entry
        const id = txIdOf(e);
        const out: OplogChange[] = [];
        ops.forEach((inner, seq) => {
          if (seq <= skipThroughSeq) return;
          const c = convertOplogEntry({ ...inner, ts: e.ts, ...(e.wall ? { wall: e.wall } : {}) }, ctx);
          for (const x of c) {
            x.event.position = OplogPosition.of(e.ts, seq);
            if (x.event.op !== 'heartbeat') x.event.tx = { id, seq, size: ops.length };
            out.push(x);
          }
        });
        return out;
      }
      const name = Object.keys(e.o)[0];
      if (name === undefined || !DDL_COMMANDS.has(name)) return [];
      const shape = ddlTarget(e, ctx);
      if (!shape) return [];
      const command = e.o2 && name === 'dropIndexes' ? { ...e.o, spec: e.o2 } : e.o;
      return [{ event: { op: 'ddl', shape, snapshot: false, ddl: { command }, commitTime, position: OplogPosition.of(e.ts), bytes: bsonSize(e.o) } }];
    }
    default:
      return [];
  }
}

/** Sharding commands that change where a collection's documents live; seed 000 forbids them during synchronization. */
export const SHARDING_COMMANDS: readonly string[] = ['shardCollection', 'reshardCollection', 'unshardCollection', 'moveCollection', 'movePrimary', 'refineCollectionShardKey'];

/**
 * The sharding command a shard's oplog records, if any: MongoDB logs `shardCollection`,
 * `reshardCollection`, `movePrimary`... as no-op entries (`op: 'n'`) whose `o2` names the command
 * and its namespace (`{ shardCollection: 'db.coll', key: ... }`).
 */
export function shardingCommandOf(e: OplogEntry): { command: string; target: string } | null {
  if (e.op !== 'n' || !e.o2) return null;
  for (const command of SHARDING_COMMANDS) {
    const v: unknown = e.o2[command];
    if (v !== undefined) return { command, target: typeof v === 'string' ? v : e.ns };
  }
  return null;
}

/** The election term an entry was written in (`t`), when it says. */
export function termOf(e: Pick<OplogEntry, 't'>): number | undefined {
  return bsonNumber(e.t);
}
