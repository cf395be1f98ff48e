/**
 * What the formats write about a column, from its neutral type (core/values.ts) alone: Canal's
 * `mysqlType` and `sqlType`, DTS Avro's value kind, width and `dataTypeNumber`. Computed once per
 * table version (the formats cache them per TableShape), never per value.
 */
import type { Column } from '../../core/events.js';
import type { ValueType } from '../../core/values.js';

/** java.sql.Types codes used below. */
export const JavaSqlTypes = {
  BIT: -7,
  SMALLINT: 5,
  INTEGER: 4,
  BIGINT: -5,
  REAL: 7,
  DOUBLE: 8,
  DECIMAL: 3,
  CHAR: 1,
  VARCHAR: 12,
  DATE: 91,
  TIME: 92,
  TIMESTAMP: 93,
  BLOB: 2004,
  CLOB: 2005,
  BOOLEAN: 16,
} as const;

/** How a DTS Avro image value is built for the column. */
export type AvroKind = 'integer' | 'bool' | 'decimal' | 'float' | 'character' | 'binary' | 'json' | 'xml' | 'date' | 'time' | 'timetz' | 'timestamp' | 'timestamptz';

export interface ColumnTypeInfo {
  /** MySQL-style type name for Canal `mysqlType`. */
  mysqlType: string;
  /** java.sql.Types code for Canal `sqlType`. */
  sqlType: number;
  avro: AvroKind;
  /** Integer or float byte width (DTS Avro Integer/Float precision); 0 otherwise. */
  width: number;
  /**
   * DTS Avro `dataTypeNumber`: the source's own type number (`Column.typeId`) when it has one,
   * else the number the DTS readers know for the neutral type (PostgreSQL's numbering), 0 when none.
   */
  typeNumber: number;
}

const TEXT: ValueType = { kind: 'text' };
const J = JavaSqlTypes;

function info(mysqlType: string, sqlType: number, avro: AvroKind, typeNumber: number, width = 0): ColumnTypeInfo {
  return { mysqlType, sqlType, avro, width, typeNumber };
}

function sized(name: string, length: number | undefined): string {
  return length === undefined ? name : `${name}(${length})`;
}

function integerInfo(t: ValueType): ColumnTypeInfo {
  const bytes = t.bytes ?? 8;
  if (bytes <= 2) return info('smallint', J.SMALLINT, 'integer', 21, bytes);
  if (bytes <= 4) return t.unsigned ? info('int unsigned', J.BIGINT, 'integer', 26, bytes) : info('int', J.INTEGER, 'integer', 23, bytes);
  return info('bigint', J.BIGINT, 'integer', 20, bytes);
}

function textInfo(t: ValueType): ColumnTypeInfo {
  if (t.large) return info('text', J.CLOB, 'character', 25);
  if (t.fixed) return info(sized('char', t.length), J.CHAR, 'character', 1042);
  return info(sized('varchar', t.length), J.VARCHAR, 'character', t.length === undefined ? 0 : 1043);
}

/** The formats' view of a neutral type. */
export function typeInfoOf(t: ValueType): ColumnTypeInfo {
  switch (t.kind) {
    case 'integer':
      return integerInfo(t);
    case 'decimal': {
      const mod = t.precision === undefined ? '' : t.scale === undefined ? `(${t.precision})` : `(${t.precision},${t.scale})`;
      return info(`decimal${mod}`, J.DECIMAL, 'decimal', 1700);
    }
    case 'float':
      return (t.bytes ?? 8) <= 4 ? info('float', J.REAL, 'float', 700, 4) : info('double', J.DOUBLE, 'float', 701, 8);
    case 'boolean':
      return info('boolean', J.BOOLEAN, 'bool', 16, 1);
    case 'text':
      return textInfo(t);
    case 'bytes':
      return info('blob', J.BLOB, 'binary', 17);
    case 'date':
      return info('date', J.DATE, 'date', 1082);
    case 'time':
      return t.zone ? info('time(6)', J.TIME, 'timetz', 1266) : info('time(6)', J.TIME, 'time', 1083);
    case 'timestamp':
      return t.zone ? info('timestamp(6)', J.TIMESTAMP, 'timestamptz', 1184) : info('datetime(6)', J.TIMESTAMP, 'timestamp', 1114);
    case 'interval':
      return info('varchar', J.VARCHAR, 'character', 1186);
    case 'json':
      return info('json', J.VARCHAR, 'json', 114);
    case 'xml':
      return info('text', J.CLOB, 'xml', 142);
    case 'bits':
      return t.fixed ? info(sized('bit', t.length), J.BIT, 'character', 1560) : info('varchar', J.VARCHAR, 'character', 1562);
    case 'uuid':
      return info('char(36)', J.CHAR, 'character', 2950);
    case 'array':
      return info('text', J.VARCHAR, 'character', 0);
    case 'enum':
    case 'document':
      return info('varchar', J.VARCHAR, 'character', 0);
  }
}

const cache = new WeakMap<Column, ColumnTypeInfo>();

/** A column's type information for the formats (text when the source declared no neutral type). */
export function columnTypeInfo(col: Column): ColumnTypeInfo {
  let hit = cache.get(col);
  if (hit === undefined) {
    const base = typeInfoOf(col.value ?? TEXT);
    hit = col.typeId === undefined ? base : { ...base, typeNumber: col.typeId };
    cache.set(col, hit);
  }
  return hit;
}
