import type { Column } from '../../core/events.js';
import type { ValueType } from '../../core/values.js';

/**
 * Text-format PostgreSQL values → Row values, without losing information:
 * - int2, int4, oid → JS number (exact, and printed the same as PostgreSQL prints them);
 * - float4, float8 → the exact text PostgreSQL sent: a JS number would print differently
 *   (`1.5e-7` for PostgreSQL's `1.5e-07`, `100000000000000000000` for `1e+20`);
 * - bool → boolean; bytea → Buffer;
 * - everything else (int8, numeric, money, dates, timestamps with their microseconds, time,
 *   interval, uuid, json/jsonb text, arrays in PostgreSQL text form, enums, ranges, composites)
 *   → the exact text PostgreSQL sent.
 */
export type ValueParser = (text: string) => unknown;

const toNumber: ValueParser = (text) => Number(text);
const toBoolean: ValueParser = (text) => text === 't';
const toBuffer: ValueParser = (text) => (text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : Buffer.from(text, 'latin1'));
const asText: ValueParser = (text) => text;

/** Built-in type OIDs (pg_type.oid), stable across PostgreSQL versions. */
export const PG_OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

const parsers = new Map<number, ValueParser>([
  [PG_OID.int2, toNumber],
  [PG_OID.int4, toNumber],
  [PG_OID.oid, toNumber],
  [PG_OID.bool, toBoolean],
  [PG_OID.bytea, toBuffer],
]);

export function parserFor(typeOid: number): ValueParser {
  return parsers.get(typeOid) ?? asText;
}

/** For node-postgres queries (full sync): the same lossless conversion, per result column. */
export const losslessTypes = {
  getTypeParser(oid: number): ValueParser {
    return parserFor(oid);
  },
};

// ---------- neutral types (core/values.ts) of PostgreSQL columns ----------

interface PgType {
  oid: number;
  value: (col: Column) => ValueType;
}

const fixed = (kind: ValueType['kind'], extra: Partial<ValueType> = {}): PgType['value'] => () => ({ kind, ...extra });
const withLength = (kind: 'text' | 'bits', extra: Partial<ValueType> = {}): PgType['value'] => (col) => ({ kind, ...extra, ...(col.precision !== undefined ? { length: col.precision } : {}) });

/** Built-in types by catalog name: their OID and neutral type. */
const PG_TYPES: Record<string, PgType> = {
  bool: { oid: 16, value: fixed('boolean', { bytes: 1 }) },
  bytea: { oid: 17, value: fixed('bytes') },
  char: { oid: 18, value: fixed('text', { fixed: true, length: 1 }) },
  name: { oid: 19, value: fixed('text', { length: 63 }) },
  int8: { oid: 20, value: fixed('integer', { bytes: 8 }) },
  int2: { oid: 21, value: fixed('integer', { bytes: 2 }) },
  int4: { oid: 23, value: fixed('integer', { bytes: 4 }) },
  text: { oid: 25, value: fixed('text', { large: true }) },
  oid: { oid: 26, value: fixed('integer', { bytes: 4, unsigned: true }) },
  json: { oid: 114, value: fixed('json') },
  xml: { oid: 142, value: fixed('xml') },
  float4: { oid: 700, value: fixed('float', { bytes: 4 }) },
  float8: { oid: 701, value: fixed('float', { bytes: 8 }) },
  money: { oid: 790, value: fixed('text') },
  macaddr: { oid: 829, value: fixed('text', { length: 17 }) },
  cidr: { oid: 650, value: fixed('text', { length: 43 }) },
  inet: { oid: 869, value: fixed('text', { length: 43 }) },
  bpchar: { oid: 1042, value: withLength('text', { fixed: true }) },
  varchar: { oid: 1043, value: withLength('text') },
  date: { oid: 1082, value: fixed('date') },
  time: { oid: 1083, value: fixed('time') },
  timestamp: { oid: 1114, value: fixed('timestamp') },
  timestamptz: { oid: 1184, value: fixed('timestamp', { zone: true }) },
  interval: { oid: 1186, value: fixed('interval') },
  timetz: { oid: 1266, value: fixed('time', { zone: true }) },
  bit: { oid: 1560, value: withLength('bits', { fixed: true }) },
  varbit: { oid: 1562, value: fixed('bits') },
  numeric: {
    oid: 1700,
    value: (col) => ({ kind: 'decimal', ...(col.precision !== undefined ? { precision: col.precision } : {}), ...(col.scale !== undefined ? { scale: col.scale } : {}) }),
  },
  uuid: { oid: 2950, value: fixed('uuid') },
  jsonb: { oid: 3802, value: fixed('json') },
};

/** Array type OIDs by element name. */
const ARRAY_OID: Record<string, number> = {
  bool: 1000, bytea: 1001, char: 1002, name: 1003, int2: 1005, int4: 1007, text: 1009,
  bpchar: 1014, varchar: 1015, int8: 1016, float4: 1021, float8: 1022, oid: 1028,
  timestamp: 1115, date: 1182, time: 1183, timestamptz: 1185, interval: 1187, numeric: 1231,
  timetz: 1270, uuid: 2951, json: 199, jsonb: 3807, xml: 143, inet: 1041, cidr: 651, money: 791,
};

const NAME_BY_OID = new Map<number, string>();
for (const [n, t] of Object.entries(PG_TYPES)) NAME_BY_OID.set(t.oid, n);
for (const [n, oid] of Object.entries(ARRAY_OID)) NAME_BY_OID.set(oid, `_${n}`);

const ALIASES: Record<string, string> = {
  smallint: 'int2', integer: 'int4', int: 'int4', bigint: 'int8', smallserial: 'int2', serial: 'int4',
  bigserial: 'int8', real: 'float4', 'double precision': 'float8', float: 'float8', boolean: 'bool',
  decimal: 'numeric', 'character varying': 'varchar', character: 'bpchar',
  'timestamp without time zone': 'timestamp', 'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time', 'time with time zone': 'timetz', 'bit varying': 'varbit',
};

/**
 * A type name as the catalog spells it: modifiers stripped, aliases mapped, arrays `_elem`. Takes
 * the catalog name (`int4`, `_int4`, `timestamptz`) or the `format_type` spelling (`integer`,
 * `integer[]`, `timestamp(3) with time zone`, `character varying(20)`).
 */
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
  t = t.replace(/\s*\([^)]*\)/g, '').replace(/\s+/g, ' ').trim();
  if (t.startsWith('pg_catalog.')) t = t.slice('pg_catalog.'.length);
  // `"char"` (single byte) vs `char(n)` (bpchar): format_type writes the former with quotes
  if (t === '"char"') t = 'char';
  else t = ALIASES[t] ?? t;
  return array ? `_${t}` : t;
}

/**
 * The PostgreSQL converter's column: the neutral type of its PostgreSQL type, and its OID (from the
 * name when the reader did not have it). Enums, domains, ranges, geometric and other user-defined
 * types are text (their text output).
 */
export function postgresColumn(col: Column): Column {
  const name = (col.typeId !== undefined ? NAME_BY_OID.get(col.typeId) : undefined) ?? normalizePgTypeName(col.type);
  const base = PG_TYPES[name];
  let value: ValueType;
  let oid: number | undefined;
  if (base !== undefined) {
    value = base.value(col);
    oid = base.oid;
  } else if (name.startsWith('_')) {
    const element = PG_TYPES[name.slice(1)];
    value = element === undefined ? { kind: 'array' } : { kind: 'array', element: element.value({ name: col.name, type: name.slice(1) }) };
    oid = ARRAY_OID[name.slice(1)];
  } else {
    value = { kind: 'text' };
  }
  const typeId = col.typeId ?? oid;
  return { ...col, value, ...(typeId !== undefined ? { typeId } : {}) };
}
