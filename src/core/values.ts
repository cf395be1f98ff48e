/**
 * The neutral value vocabulary: what a column holds, said without naming a database. A source
 * converts its own types into it (its converter: `sources/<db>/values.ts`, as Debezium's value
 * converters do) and declares each column's `ValueType` once per table version; the formats map
 * the vocabulary to Canal JSON, DTS Avro and Shareplex JSON without knowing where a value came from.
 *
 * Declared per column, not wrapped per value: a row keeps plain JavaScript values, so nothing is
 * allocated per value on the way to the formats. What each kind's values are:
 *
 * | kind | row value |
 * | --- | --- |
 * | `integer` (any size) | `number` (safe integers), `bigint`, or the exact decimal text |
 * | `decimal` (precision, scale) | the exact decimal text |
 * | `float` | `number`, or the source's exact text (`1.5e-07`, `NaN`, `Infinity`) |
 * | `boolean` | `boolean` |
 * | `text`, `enum`, `uuid`, `interval`, `xml`, `bits` | the source's text |
 * | `bytes` | `Uint8Array` (Buffer) |
 * | `date` | `YYYY-MM-DD` (` BC` for years before 1) |
 * | `time` | `HH:MM:SS[.ffffff]`, with zone: `+HH[:MM]` appended |
 * | `timestamp` | `YYYY-MM-DD HH:MM:SS[.ffffff]` (microseconds), with zone: `+HH[:MM]` appended |
 * | `json` | the exact JSON text (big numbers keep every digit) |
 * | `array` | the source's array text |
 * | `document` | an object whose values are BSON value classes (rendered as Extended JSON) |
 *
 * SQL NULL is `null` in every kind; `undefined` means "not known" (a column absent from a key-only
 * old image). Where a client needs the source's own spelling, the column keeps it (`Column.type`,
 * `Column.typeId`) and temporal, decimal and float values are the source's exact text.
 */
export type ValueKind =
  | 'integer'
  | 'decimal'
  | 'float'
  | 'boolean'
  | 'text'
  | 'bytes'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'interval'
  | 'json'
  | 'xml'
  | 'bits'
  | 'array'
  | 'document'
  | 'enum'
  | 'uuid';

/** A column's neutral type. */
export interface ValueType {
  kind: ValueKind;
  /** `integer`, `float`, `boolean`: storage width in bytes (2, 4, 8; 1 for boolean). */
  bytes?: number;
  /** `integer`: no negative values (an OID). */
  unsigned?: boolean;
  /** `decimal`: declared precision and scale; absent when unconstrained. */
  precision?: number;
  scale?: number;
  /** `text`, `bits`: declared length; absent when unbounded. */
  length?: number;
  /** `text`, `bits`: fixed length (CHAR, BIT) rather than varying. */
  fixed?: boolean;
  /** `text`: a large object (TEXT, CLOB) rather than a bounded string. */
  large?: boolean;
  /** `time`, `timestamp`: with a time zone (an instant, or a time of day with its offset). */
  zone?: boolean;
  /** `array`: the elements' type. */
  element?: ValueType;
}
