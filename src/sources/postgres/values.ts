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
