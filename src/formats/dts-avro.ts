/**
 * DTS Avro encoder: values are the Avro binary encoding of Alibaba's published `Record` schema
 * (`dts-avro-schema.ts`), decodable with that `.avsc` file unchanged.
 *
 * Choices (see README):
 * - `version` 0; `id` = the message id (messageId.ts: from the source position, up to 2^63 - 1;
 *   readers need a 64-bit long, `FULL_LONG`); `sourceTimestamp` = commit time in SECONDS (the DTS
 *   consumers use it as their checkpoint timestamp, which DTS expresses in Unix seconds);
 *   `bornTimestamp` = commit time in ms; `processTimestamps` = [ctx.now].
 * - `sourcePosition` and `safeSourcePosition`: the position as the source's clients write it
 *   (`Position.text`: a PostgreSQL LSN `X/Y`), else its `encode()` text; `sourceTxid`: transaction
 *   id or ""; `source.sourceType`: the source's declared product name (`ctx.sourceName`) when the
 *   schema's enum has it, else `OTHER`.
 * - `objectName`: `database.schema.table` for rows of columns (the published Go reader splits three
 *   parts into database and table), `database.collection` for documents.
 * - `fields`: `{name, dataTypeNumber}` where dataTypeNumber is the source's type number
 *   (`Column.typeId`), else the number DTS knows for the neutral type (types/columns.ts). Documents:
 *   fields `_id` and `_value`, numbered by BSON type code, each image holding TextObject JSON
 *   (Extended JSON, see types/document.ts).
 * - SQL NULL → Avro `null` (the published Java reader treats a non-null EmptyObject as a value);
 *   a column whose value is not known (absent from a key-only old tuple) → EmptyObject `NONE`.
 * - By neutral type (core/values.ts): integer → Integer{precision: byte width, value: text};
 *   boolean → Integer{1, "1"|"0"}; decimal → Decimal{text, precision, scale (0 when unconstrained)};
 *   float → Float{value, precision: byte width, scale 0}; bytes → BinaryObject{"BLOB"}; json →
 *   TextObject{"JSON"}; xml → TextObject{"XML"}; date, time, timestamp → DateTime (millis =
 *   MICROseconds, as the DTS readers pad it to 6 digits); time with zone → TimestampWithTimeZone;
 *   timestamp with zone → Timestamp{Unix seconds, micros}; everything else (text, uuid, interval,
 *   enum, array, bits) → Character{"utf8"}.
 * - DDL/TRUNCATE: operation DDL, `afterImages` = the DDL text string, `fields` null.
 * - tags: `pk_uk_info` = `{"PRIMARY":[key columns]}` when the table has a key; `partial` = "true" for
 *   partial document updates (then `_value` holds `{"$set":…,"$unset":…}`).
 */
import avsc from 'avsc';
import type { Column, ChangeEvent, Row, TableShape } from '../core/events.js';
import { FatalError } from '../core/errors.js';
import { qualifiedName } from '../core/events.js';
import { DTS_RECORD_SCHEMA } from './dts-avro-schema.js';
import type { EncodeContext, EncodedRecord, Format, FormatDescriptor } from './format.js';
import { formatDescriptor, positionText } from './format.js';
import { documentId, recordKey } from './key.js';
import { MessageIds } from './messageId.js';
import { bsonToJson, documentToJson, patchToJson } from './types/document.js';
import { columnTypeInfo } from './types/columns.js';
import { parseDate, parseInstant, parseTime, parseTimestamp, type DateTimeParts } from './types/temporal.js';
import { valueText } from './types/values.js';

const NS = 'com.alibaba.dts.formats.avro.';

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_LONG = -(1n << 63n);
const MAX_LONG = (1n << 63n) - 1n;

/**
 * Avro `long` over all 64 bits: written from a safe-integer number or a bigint, read back as a
 * number when it is a safe integer and as a bigint otherwise (avsc's own long refuses both ways
 * beyond 2^53, and message ids go up to 2^63 - 1).
 */
export const FULL_LONG = avsc.types.LongType.__with({
  fromBuffer: (b: Buffer): number | bigint => {
    const v = b.readBigInt64LE();
    return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
  },
  toBuffer: (v: number | bigint): Buffer => {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64LE(BigInt(v));
    return b;
  },
  fromJSON: (v: unknown): number | bigint => (typeof v === 'string' ? BigInt(v) : (v as number | bigint)),
  toJSON: (v: number | bigint): number | string => (typeof v === 'bigint' ? v.toString() : v),
  isValid: (v: unknown): boolean => (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'bigint' && v >= MIN_LONG && v <= MAX_LONG),
  compare: (a: number | bigint, b: number | bigint): number => (a < b ? -1 : a > b ? 1 : 0),
});

/**
 * The Avro `Record` type, parsed from the published schema, with `FULL_LONG` for its longs (the
 * schema itself is unchanged: `schema()` and fingerprints equal the published file's). For readers.
 */
export function dtsRecordType(): avsc.Type {
  return recordType({ long: FULL_LONG });
}

function recordType(registry: Record<string, avsc.Type>): avsc.Type {
  avsc.Type.forSchema(DTS_RECORD_SCHEMA as unknown as avsc.Schema, { registry, wrapUnions: true });
  const t = registry[`${NS}Record`];
  if (t === undefined) throw new Error('DTS Avro schema has no Record type');
  return t;
}

/**
 * A record encoded with `id` 0, given its real id. The encoder keeps avsc's own (fast) longs,
 * which stop at 2^53, and writes the id itself: a record's encoding is its fields' encodings back
 * to back, and it starts with `version` (int 0) and `id` (long 0), one byte each; the id goes in
 * their place as a zigzag varint.
 */
function withId(body: Buffer, id: bigint): Buffer {
  if (body[0] !== 0 || body[1] !== 0) throw new Error('dts-avro: a record must start with version 0 and id 0');
  // Zigzag of a non-negative long is 2 × id (< 2^64), here as two 32-bit halves.
  const z = id << 1n;
  let lo = Number(z & 0xffffffffn);
  let hi = Number(z >> 32n);
  const varint: number[] = [];
  while (hi > 0 || lo >= 0x80) {
    varint.push((lo & 0x7f) | 0x80);
    lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
    hi >>>= 7;
  }
  varint.push(lo);
  const out = Buffer.allocUnsafe(body.length - 1 + varint.length);
  out[0] = 0;
  for (let i = 0; i < varint.length; i++) out[1 + i] = varint[i] as number;
  body.copy(out, 1 + varint.length, 2);
  return out;
}

type Wrapped = Record<string, unknown> | null;
type Encoder = (v: unknown) => Wrapped;

const EMPTY_NONE: Wrapped = { [`${NS}EmptyObject`]: 'NONE' };
const I = `${NS}Integer`;
const C = `${NS}Character`;
const D = `${NS}Decimal`;
const F = `${NS}Float`;
const TS = `${NS}Timestamp`;
const DT = `${NS}DateTime`;
const TZ = `${NS}TimestampWithTimeZone`;
const BO = `${NS}BinaryObject`;
const TO = `${NS}TextObject`;

function optInt(n: number | null): { int: number } | null {
  return n === null ? null : { int: n };
}

function dateTime(p: DateTimeParts): Record<string, unknown> {
  return {
    year: optInt(p.year), month: optInt(p.month), day: optInt(p.day), hour: optInt(p.hour),
    minute: optInt(p.minute), second: optInt(p.second), millis: optInt(p.millis),
  };
}

function text(v: unknown): string {
  return valueText(v) ?? '';
}

function character(v: unknown): Wrapped {
  return { [C]: { charset: 'utf8', value: Buffer.from(text(v), 'utf8') } };
}

function encoderFor(col: Column): Encoder {
  const info = columnTypeInfo(col);
  const width = info.width;
  switch (info.avro) {
    case 'integer':
      return (v) => ({ [I]: { precision: width, value: text(v) } });
    case 'bool':
      return (v) => ({ [I]: { precision: 1, value: v === true || v === 'true' ? '1' : '0' } });
    case 'decimal': {
      const precision = col.precision ?? 0;
      const scale = col.scale ?? 0;
      return (v) => ({ [D]: { value: text(v), precision, scale } });
    }
    case 'float':
      return (v) => ({ [F]: { value: typeof v === 'number' ? v : Number(text(v)), precision: width, scale: 0 } });
    case 'binary':
      return (v) => ({ [BO]: { type: 'BLOB', value: v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(text(v), 'hex') } });
    case 'json':
      return (v) => ({ [TO]: { type: 'JSON', value: text(v) } });
    case 'xml':
      return (v) => ({ [TO]: { type: 'XML', value: text(v) } });
    case 'date':
      return (v) => {
        const p = typeof v === 'string' ? parseDate(v) : null;
        return p === null ? character(v) : { [DT]: dateTime(p) };
      };
    case 'time':
      return (v) => {
        const p = typeof v === 'string' ? parseTime(v) : null;
        return p === null ? character(v) : { [DT]: dateTime(p.parts) };
      };
    case 'timetz':
      return (v) => {
        const p = typeof v === 'string' ? parseTime(v) : null;
        return p === null ? character(v) : { [TZ]: { value: dateTime(p.parts), timezone: p.zone ?? '+00:00' } };
      };
    case 'timestamp':
      return (v) => {
        const p = typeof v === 'string' ? parseTimestamp(v) : null;
        return p === null ? character(v) : { [DT]: dateTime(p.parts) };
      };
    case 'timestamptz':
      return (v) => {
        const p = typeof v === 'string' ? parseInstant(v) : v instanceof Date ? { seconds: Math.floor(v.getTime() / 1000), micros: (v.getTime() % 1000) * 1000 } : null;
        return p === null ? character(v) : { [TS]: { timestamp: p.seconds, millis: p.micros } };
      };
    default:
      return character;
  }
}

interface Prepared {
  objectName: { string: string };
  fields: { array: { name: string; dataTypeNumber: number }[] } | null;
  names: string[];
  encoders: Encoder[];
  tags: Record<string, string>;
}

function bsonTypeCode(v: unknown): number {
  if (typeof v === 'string') return 2;
  if (typeof v === 'number') return Number.isInteger(v) ? 16 : 1;
  if (typeof v === 'bigint') return 18;
  if (v !== null && typeof v === 'object') {
    switch ((v as { _bsontype?: string })._bsontype) {
      case 'ObjectId': return 7;
      case 'Long': return 18;
      case 'Int32': return 16;
      case 'Double': return 1;
      case 'Decimal128': return 19;
      case 'Binary': return 5;
      default: return v instanceof Date ? 9 : 3;
    }
  }
  return 10;
}

/** `source.sourceType` symbols of the published schema; any other source is `OTHER`. */
const SOURCE_TYPES = new Set(['MySQL', 'Oracle', 'SQLServer', 'PostgreSQL', 'MongoDB', 'Redis', 'DB2', 'PPAS', 'DRDS', 'HBASE', 'HDFS', 'FILE', 'OTHER']);

export function createDtsAvro(): Format {
  const type = recordType({});
  const cache = new WeakMap<TableShape, Prepared>();
  const ids = new MessageIds();

  function prepare(shape: TableShape, documents: boolean): Prepared {
    const ref = shape.ref;
    const key = shape.key.length > 0 ? shape.key : documents ? ['_id'] : [];
    const p: Prepared = {
      objectName: { string: documents ? `${ref.database}.${ref.table}` : qualifiedName(ref) },
      fields: documents ? null : { array: shape.columns.map((c) => ({ name: c.name, dataTypeNumber: columnTypeInfo(c).typeNumber })) },
      names: shape.columns.map((c) => c.name),
      encoders: shape.columns.map(encoderFor),
      tags: key.length > 0 ? { pk_uk_info: JSON.stringify({ PRIMARY: key }) } : {},
    };
    cache.set(shape, p);
    return p;
  }

  function images(p: Prepared, row: Row | null | undefined): { array: Wrapped[] } | null {
    if (row === null || row === undefined) return null;
    const out: Wrapped[] = new Array<Wrapped>(p.names.length);
    for (let i = 0; i < p.names.length; i++) {
      const v = row[p.names[i] as string];
      out[i] = v === null ? null : v === undefined ? EMPTY_NONE : (p.encoders[i] as Encoder)(v);
    }
    return { array: out };
  }

  function documentImages(id: unknown, body: string | null): { array: Wrapped[] } | null {
    if (body === null) return null;
    return { array: [{ [TO]: { type: 'JSON', value: id === undefined ? 'null' : bsonToJson(id) } }, { [TO]: { type: 'JSON', value: body } }] };
  }

  function encode(e: ChangeEvent, ctx: EncodeContext): EncodedRecord {
    const documents = ctx.documents;
    const p = cache.get(e.shape) ?? prepare(e.shape, documents);
    const id = ids.next(e, ctx.now);
    const pos = positionText(e);
    let operation: string;
    let fields: Prepared['fields'] | { string: string } | null = p.fields;
    let before: unknown;
    let after: unknown;
    let tags = p.tags;
    switch (e.op) {
      case 'insert':
      case 'update':
      case 'delete':
        operation = e.op.toUpperCase();
        if (documents) {
          const id = documentId(e);
          fields = { array: [{ name: '_id', dataTypeNumber: bsonTypeCode(id) }, { name: '_value', dataTypeNumber: 3 }] };
          before = documentImages(id, e.before === null || e.before === undefined || e.op === 'insert' ? null : documentToJson(e.before));
          let body: string | null = null;
          if (e.op !== 'delete') {
            if (e.after !== null && e.after !== undefined) body = documentToJson(e.after);
            else if (e.patch !== undefined) {
              body = patchToJson(e.patch);
              tags = { ...tags, partial: 'true' };
            }
          }
          after = documentImages(id, body);
        } else {
          before = e.op === 'insert' ? null : images(p, e.before);
          after = e.op === 'delete' ? null : images(p, e.after);
        }
        break;
      case 'truncate':
      case 'ddl': {
        operation = 'DDL';
        fields = null;
        before = null;
        let ddl = e.ddl?.text;
        if (ddl === undefined && e.ddl?.command !== undefined) ddl = bsonToJson(e.ddl.command);
        if (ddl === undefined && e.op === 'truncate') ddl = documents ? `{"truncate":${JSON.stringify(e.shape.ref.table)}}` : `TRUNCATE TABLE ${qualifiedName(e.shape.ref)}`;
        after = { string: ddl ?? '' };
        break;
      }
      default:
        throw new FatalError('FORMAT_UNSUPPORTED_OP', `dts-avro cannot encode a ${e.op} event of ${qualifiedName(e.shape.ref)}`, {
          object: qualifiedName(e.shape.ref),
        });
    }
    const record = {
      version: 0,
      id: 0,
      sourceTimestamp: Math.floor(e.commitTime / 1000),
      sourcePosition: pos,
      safeSourcePosition: pos,
      sourceTxid: e.tx?.id ?? '',
      source: { sourceType: SOURCE_TYPES.has(ctx.sourceName) ? ctx.sourceName : 'OTHER', version: ctx.sourceVersion ?? '' },
      operation,
      objectName: p.objectName,
      processTimestamps: { array: [ctx.now] },
      tags,
      fields,
      beforeImages: before,
      afterImages: after,
      bornTimestamp: e.commitTime,
    };
    return { key: recordKey(e, documents), value: withId(type.toBuffer(record), id) };
  }

  return { name: 'dts-avro', encode };
}

/** The DTS Avro format as a plug-in (registered in runtime/defaults.ts). */
export const dtsAvro: FormatDescriptor = formatDescriptor('dts-avro', 'DTS Avro', () => createDtsAvro());
