/**
 * Values of the `document` kind (core/values.ts) to JSON text: documents hold BSON value classes,
 * written as Extended JSON v2 where JSON cannot hold the value exactly.
 *
 * Every BSON type stays recognizable (a document source reads with the driver's promotion off, so
 * values arrive as Int32 / Double / Long wrappers). Choices (documented in the README):
 * - strings, booleans, null → plain JSON.
 * - Int32 → a JSON integer (`18`).
 * - Double → a JSON number that always reads back as a double: whole values keep a fraction
 *   (`1402.0`, `0.0`, `-0.0`), others as JavaScript prints them (`0.5`, `1e+21`).
 * - plain JS numbers (not read from MongoDB) as the BSON serializer would store them: integers
 *   within int32 as Int32, everything else as Double.
 * - Long (and bigint) → ALWAYS `{"$numberLong":"…"}`: type-stable (a field never flips between
 *   number and object) and exact beyond 2^53.
 * - non-finite doubles → `{"$numberDouble":"NaN"|"Infinity"|"-Infinity"}`.
 * - Decimal128 → `{"$numberDecimal":"…"}`, ObjectId → `{"$oid":"…"}`.
 * - Date → `{"$date":"ISO-8601 with ms"}` for years 1970..9999, else `{"$date":{"$numberLong":"ms"}}`.
 * - Binary / Buffer / UUID → `{"$binary":{"base64":"…","subType":"hh"}}`.
 * - RegExp / BSONRegExp → `{"$regularExpression":{"pattern":"…","options":"…"}}`.
 * - Timestamp → `{"$timestamp":{"t":…,"i":…}}`; MinKey/MaxKey → `{"$minKey":1}`/`{"$maxKey":1}`;
 *   other BSON types through their own `toExtendedJSON` when they have one.
 */

import type { ByteSink } from '../byteSink.js';

interface BsonLike {
  _bsontype?: string;
}

function str(s: string): string {
  return JSON.stringify(s);
}

function dateJson(d: Date): string {
  const t = d.getTime();
  if (Number.isNaN(t)) return '{"$date":{"$numberLong":"0"}}';
  const y = d.getUTCFullYear();
  // An ISO-8601 date of these years is plain ASCII: nothing to escape.
  if (y >= 1970 && y <= 9999) return `{"$date":"${d.toISOString()}"}`;
  return `{"$date":{"$numberLong":"${t}"}}`;
}

const DATE_OPEN = Buffer.from('{"$date":"');
const DATE_CLOSE = Buffer.from('Z"}');
/** 9999-12-31T23:59:59.999Z: the last instant `dateJson` writes as an ISO-8601 string. */
const LAST_ISO_MS = 253402300799999;
const DAY_MS = 86400000;

/** Writes `a` and `b` as two-digit fields, each preceded by `separator` (`-01-02`, `:04:05`). */
function twoDigitFields(out: ByteSink, separator: number, a: number, b: number): void {
  out.writeByte(separator);
  out.writePaddedDigits(a, 2);
  out.writeByte(separator);
  out.writePaddedDigits(b, 2);
}

/**
 * `dateJson` written into `out`: for the ISO-8601 years, the calendar fields are computed from the
 * epoch milliseconds (days → civil date by the era arithmetic of H. Hinnant's `civil_from_days`) and
 * written as digits, without `toISOString` and its string.
 */
function dateInto(out: ByteSink, d: Date): void {
  const t = d.getTime();
  if (!(t >= 0 && t <= LAST_ISO_MS)) {
    out.writeString(dateJson(d));
    return;
  }
  const days = Math.floor(t / DAY_MS);
  let ms = t - days * DAY_MS;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(ms / 3600000);
  ms -= hours * 3600000;
  const minutes = Math.floor(ms / 60000);
  ms -= minutes * 60000;
  const seconds = Math.floor(ms / 1000);
  out.writeBytes(DATE_OPEN);
  out.writePaddedDigits(year, 4);
  twoDigitFields(out, 0x2d, month, day);
  out.writeByte(0x54);
  out.writePaddedDigits(hours, 2);
  twoDigitFields(out, 0x3a, minutes, seconds);
  out.writeByte(0x2e);
  out.writePaddedDigits(ms - seconds * 1000, 3);
  out.writeBytes(DATE_CLOSE);
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** A BSON double: whole values keep `.0` so no JSON reader takes them for integers. */
function doubleJson(n: number): string {
  if (!Number.isFinite(n)) return `{"$numberDouble":"${Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity'}"}`;
  if (Object.is(n, -0)) return '-0.0';
  const s = String(n);
  // Whole values print without a fraction or exponent (below 1e21, where the exponent begins).
  return Number.isInteger(n) && n > -1e21 && n < 1e21 ? `${s}.0` : s;
}

/** A plain JS number, typed as the BSON serializer stores it: int32 when whole and in range, else double. */
function numberJson(n: number): string {
  if (Number.isInteger(n) && !Object.is(n, -0) && n >= INT32_MIN && n <= INT32_MAX) return String(n);
  return doubleJson(n);
}

function binaryJson(bytes: Uint8Array, subType: number): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return `{"$binary":{"base64":"${b64}","subType":"${subType.toString(16).padStart(2, '0')}"}}`;
}

/** Serialize one BSON value (document, array or scalar) as JSON / Extended JSON text. */
export function bsonToJson(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return str(v);
    case 'number':
      return numberJson(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return `{"$numberLong":"${v.toString()}"}`;
    case 'undefined':
      return 'null';
    case 'object':
      break;
    default:
      return str(String(v));
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      out += bsonToJson(v[i]);
    }
    return `${out}]`;
  }
  if (v instanceof Date) return dateJson(v);
  if (v instanceof RegExp) return `{"$regularExpression":{"pattern":${str(v.source)},"options":${str(v.flags)}}}`;
  const bt = (v as BsonLike)._bsontype;
  if (bt !== undefined) return bsonTypeJson(bt, v as Record<string, unknown>);
  if (v instanceof Uint8Array) return binaryJson(v, 0);
  return documentToJson(v as Record<string, unknown>);
}

function bsonTypeJson(bt: string, v: Record<string, unknown>): string {
  switch (bt) {
    case 'ObjectId':
    case 'ObjectID':
      return `{"$oid":"${(v as { toHexString(): string }).toHexString()}"}`;
    case 'Long':
      return `{"$numberLong":"${String(v)}"}`;
    case 'Int32':
      return String((v as { valueOf(): number }).valueOf());
    case 'Double':
      return doubleJson((v as { valueOf(): number }).valueOf());
    case 'Decimal128':
      return `{"$numberDecimal":"${String(v)}"}`;
    case 'Binary': {
      const b = v as { buffer: Uint8Array; sub_type: number; position?: number };
      const bytes = b.position !== undefined ? b.buffer.subarray(0, b.position) : b.buffer;
      return binaryJson(bytes, b.sub_type);
    }
    case 'BSONRegExp':
      return `{"$regularExpression":{"pattern":${str(String(v.pattern))},"options":${str(String(v.options))}}}`;
    case 'Timestamp': {
      const t = v as { high?: number; low?: number; t?: number; i?: number };
      const tt = t.t ?? (t.high ?? 0) >>> 0;
      const ii = t.i ?? (t.low ?? 0) >>> 0;
      return `{"$timestamp":{"t":${tt},"i":${ii}}}`;
    }
    case 'MinKey':
      return '{"$minKey":1}';
    case 'MaxKey':
      return '{"$maxKey":1}';
    default: {
      const ej = (v as { toExtendedJSON?: (o?: unknown) => unknown }).toExtendedJSON;
      if (typeof ej === 'function') return JSON.stringify(ej.call(v, { relaxed: true }));
      return documentToJson(v);
    }
  }
}

/** A document (plain object) as JSON text, keys in insertion order. */
export function documentToJson(doc: Record<string, unknown>): string {
  let out = '{';
  let first = true;
  for (const k in doc) {
    if (!Object.prototype.hasOwnProperty.call(doc, k)) continue;
    const val = doc[k];
    if (val === undefined) continue;
    if (first) first = false;
    else out += ',';
    out += str(k);
    out += ':';
    out += bsonToJson(val);
  }
  return `${out}}`;
}

/** Canal/Shareplex partial update body: `{"$set":{…},"$unset":{"f":true}}` (empty operators omitted). */
export function patchToJson(patch: { set?: Record<string, unknown>; unset?: readonly string[] }): string {
  const parts: string[] = [];
  if (patch.set !== undefined && Object.keys(patch.set).length > 0) parts.push(`"$set":${documentToJson(patch.set)}`);
  if (patch.unset !== undefined && patch.unset.length > 0) {
    parts.push(`"$unset":{${patch.unset.map((f) => `${str(f)}:true`).join(',')}}`);
  }
  return `{${parts.join(',')}}`;
}

const OID_OPEN = Buffer.from('{"$oid":"');
const OID_CLOSE = Buffer.from('"}');

/**
 * `documentToJson` written straight into `out` (the same bytes, tested against it): keys and
 * string values are escaped as they are copied, the common scalar types (Int32, Double, numbers,
 * booleans, null, dates, ObjectIds) are written without building the document's text first; the
 * rarer types go through `bsonToJson`.
 */
export function documentInto(out: ByteSink, doc: Record<string, unknown>): void {
  out.writeByte(0x7b);
  let first = true;
  for (const k in doc) {
    if (!Object.prototype.hasOwnProperty.call(doc, k)) continue;
    const val = doc[k];
    if (val === undefined) continue;
    if (first) first = false;
    else out.writeByte(0x2c);
    out.writeJsonString(k);
    out.writeByte(0x3a);
    bsonInto(out, val);
  }
  out.writeByte(0x7d);
}

/** `bsonToJson` written into `out`. */
export function bsonInto(out: ByteSink, v: unknown): void {
  switch (typeof v) {
    case 'string':
      out.writeJsonString(v);
      return;
    case 'number':
      out.writeAscii(numberJson(v));
      return;
    case 'boolean':
      out.writeAscii(v ? 'true' : 'false');
      return;
    case 'object':
      break;
    default:
      out.writeString(bsonToJson(v));
      return;
  }
  if (v === null) {
    out.writeAscii('null');
    return;
  }
  const bt = (v as BsonLike)._bsontype;
  if (bt === 'Int32') out.writeAscii(String((v as { valueOf(): number }).valueOf()));
  else if (bt === 'Double') out.writeAscii(doubleJson((v as { valueOf(): number }).valueOf()));
  else if (bt === 'ObjectId' || bt === 'ObjectID') {
    out.writeBytes(OID_OPEN);
    out.writeAscii((v as { toHexString(): string }).toHexString());
    out.writeBytes(OID_CLOSE);
  } else if (bt !== undefined) out.writeString(bsonTypeJson(bt, v as Record<string, unknown>));
  else if (Array.isArray(v)) {
    out.writeByte(0x5b);
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.writeByte(0x2c);
      bsonInto(out, v[i]);
    }
    out.writeByte(0x5d);
  } else if (v instanceof Date) dateInto(out, v);
  else if (v instanceof RegExp || v instanceof Uint8Array) out.writeString(bsonToJson(v));
  else documentInto(out, v as Record<string, unknown>);
}

