/**
 * Canal JSON (`FlatMessage`) encoder. See FORMATS.md and the README for the field choices.
 *
 * Hot path: everything that depends only on the table version (database, table, pkNames,
 * mysqlType, sqlType, each column's escaped `"name":` prefix) is serialized once per TableShape
 * and kept in a WeakMap; per event only the row values are escaped and concatenated.
 */
import type { ChangeEvent, Row, TableShape } from '../core/events.js';
import { FatalError } from '../core/errors.js';
import { qualifiedName } from '../core/events.js';
import type { EncodeContext, EncodedRecord, Format, FormatDescriptor } from './format.js';
import { formatDescriptor } from './format.js';
import type { ByteSink } from './byteSink.js';
import { quote } from './json.js';
import { documentId, recordKey, recordKeyText, relationalKeyRow } from './key.js';
import { MessageIds } from './messageId.js';
import { bsonInto, bsonToJson, documentInto, documentToJson, patchToJson } from './types/document.js';
import { columnTypeInfo } from './types/columns.js';
import { sameValue, valueText } from './types/values.js';

export interface CanalJsonOptions {
  /**
   * `mysqlType` contents for relational sources: `'mysql'` (default) writes MySQL-style names
   * (`bigint`, `decimal(38,9)`, `datetime(6)`) that Canal tooling understands; `'source'` writes the
   * source's own type names (`int8`, `numeric(38,9)`, `jsonb`).
   */
  typeNames?: 'mysql' | 'source';
}

type CanalType = 'INSERT' | 'UPDATE' | 'DELETE' | 'DDL';

interface PreparedColumn {
  name: string;
  /** `"name":` with the name JSON-escaped. */
  prefix: string;
  /** `prefix` as UTF-8, and with a leading comma. */
  prefixBytes: Buffer;
  commaPrefixBytes: Buffer;
}

interface Prepared {
  cols: PreparedColumn[];
  /** `,"database":…,"table":…,"pkNames":…,"isDdl":…,"type":"…","es":` per type. */
  head: Record<CanalType, string>;
  /** `,"sql":"","sqlType":{…},"mysqlType":{…},"data":[` for relational DML. */
  dmlMid: string;
  /** `head` and `dmlMid` as UTF-8, for `encodeInto`. */
  headBytes: Record<CanalType, Buffer>;
  dmlMidBytes: Buffer;
}

const TAIL_BYTES = Buffer.from(',"gtid":null,"serverId":null}');
const OLD_NULL_TAIL_BYTES = Buffer.from(`],"old":null${TAIL_BYTES.toString()}`);
const OLD_OPEN_BYTES = Buffer.from('],"old":');
const TS_TEXT = ',"ts":';
const ID_BYTES = Buffer.from('{"id":');

const j = JSON.stringify;

function valueJson(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'number':
      if (Number.isFinite(v)) return `"${v}"`;
      break;
    case 'boolean':
      return v ? '"true"' : '"false"';
    case 'object':
      if (v === null) return 'null';
      break;
  }
  const t = valueText(v);
  return t === null ? 'null' : quote(t);
}

function rowJson(cols: readonly PreparedColumn[], row: Row): string {
  let s = '{';
  let first = true;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i] as PreparedColumn;
    const v = row[c.name];
    if (v === undefined) continue; // not known (e.g. absent from a key-only old tuple): omitted, never faked
    if (first) first = false;
    else s += ',';
    s += c.prefix;
    s += valueJson(v);
  }
  return `${s}}`;
}

/** A column's previous value for `old`: present in both images and changed; else undefined. */
function changedFrom(c: PreparedColumn, before: Row, after: Row): unknown {
  const b = before[c.name];
  if (b === undefined) return undefined;
  const a = after[c.name];
  return a === b || a === undefined || sameValue(a, b) ? undefined : b;
}

/** `[{…}]`: previous values of the columns that changed (only columns present in both images). */
function oldJson(cols: readonly PreparedColumn[], before: Row, after: Row): string {
  let s = '[{';
  let first = true;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i] as PreparedColumn;
    const b = changedFrom(c, before, after);
    if (b === undefined) continue;
    if (first) first = false;
    else s += ',';
    s += c.prefix;
    s += valueJson(b);
  }
  return `${s}}]`;
}

function valueInto(out: ByteSink, v: unknown): void {
  if (typeof v === 'string') out.writeJsonString(v);
  else if (typeof v === 'number' && Number.isFinite(v)) {
    // `valueJson`'s `"${v}"` without the template string and the UTF-8 writer: digits are ASCII.
    out.writeByte(0x22);
    out.writeAscii(String(v));
    out.writeByte(0x22);
  } else out.writeString(valueJson(v));
}

/** `rowJson` into bytes. */
function rowInto(out: ByteSink, cols: readonly PreparedColumn[], row: Row): void {
  out.writeByte(0x7b);
  let first = true;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i] as PreparedColumn;
    const v = row[c.name];
    if (v === undefined) continue;
    out.writeBytes(first ? c.prefixBytes : c.commaPrefixBytes);
    first = false;
    valueInto(out, v);
  }
  out.writeByte(0x7d);
}

/** `oldJson` into bytes. */
function oldInto(out: ByteSink, cols: readonly PreparedColumn[], before: Row, after: Row): void {
  out.writeAscii('[{');
  let first = true;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i] as PreparedColumn;
    const b = changedFrom(c, before, after);
    if (b === undefined) continue;
    out.writeBytes(first ? c.prefixBytes : c.commaPrefixBytes);
    first = false;
    valueInto(out, b);
  }
  out.writeAscii('}]');
}

export function createCanalJson(options: CanalJsonOptions = {}): Format {
  const typeNames = options.typeNames ?? 'mysql';
  const cache = new WeakMap<TableShape, Prepared>();
  const ids = new MessageIds();

  function prepare(shape: TableShape, documents: boolean): Prepared {
    const ref = shape.ref;
    const database = documents ? ref.database : (ref.schema ?? ref.database);
    const pk = shape.key.length > 0 ? shape.key : documents ? ['_id'] : null;
    const common = `,"database":${j(database)},"table":${j(ref.table)},"pkNames":${pk === null ? 'null' : j(pk)}`;
    const head = {} as Record<CanalType, string>;
    for (const t of ['INSERT', 'UPDATE', 'DELETE', 'DDL'] as const) {
      head[t] = `${common},"isDdl":${t === 'DDL'},"type":"${t}","es":`;
    }
    const cols: PreparedColumn[] = shape.columns.map((c) => ({ name: c.name, prefix: `${j(c.name)}:`, prefixBytes: Buffer.from(`${j(c.name)}:`), commaPrefixBytes: Buffer.from(`,${j(c.name)}:`) }));
    let dmlMid: string;
    if (documents) {
      dmlMid = ',"sql":null,"sqlType":null,"mysqlType":null,"data":[';
    } else {
      const sqlType: Record<string, number> = {};
      const mysqlType: Record<string, string> = {};
      for (const c of shape.columns) {
        const info = columnTypeInfo(c);
        sqlType[c.name] = info.sqlType;
        mysqlType[c.name] = typeNames === 'mysql' ? info.mysqlType : c.type;
      }
      dmlMid = `,"sql":"","sqlType":${j(sqlType)},"mysqlType":${j(mysqlType)},"data":[`;
    }
    const headBytes = {} as Record<CanalType, Buffer>;
    for (const t of ['INSERT', 'UPDATE', 'DELETE', 'DDL'] as const) headBytes[t] = Buffer.from(head[t]);
    const p: Prepared = { cols, head, dmlMid, headBytes, dmlMidBytes: Buffer.from(dmlMid) };
    cache.set(shape, p);
    return p;
  }

  // `,"ts":<now>` for the last `now` seen (a batch shares it).
  let lastNow = NaN;
  let tsText = '';

  /** The Canal message text of an event. */
  function build(e: ChangeEvent, ctx: EncodeContext, documents: boolean): string {
    const p = cache.get(e.shape) ?? prepare(e.shape, documents);
    const start = `{"id":${ids.text(e, ctx.now)}`;
    if (ctx.now !== lastNow) {
      lastNow = ctx.now;
      tsText = `,"ts":${ctx.now}`;
    }
    const times = `${e.commitTime}${tsText}`;
    const tail = ',"gtid":null,"serverId":null}';
    let s: string;
    switch (e.op) {
      case 'insert': {
        const row = requireRow(e, e.after, 'after');
        const data = documents ? documentToJson(row) : rowJson(p.cols, row);
        s = `${start}${p.head.INSERT}${times}${p.dmlMid}${data}],"old":null${tail}`;
        break;
      }
      case 'update': {
        let data: string;
        let old: string;
        if (documents) {
          if (e.after !== null && e.after !== undefined) data = documentToJson(e.after);
          else if (e.patch !== undefined) data = patchToJson(e.patch);
          else throw missing(e, 'after or patch');
          const id = documentId(e);
          old = id === undefined ? 'null' : `[{"_id":${bsonToJson(id)}}]`;
        } else {
          const after = requireRow(e, e.after, 'after');
          data = rowJson(p.cols, after);
          // Without an old image (REPLICA IDENTITY DEFAULT and an unchanged key) nothing is known
          // about previous values: `old` is [{}], so Flink's canal-json pairs it with `data`.
          old = e.before === null || e.before === undefined ? '[{}]' : oldJson(p.cols, e.before, after);
        }
        s = `${start}${p.head.UPDATE}${times}${p.dmlMid}${data}],"old":${old}${tail}`;
        break;
      }
      case 'delete': {
        const row = requireRow(e, e.before, 'before');
        const data = documents ? documentToJson(row) : rowJson(p.cols, row);
        s = `${start}${p.head.DELETE}${times}${p.dmlMid}${data}],"old":null${tail}`;
        break;
      }
      case 'truncate':
      case 'ddl': {
        s = `${start}${p.head.DDL}${times},"sql":${ddlSql(e, documents)},"sqlType":null,"mysqlType":null,"data":null,"old":null${tail}`;
        break;
      }
      default:
        throw new FatalError('FORMAT_UNSUPPORTED_OP', `canal-json cannot encode a ${e.op} event of ${qualifiedName(e.shape.ref)}`, {
          object: qualifiedName(e.shape.ref),
          fix: 'heartbeats are not written to Kafka by the Canal JSON format',
        });
    }
    return s;
  }

  function encode(e: ChangeEvent, ctx: EncodeContext): EncodedRecord {
    const documents = ctx.documents;
    const s = build(e, ctx, documents);
    return { key: recordKey(e, documents), value: Buffer.from(s, 'utf8') };
  }

  function encodeInto(e: ChangeEvent, ctx: EncodeContext, out: ByteSink): void {
    const documents = ctx.documents;
    if (!documents && (e.op === 'insert' || e.op === 'update' || e.op === 'delete')) {
      relationalInto(e, ctx, out);
      return;
    }
    if (documents && (e.op === 'insert' || e.op === 'delete' || (e.op === 'update' && e.after !== null && e.after !== undefined))) {
      documentDmlInto(e, ctx, out);
      return;
    }
    const s = build(e, ctx, documents);
    out.writeKey(recordKeyText(e, documents));
    out.writeValue(s);
  }

  /**
   * Relational DML straight into bytes: the same message as `build` (tested byte for byte), but
   * the table's constant parts are copied as prepared bytes and values are escaped while they are
   * written, instead of concatenating a string and transcoding it.
   */
  function relationalInto(e: ChangeEvent, ctx: EncodeContext, out: ByteSink): void {
    const p = cache.get(e.shape) ?? prepare(e.shape, false);
    const keyRow = relationalKeyRow(e);
    if (keyRow === null) out.writeKey(null);
    else {
      out.beginKey();
      out.writeByte(0x5b);
      const key = e.shape.key;
      for (let i = 0; i < key.length; i++) {
        if (i > 0) out.writeByte(0x2c);
        const t = valueText(keyRow[key[i] as string]);
        if (t === null) out.writeAscii('null');
        else out.writeJsonString(t);
      }
      out.writeByte(0x5d);
      out.endKey();
    }

    out.beginValue();
    out.writeBytes(ID_BYTES);
    ids.writeInto(e, ctx.now, out);
    if (e.op === 'insert') {
      const row = requireRow(e, e.after, 'after');
      writeHead(out, p, 'INSERT', e, ctx);
      rowInto(out, p.cols, row);
      out.writeBytes(OLD_NULL_TAIL_BYTES);
    } else if (e.op === 'delete') {
      const row = requireRow(e, e.before, 'before');
      writeHead(out, p, 'DELETE', e, ctx);
      rowInto(out, p.cols, row);
      out.writeBytes(OLD_NULL_TAIL_BYTES);
    } else {
      const after = requireRow(e, e.after, 'after');
      writeHead(out, p, 'UPDATE', e, ctx);
      rowInto(out, p.cols, after);
      out.writeBytes(OLD_OPEN_BYTES);
      if (e.before === null || e.before === undefined) out.writeAscii('[{}]');
      else oldInto(out, p.cols, e.before, after);
      out.writeBytes(TAIL_BYTES);
    }
    out.endValue();
  }

  /**
   * Document DML with a full image (inserts, deletes, replacements and updates with their full
   * document) straight into bytes: the same message as `build`, tested byte for byte.
   */
  function documentDmlInto(e: ChangeEvent, ctx: EncodeContext, out: ByteSink): void {
    const p = cache.get(e.shape) ?? prepare(e.shape, true);
    out.writeKey(recordKeyText(e, true));
    out.beginValue();
    out.writeBytes(ID_BYTES);
    ids.writeInto(e, ctx.now, out);
    if (e.op === 'update') {
      writeHead(out, p, 'UPDATE', e, ctx);
      documentInto(out, requireRow(e, e.after, 'after'));
      out.writeBytes(OLD_OPEN_BYTES);
      const id = documentId(e);
      if (id === undefined) out.writeAscii('null');
      else {
        out.writeAscii('[{"_id":');
        bsonInto(out, id);
        out.writeAscii('}]');
      }
      out.writeBytes(TAIL_BYTES);
    } else {
      writeHead(out, p, e.op === 'insert' ? 'INSERT' : 'DELETE', e, ctx);
      documentInto(out, requireRow(e, e.op === 'insert' ? e.after : e.before, e.op === 'insert' ? 'after' : 'before'));
      out.writeBytes(OLD_NULL_TAIL_BYTES);
    }
    out.endValue();
  }

  // `<es>,"ts":<ts>` for the last (commit time, now) pair: a batch shares `now`, a transaction or a
  // snapshot chunk its commit time.
  let timesFor: [number, number] = [NaN, NaN];
  let timesBytes = Buffer.alloc(0);

  function writeHead(out: ByteSink, p: Prepared, type: CanalType, e: ChangeEvent, ctx: EncodeContext): void {
    out.writeBytes(p.headBytes[type]);
    if (timesFor[0] !== e.commitTime || timesFor[1] !== ctx.now) {
      timesFor = [e.commitTime, ctx.now];
      timesBytes = Buffer.from(`${e.commitTime}${TS_TEXT}${ctx.now}`);
    }
    out.writeBytes(timesBytes);
    out.writeBytes(p.dmlMidBytes);
  }

  return { name: 'canal-json', encode, encodeInto };
}

function quoteIdent(s: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`;
}

/** DDL `sql`: MongoDB → the command document (object); relational → the DDL text (string). */
function ddlSql(e: ChangeEvent, documents: boolean): string {
  if (documents) {
    const cmd = e.ddl?.command;
    if (cmd !== undefined && cmd !== null) return bsonToJson(cmd);
    if (e.op === 'truncate') return `{"truncate":${j(e.shape.ref.table)}}`;
    return e.ddl?.text === undefined ? 'null' : j(e.ddl.text);
  }
  if (e.ddl?.text !== undefined) return j(e.ddl.text);
  if (e.op === 'truncate') {
    const r = e.shape.ref;
    const name = r.schema === undefined ? quoteIdent(r.table) : `${quoteIdent(r.schema)}.${quoteIdent(r.table)}`;
    return j(`TRUNCATE TABLE ${name}`);
  }
  return e.ddl?.command === undefined ? '""' : j(JSON.stringify(e.ddl.command));
}

function missing(e: ChangeEvent, what: string): FatalError {
  return new FatalError('FORMAT_IMAGE_MISSING', `${e.op} on ${qualifiedName(e.shape.ref)} has no ${what} image`, {
    object: qualifiedName(e.shape.ref),
    fix: 'this is a reader bug: report it with the event',
  });
}

function requireRow(e: ChangeEvent, row: Row | null | undefined, what: string): Row {
  if (row === null || row === undefined) throw missing(e, what);
  return row;
}

/** The Canal JSON format as a plug-in (registered in runtime/defaults.ts). */
export const canalJson: FormatDescriptor = formatDescriptor('canal-json', 'Canal JSON', () => createCanalJson());
