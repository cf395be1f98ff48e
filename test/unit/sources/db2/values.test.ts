import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../../../src/core/events.js';
import { createCanalJson, createDtsAvro, dtsRecordType } from '../../../../src/formats/index.js';
import { Db2Position } from '../../../../src/sources/db2/position.js';
import { classify, convertRow, convertValue, shapeColumn, timestampText, type Db2Column } from '../../../../src/sources/db2/values.js';

const col = (name: string, typeName: string, length = 0, scale = 0, codepage = 1208): Db2Column => classify({ name, typeName, length, scale, nullable: true, codepage });

describe('Db2 value converter', () => {
  it('keeps BIGINT beyond 2^53 as text, every digit, and refuses a driver number that lost precision', () => {
    const c = col('ID', 'BIGINT', 8);
    expect(convertValue(c, '9223372036854775807')).toBe('9223372036854775807');
    expect(convertValue(c, '-9223372036854775808')).toBe('-9223372036854775808');
    expect(convertValue(c, 42)).toBe('42');
    expect(convertValue(c, 9007199254740993n)).toBe('9007199254740993');
    expect(() => convertValue(c, 2 ** 60)).toThrow(/lost precision/);
  });

  it('keeps DECIMAL with its scale, whatever Db2 writes for sign, leading zeros and decimal character', () => {
    const c = col('PRICE', 'DECIMAL', 31, 8);
    expect(convertValue(c, '1234567890123456789012.12345678')).toBe('1234567890123456789012.12345678');
    expect(convertValue(c, '-.50000000')).toBe('-0.50000000');
    expect(convertValue(c, '+0012,50000000')).toBe('12.50000000');
    expect(convertValue(c, '-0.00000000')).toBe('0.00000000');
    expect(shapeColumn(c)).toMatchObject({ type: 'DECIMAL', precision: 31, scale: 8 });
  });

  it('keeps DECFLOAT text with its exponent and special values, precision 16 or 34', () => {
    const c16 = col('R', 'DECFLOAT', 8);
    const c34 = col('R', 'DECFLOAT', 16);
    expect(convertValue(c34, '1.234567890123456789012345678901234E+6144')).toBe('1.234567890123456789012345678901234E+6144');
    expect(convertValue(c34, '-Infinity')).toBe('-Infinity');
    expect(convertValue(c34, 'sNaN')).toBe('sNaN');
    expect(convertValue(c16, '+1.5e-3')).toBe('1.5E-3');
    expect(shapeColumn(c16).precision).toBe(16);
    expect(shapeColumn(c34).precision).toBe(34);
  });

  it('reads REAL as the shortest float32 decimal and DOUBLE exactly', () => {
    expect(convertValue(col('F', 'REAL', 4), '+1.00000001490116E-001')).toBe(0.1);
    expect(convertValue(col('D', 'DOUBLE', 8), '1.2345678901234567E0')).toBe(1.2345678901234567);
  });

  it('truncates TIMESTAMP(12) to the microseconds the formats carry, never rounding into the next second', () => {
    const c = col('TS', 'TIMESTAMP', 13, 12);
    expect(convertValue(c, '2024-02-29-23.59.59.999999999999')).toBe('2024-02-29 23:59:59.999999');
    expect(convertValue(c, '2024-01-02 03:04:05.123456789012')).toBe('2024-01-02 03:04:05.123456');
    expect(convertValue(col('TS', 'TIMESTAMP', 10, 0), '2024-01-02-03.04.05')).toBe('2024-01-02 03:04:05');
    expect(convertValue(col('TS', 'TIMESTAMP', 10, 3), '2024-01-02-03.04.05.120')).toBe('2024-01-02 03:04:05.120');
    expect(timestampText('not a time')).toBeNull();
    expect(shapeColumn(c)).toMatchObject({ type: 'TIMESTAMP', precision: 12 });
  });

  it('reads DATE and TIME in ISO / JIS form (and TIME in Db2 ISO form HH.MM.SS)', () => {
    expect(convertValue(col('D', 'DATE', 4), '2024-12-31')).toBe('2024-12-31');
    expect(convertValue(col('T', 'TIME', 3), '23:59:58')).toBe('23:59:58');
    expect(convertValue(col('T', 'TIME', 3), '23.59.58')).toBe('23:59:58');
  });

  it('reads BLOB and FOR BIT DATA as bytes, from buffers or HEX() text', () => {
    const bit = col('B', 'VARCHAR', 16, 0, 0);
    expect(bit).toMatchObject({ kind: 'bitdata', type: 'VARCHAR FOR BIT DATA' });
    expect(col('B', 'CHARACTER', 4, 0, 0).type).toBe('CHARACTER FOR BIT DATA');
    expect(convertValue(bit, '00FF10')).toEqual(Buffer.from([0, 255, 16]));
    expect(convertValue(col('L', 'BLOB', 1000), Buffer.from('hi'))).toEqual(Buffer.from('hi'));
    expect(() => convertValue(bit, 'xyz')).toThrow(/binary/);
  });

  it('keeps CHAR padding, GRAPHIC and CLOB text, XML as text, BOOLEAN as boolean, NULL as null', () => {
    expect(convertValue(col('C', 'CHARACTER', 4), 'ab  ')).toBe('ab  ');
    expect(convertValue(col('G', 'VARGRAPHIC', 10), '漢字')).toBe('漢字');
    expect(convertValue(col('X', 'XML'), '<a b="1"/>')).toBe('<a b="1"/>');
    expect(convertValue(col('K', 'BOOLEAN', 1), 1)).toBe(true);
    expect(convertValue(col('K', 'BOOLEAN', 1), 'FALSE')).toBe(false);
    expect(convertValue(col('K', 'BOOLEAN', 1), null)).toBeNull();
    expect(col('L', 'CLOB', 100).lob).toBe(true);
    expect(col('L', 'DBCLOB', 100)).toMatchObject({ kind: 'clob', lob: true });
  });
});

describe('Db2 rows through the formats', () => {
  const cols = [col('ID', 'BIGINT', 8), col('PRICE', 'DECIMAL', 31, 8), col('RATIO', 'DOUBLE', 8), col('RATE', 'DECFLOAT', 8), col('TAG', 'VARCHAR', 8, 0, 0), col('DOC', 'BLOB', 100), col('STAMP', 'TIMESTAMP', 13, 12), col('DAY', 'DATE', 4), col('OK', 'BOOLEAN', 1), col('NAME', 'VARGRAPHIC', 20)];
  const shape = { ref: { database: 'SAMPLE', schema: 'DB2INST1', table: 'ORDERS' }, columns: cols.map(shapeColumn), key: ['ID'] };
  const raw = { ID: '9223372036854775807', PRICE: '12.50000000', RATIO: '2.5E0', RATE: '1.5E+3', TAG: '00FF', DOC: Buffer.from('blob!'), STAMP: '2024-01-02-03.04.05.123456789012', DAY: '2024-01-02', OK: true, NAME: '漢字' };
  const after = convertRow(cols, raw);
  const event: ChangeEvent = { op: 'insert', shape, snapshot: false, before: null, after, commitTime: 1_704_164_645_000, position: new Db2Position(Buffer.alloc(16, 1), Buffer.alloc(16, 2)), bytes: 100 };
  const ctx = { now: 1_704_164_646_000, documents: false, sourceName: 'DB2' };

  it('Canal JSON writes every digit, bytes as hex, and Db2 type names mapped to MySQL-style types', () => {
    const m = JSON.parse(createCanalJson().encode(event, ctx).value.toString()) as { data: Array<Record<string, string>>; mysqlType: Record<string, string>; pkNames: string[] };
    expect(m.data[0]).toMatchObject({ ID: '9223372036854775807', PRICE: '12.50000000', RATIO: '2.5', RATE: '1.5E+3', TAG: '00ff', DOC: Buffer.from('blob!').toString('hex'), STAMP: '2024-01-02 03:04:05.123456', DAY: '2024-01-02', OK: 'true', NAME: '漢字' });
    expect(m.mysqlType).toMatchObject({ ID: 'bigint', PRICE: 'decimal(31,8)', RATIO: 'double', TAG: 'blob', DOC: 'blob', STAMP: 'datetime(6)', DAY: 'date', OK: 'boolean' });
    expect(m.pkNames).toEqual(['ID']);
  });

  it('DTS Avro writes BIGINT as an 8-byte Integer, DECIMAL/DECFLOAT as Decimal, bytes as BinaryObject, TIMESTAMP as DateTime with microseconds', () => {
    const rec = dtsRecordType().fromBuffer(createDtsAvro().encode(event, ctx).value) as { source: { sourceType: string }; afterImages: { array: Array<Record<string, Record<string, unknown>>> } };
    expect(rec.source.sourceType).toBe('DB2');
    const img = rec.afterImages.array;
    const ns = 'com.alibaba.dts.formats.avro.';
    expect(img[0]?.[`${ns}Integer`]).toEqual({ precision: 8, value: '9223372036854775807' });
    expect(img[1]?.[`${ns}Decimal`]).toEqual({ value: '12.50000000', precision: 31, scale: 8 });
    expect(img[2]?.[`${ns}Float`]).toMatchObject({ value: 2.5, precision: 8 });
    expect(img[3]?.[`${ns}Decimal`]).toMatchObject({ value: '1.5E+3', precision: 16 });
    expect((img[4]?.[`${ns}BinaryObject`] as { value: Buffer }).value).toEqual(Buffer.from([0, 255]));
    expect((img[5]?.[`${ns}BinaryObject`] as { value: Buffer }).value).toEqual(Buffer.from('blob!'));
    expect(img[6]?.[`${ns}DateTime`]).toMatchObject({ year: { int: 2024 }, second: { int: 5 }, millis: { int: 123456 } });
    expect(img[8]?.[`${ns}Integer`]).toEqual({ precision: 1, value: '1' });
  });
});
