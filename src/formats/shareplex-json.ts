/**
 * Shareplex JSON encoder: `{"meta":{…},"data":{…}[,"key":{…}]}`.
 *
 * Choices (see README):
 * - `time` = commit time, `posttime` = ctx.now, both `yyyy-MM-ddTHH:mm:ss` UTC.
 * - `userid`: null (logical decoding / change streams do not report it).
 * - `op`: `ins`, `upd`, `del`, `truncate`, and `ddl` for other DDL (then `data` = {"sql": text}).
 * - `scn` = the source position text (PostgreSQL LSN `X/Y`, MongoDB position); `rowid` = the record
 *   key text (`["42"]`, `[{"$oid":"…"}]`), null without a key.
 * - `trans` = transaction id (null when unknown); `seq` = 1-based position in the transaction;
 *   `size` = operations in the transaction, null when the reader streams it without knowing the
 *   total; `idx` = `seq/size` (`seq/` when size is unknown).
 * - `table` = `schema.table` (PostgreSQL/Db2, case kept), `database.collection` (MongoDB).
 * - values as in Canal JSON: text, SQL NULL null, bytea hex; MongoDB values as Extended JSON.
 * - updates: `data` = changed columns' new values when the old image is known, else the whole new
 *   row (REPLICA IDENTITY DEFAULT gives no old values); `key` = the before key values (the new ones
 *   when the key did not change). MongoDB updates: `data` = full document or `{"$set","$unset"}`,
 *   `key` = {"_id": …}.
 */
import type { ChangeEvent, Row, TableShape } from '../core/events.js';
import { FatalError } from '../core/errors.js';
import { qualifiedName } from '../core/events.js';
import type { EncodeContext, EncodedRecord, Format, FormatDescriptor } from './format.js';
import { formatDescriptor, positionText, utcSeconds } from './format.js';
import { documentId, documentKeyText, relationalKeyText } from './key.js';
import { bsonToJson, documentToJson, patchToJson } from './types/document.js';
import { sameValue, valueText } from './types/values.js';

interface Col {
  name: string;
  prefix: string;
}

interface Prepared {
  /** `,"table":"…"` */
  table: string;
  cols: Col[];
  keyCols: Col[];
}

const j = JSON.stringify;

function val(v: unknown): string {
  const t = valueText(v);
  return t === null ? 'null' : j(t);
}

function rowJson(cols: readonly Col[], row: Row, changedFrom?: Row): string {
  let s = '{';
  let first = true;
  for (const c of cols) {
    const v = row[c.name];
    if (v === undefined) continue;
    if (changedFrom !== undefined) {
      const b = changedFrom[c.name];
      if (b !== undefined && sameValue(b, v)) continue;
    }
    if (first) first = false;
    else s += ',';
    s += c.prefix + val(v);
  }
  return `${s}}`;
}

export function createShareplexJson(): Format {
  const cache = new WeakMap<TableShape, Prepared>();

  function prepare(shape: TableShape, documents: boolean): Prepared {
    const r = shape.ref;
    const name = documents ? `${r.database}.${r.table}` : `${r.schema ?? r.database}.${r.table}`;
    const cols = shape.columns.map((c) => ({ name: c.name, prefix: `${j(c.name)}:` }));
    const keyCols = shape.key.map((k) => ({ name: k, prefix: `${j(k)}:` }));
    const p = { table: `,"table":${j(name)}`, cols, keyCols };
    cache.set(shape, p);
    return p;
  }

  function encode(e: ChangeEvent, ctx: EncodeContext): EncodedRecord {
    const documents = ctx.documents;
    const p = cache.get(e.shape) ?? prepare(e.shape, documents);
    let op: string;
    let data: string;
    let key: string | null = null;
    let keyText: string | null = null;
    switch (e.op) {
      case 'insert': {
        op = 'ins';
        const row = need(e, e.after);
        data = documents ? documentToJson(row) : rowJson(p.cols, row);
        break;
      }
      case 'update': {
        op = 'upd';
        if (documents) {
          if (e.after !== null && e.after !== undefined) data = documentToJson(e.after);
          else if (e.patch !== undefined) data = patchToJson(e.patch);
          else throw needErr(e);
          const id = documentId(e);
          key = id === undefined ? null : `{"_id":${bsonToJson(id)}}`;
        } else {
          const after = need(e, e.after);
          const before = e.before ?? undefined;
          data = rowJson(p.cols, after, before);
          if (p.keyCols.length > 0) {
            const src = before !== undefined && p.keyCols.every((c) => before[c.name] !== undefined) ? before : after;
            key = rowJson(p.keyCols, src);
          }
        }
        break;
      }
      case 'delete': {
        op = 'del';
        const row = need(e, e.before);
        data = documents ? documentToJson(row) : rowJson(p.cols, row);
        break;
      }
      case 'truncate':
        op = 'truncate';
        data = '{}';
        break;
      case 'ddl': {
        op = 'ddl';
        const sql = e.ddl?.text ?? (e.ddl?.command !== undefined ? bsonToJson(e.ddl.command) : '');
        data = `{"sql":${j(sql)}}`;
        break;
      }
      default:
        throw new FatalError('FORMAT_UNSUPPORTED_OP', `shareplex-json cannot encode a ${e.op} event of ${qualifiedName(e.shape.ref)}`, {
          object: qualifiedName(e.shape.ref),
        });
    }
    if (e.op === 'insert' || e.op === 'update' || e.op === 'delete') {
      keyText = documents ? documentKeyText(e) : relationalKeyText(e);
    }
    const seq = e.tx?.seq ?? 1;
    const size = e.tx === undefined ? 1 : (e.tx.size ?? null);
    const meta =
      `{"time":"${utcSeconds(e.commitTime)}","userid":null,"op":"${op}","scn":${j(positionText(e))}` +
      `,"rowid":${keyText === null ? 'null' : j(keyText)},"trans":${e.tx === undefined ? 'null' : j(e.tx.id)}` +
      `,"seq":${seq},"size":${size === null ? 'null' : size}${p.table},"idx":"${seq}/${size === null ? '' : size}"` +
      `,"posttime":"${utcSeconds(ctx.now)}"}`;
    const s = key === null ? `{"meta":${meta},"data":${data}}` : `{"meta":${meta},"data":${data},"key":${key}}`;
    return { key: keyText === null ? null : Buffer.from(keyText, 'utf8'), value: Buffer.from(s, 'utf8') };
  }

  return { name: 'shareplex-json', encode };
}

function needErr(e: ChangeEvent): FatalError {
  return new FatalError('FORMAT_IMAGE_MISSING', `${e.op} on ${qualifiedName(e.shape.ref)} has no row image`, {
    object: qualifiedName(e.shape.ref),
    fix: 'this is a reader bug: report it with the event',
  });
}

function need(e: ChangeEvent, row: Row | null | undefined): Row {
  if (row === null || row === undefined) throw needErr(e);
  return row;
}

/** The Shareplex JSON format as a plug-in (registered in runtime/defaults.ts). */
export const shareplexJson: FormatDescriptor = formatDescriptor('shareplex-json', 'Shareplex JSON', () => createShareplexJson());
