/**
 * PostgreSQL column types as the message formats need them.
 *
 * ASSUMPTIONS about row values coming from the PostgreSQL reader (see core/events.ts `Row`):
 * - int8, numeric, money, date, time, timetz, timestamp, timestamptz, interval, uuid, inet, enum
 *   labels and every other non-numeric scalar arrive as their PostgreSQL text output (string).
 *   int8 may also arrive as bigint. int2/int4/oid/float4/float8 arrive as JS numbers (or text).
 * - bool arrives as boolean (or 't'/'f' text).
 * - bytea arrives as Buffer/Uint8Array (or `\x…` hex text, which is passed through minus `\x`).
 * - json/jsonb arrive as their TEXT form (string) so that big numbers inside keep every digit;
 *   a parsed object is accepted as a fallback and re-serialized with JSON.stringify.
 * - arrays arrive in PostgreSQL array text form (`{1,2}`), unchanged.
 * - `undefined` means "not known" (e.g. a column absent from a key-only old tuple); `null` is SQL NULL.
 *
 * Type names are normalised from either the catalog name (`int4`, `_int4`, `timestamptz`) or the
 * `format_type` spelling (`integer`, `integer[]`, `timestamp(3) with time zone`, `character varying(20)`).
 */
import type { Column } from '../../core/events.js';

/** java.sql.Types codes used below. */
export const JavaSqlTypes = {
  BIT: -7,
  TINYINT: -6,
  SMALLINT: 5,
  INTEGER: 4,
  BIGINT: -5,
  REAL: 7,
  DOUBLE: 8,
  DECIMAL: 3,
  CHAR: 1,
  VARCHAR: 12,
  LONGVARCHAR: -1,
  DATE: 91,
  TIME: 92,
  TIMESTAMP: 93,
  BINARY: -2,
  BLOB: 2004,
  CLOB: 2005,
  BOOLEAN: 16,
  OTHER: 1111,
} as const;

/** How a DTS Avro image value is built for the column. */
export type AvroKind =
  | 'integer'
  | 'bool'
  | 'decimal'
  | 'float'
  | 'character'
  | 'binary'
  | 'json'
  | 'xml'
  | 'date'
  | 'time'
  | 'timetz'
  | 'timestamp'
  | 'timestamptz';

export interface PgTypeInfo {
  /** Normalised catalog name (`int4`, `varchar`, `_int4` for arrays). */
  name: string;
  /** PostgreSQL type OID (0 when unknown, e.g. enums and other user-defined types without typeId). */
  oid: number;
  /** MySQL-style type name for Canal `mysqlType`. */
  mysqlType: string;
  /** java.sql.Types code for Canal `sqlType`. */
  sqlType: number;
  avro: AvroKind;
  /** Integer byte width (Avro Integer precision) or float width. */
  width: number;
}

interface Base {
  oid: number;
  my: string;
  sql: number;
  avro: AvroKind;
  width?: number;
}

const J = JavaSqlTypes;
const BASE: Record<string, Base> = {
  bool: { oid: 16, my: 'boolean', sql: J.BOOLEAN, avro: 'bool', width: 1 },
  bytea: { oid: 17, my: 'blob', sql: J.BLOB, avro: 'binary' },
  char: { oid: 18, my: 'char(1)', sql: J.CHAR, avro: 'character' },
  name: { oid: 19, my: 'varchar(63)', sql: J.VARCHAR, avro: 'character' },
  int8: { oid: 20, my: 'bigint', sql: J.BIGINT, avro: 'integer', width: 8 },
  int2: { oid: 21, my: 'smallint', sql: J.SMALLINT, avro: 'integer', width: 2 },
  int4: { oid: 23, my: 'int', sql: J.INTEGER, avro: 'integer', width: 4 },
  text: { oid: 25, my: 'text', sql: J.CLOB, avro: 'character' },
  oid: { oid: 26, my: 'int unsigned', sql: J.BIGINT, avro: 'integer', width: 4 },
  json: { oid: 114, my: 'json', sql: J.VARCHAR, avro: 'json' },
  xml: { oid: 142, my: 'text', sql: J.CLOB, avro: 'xml' },
  float4: { oid: 700, my: 'float', sql: J.REAL, avro: 'float', width: 4 },
  float8: { oid: 701, my: 'double', sql: J.DOUBLE, avro: 'float', width: 8 },
  money: { oid: 790, my: 'varchar', sql: J.VARCHAR, avro: 'character' },
  macaddr: { oid: 829, my: 'varchar(17)', sql: J.VARCHAR, avro: 'character' },
  cidr: { oid: 650, my: 'varchar(43)', sql: J.VARCHAR, avro: 'character' },
  inet: { oid: 869, my: 'varchar(43)', sql: J.VARCHAR, avro: 'character' },
  bpchar: { oid: 1042, my: 'char', sql: J.CHAR, avro: 'character' },
  varchar: { oid: 1043, my: 'varchar', sql: J.VARCHAR, avro: 'character' },
  date: { oid: 1082, my: 'date', sql: J.DATE, avro: 'date' },
  time: { oid: 1083, my: 'time(6)', sql: J.TIME, avro: 'time' },
  timestamp: { oid: 1114, my: 'datetime(6)', sql: J.TIMESTAMP, avro: 'timestamp' },
  timestamptz: { oid: 1184, my: 'timestamp(6)', sql: J.TIMESTAMP, avro: 'timestamptz' },
  interval: { oid: 1186, my: 'varchar', sql: J.VARCHAR, avro: 'character' },
  timetz: { oid: 1266, my: 'time(6)', sql: J.TIME, avro: 'timetz' },
  bit: { oid: 1560, my: 'bit', sql: J.BIT, avro: 'character' },
  varbit: { oid: 1562, my: 'varchar', sql: J.VARCHAR, avro: 'character' },
  numeric: { oid: 1700, my: 'decimal', sql: J.DECIMAL, avro: 'decimal' },
  uuid: { oid: 2950, my: 'char(36)', sql: J.CHAR, avro: 'character' },
  jsonb: { oid: 3802, my: 'json', sql: J.VARCHAR, avro: 'json' },
};

/** Array type OIDs by element name. */
const ARRAY_OID: Record<string, number> = {
  bool: 1000, bytea: 1001, char: 1002, name: 1003, int2: 1005, int4: 1007, text: 1009,
  bpchar: 1014, varchar: 1015, int8: 1016, float4: 1021, float8: 1022, oid: 1028,
  timestamp: 1115, date: 1182, time: 1183, timestamptz: 1185, interval: 1187, numeric: 1231,
  timetz: 1270, uuid: 2951, json: 199, jsonb: 3807, xml: 143, inet: 1041, cidr: 651, money: 791,
};

const BY_OID = new Map<number, string>();
for (const [n, b] of Object.entries(BASE)) BY_OID.set(b.oid, n);
for (const [n, oid] of Object.entries(ARRAY_OID)) BY_OID.set(oid, `_${n}`);

const ALIASES: Record<string, string> = {
  smallint: 'int2', integer: 'int4', int: 'int4', bigint: 'int8', smallserial: 'int2', serial: 'int4',
  bigserial: 'int8', real: 'float4', 'double precision': 'float8', float: 'float8', boolean: 'bool',
  decimal: 'numeric', 'character varying': 'varchar', character: 'bpchar',
  '"char"': 'char', 'timestamp without time zone': 'timestamp', 'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time', 'time with time zone': 'timetz', 'bit varying': 'varbit',
  // Db2 for LUW type names (sources/db2) that have a PostgreSQL equivalent the formats know.
  double: 'float8', decfloat: 'numeric', blob: 'bytea', binary: 'bytea', varbinary: 'bytea',
  'character for bit data': 'bytea', 'varchar for bit data': 'bytea', 'long varchar for bit data': 'bytea',
  clob: 'text', dbclob: 'text', 'long varchar': 'text', graphic: 'bpchar', vargraphic: 'varchar', 'long vargraphic': 'text',
};

/** Normalise a type name: strip modifiers, map aliases; arrays become `_elem`. */
export function normalizePgTypeName(type: string): string {
  let t = type.trim().toLowerCase();
  let array = false;
  if (t.endsWith('[]')) {
    array = true;
    t = t.replace(/(\[\])+$/, '');
  } else if (t.startsWith('_')) {
    array = true;
    t = t.slice(1);
  }
  // drop type modifiers: `numeric(10,2)`, `timestamp(3) with time zone`, `character varying(20)`
  t = t.replace(/\s*\([^)]*\)/g, '').replace(/\s+/g, ' ').trim();
  // drop schema qualification of built-ins, e.g. pg_catalog.int4
  if (t.startsWith('pg_catalog.')) t = t.slice('pg_catalog.'.length);
  // `"char"` (single byte) vs `char(n)` (bpchar): format_type writes the former with quotes
  if (t === '"char"') t = 'char';
  else t = ALIASES[t] ?? t;
  return array ? `_${t}` : t;
}

const cache = new Map<string, PgTypeInfo>();

function modifierText(col: Column): string {
  if (col.precision === undefined) return '';
  return col.scale === undefined ? `(${col.precision})` : `(${col.precision},${col.scale})`;
}

/** Type information for a column (arrays and unknown/user-defined types are carried as text). */
export function pgTypeInfo(col: Column): PgTypeInfo {
  const byOid = col.typeId !== undefined ? BY_OID.get(col.typeId) : undefined;
  const name = byOid ?? normalizePgTypeName(col.type);
  const mod = modifierText(col);
  const ck = `${name}|${col.typeId ?? ''}|${mod}`;
  const hit = cache.get(ck);
  if (hit !== undefined) return hit;
  let info: PgTypeInfo;
  const base = BASE[name];
  if (base !== undefined) {
    let my = base.my;
    if (mod !== '' && (name === 'numeric' || name === 'varchar' || name === 'bpchar' || name === 'bit')) my = `${my}${mod}`;
    info = { name, oid: base.oid, mysqlType: my, sqlType: base.sql, avro: base.avro, width: base.width ?? 0 };
  } else if (name.startsWith('_')) {
    // arrays: PostgreSQL array text form, carried as text
    info = { name, oid: col.typeId ?? ARRAY_OID[name.slice(1)] ?? 0, mysqlType: 'text', sqlType: J.VARCHAR, avro: 'character', width: 0 };
  } else {
    // enums, domains over text, ranges, geometric types, user-defined: their text output
    info = { name, oid: col.typeId ?? 0, mysqlType: 'varchar', sqlType: J.VARCHAR, avro: 'character', width: 0 };
  }
  cache.set(ck, info);
  return info;
}

/** Lowercase hex of bytes, no prefix. */
export function toHex(b: Uint8Array): string {
  if (b instanceof Buffer) return b.toString('hex');
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * A value as Canal/Shareplex text: SQL NULL → null, bytea → lowercase hex, booleans `true`/`false`,
 * numbers/bigint in full, strings (PostgreSQL text output) unchanged, objects as JSON.
 */
export function pgValueText(v: unknown): string | null {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return null;
    case 'object':
      if (v === null) return null;
      if (v instanceof Uint8Array) return toHex(v);
      if (v instanceof Date) return v.toISOString();
      return JSON.stringify(v);
    default:
      return String(v);
  }
}

/** Values equal for change detection (`old` in Canal, changed columns in Shareplex). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  return pgValueText(a) === pgValueText(b);
}

// ---------- date/time text parsing (for DTS Avro) ----------

export interface DateTimeParts {
  year: number | null;
  month: number | null;
  day: number | null;
  hour: number | null;
  minute: number | null;
  second: number | null;
  /** Fraction of a second in MICROseconds (the DTS readers pad it to 6 digits). */
  millis: number | null;
}

const DATE_RE = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/;
const TIME_RE = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-]\d{2}(?::?\d{2}){0,2})?$/;
const TS_RE = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-]\d{2}(?::?\d{2}){0,2}|Z)?( BC)?$/;

function micros(frac: string | undefined): number {
  return frac === undefined ? 0 : Number(frac.padEnd(6, '0'));
}

function bcYear(y: number, bc: string | undefined): number {
  return bc === undefined ? y : 1 - y;
}

export function parsePgDate(s: string): DateTimeParts | null {
  const m = DATE_RE.exec(s);
  if (m === null) return null;
  return { year: bcYear(Number(m[1]), m[4]), month: Number(m[2]), day: Number(m[3]), hour: null, minute: null, second: null, millis: null };
}

/** `HH:MM:SS[.ffffff][+hh[:mm]]`; returns the parts and the zone text (null when absent). */
export function parsePgTime(s: string): { parts: DateTimeParts; zone: string | null } | null {
  const m = TIME_RE.exec(s);
  if (m === null) return null;
  return {
    parts: { year: null, month: null, day: null, hour: Number(m[1]), minute: Number(m[2]), second: Number(m[3]), millis: micros(m[4]) },
    zone: m[5] === undefined ? null : normalizeZone(m[5]),
  };
}

export function parsePgTimestamp(s: string): { parts: DateTimeParts; zone: string | null } | null {
  const m = TS_RE.exec(s);
  if (m === null) return null;
  return {
    parts: {
      year: bcYear(Number(m[1]), m[9]), month: Number(m[2]), day: Number(m[3]),
      hour: Number(m[4]), minute: Number(m[5]), second: Number(m[6]), millis: micros(m[7]),
    },
    zone: m[8] === undefined ? null : normalizeZone(m[8]),
  };
}

/** `+05`, `+0530`, `+05:30:15`, `Z` → `+05:00` style. */
export function normalizeZone(z: string): string {
  if (z === 'Z') return '+00:00';
  const sign = z[0] ?? '+';
  const digits = z.slice(1).replace(/:/g, '');
  const hh = digits.slice(0, 2);
  const mm = digits.slice(2, 4) || '00';
  const ss = digits.slice(4, 6);
  return ss ? `${sign}${hh}:${mm}:${ss}` : `${sign}${hh}:${mm}`;
}

export function zoneOffsetSeconds(zone: string): number {
  const sign = zone.startsWith('-') ? -1 : 1;
  const [h = '0', m = '0', s = '0'] = zone.slice(1).split(':');
  return sign * (Number(h) * 3600 + Number(m) * 60 + Number(s));
}

/** Unix seconds (may be negative) and microseconds of a timestamptz text; null when not a finite instant. */
export function pgInstant(s: string): { seconds: number; micros: number } | null {
  const r = parsePgTimestamp(s);
  if (r === null) return null;
  const p = r.parts;
  const d = new Date(0);
  d.setUTCFullYear(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1);
  d.setUTCHours(p.hour ?? 0, p.minute ?? 0, p.second ?? 0, 0);
  const seconds = Math.floor(d.getTime() / 1000) - (r.zone === null ? 0 : zoneOffsetSeconds(r.zone));
  return { seconds, micros: p.millis ?? 0 };
}
