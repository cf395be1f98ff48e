import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { FULL_LONG, createDtsAvro, dtsRecordType } from '../../../src/formats/dts-avro.js';
import { DTS_RECORD_SCHEMA } from '../../../src/formats/dts-avro-schema.js';
import { FIXTURES, golden } from './golden.js';
import { mongoCases, mongoCtx, pgCases, pgCtx } from './cases.js';

/** A reader built from the published .avsc file, unchanged (its longs read over all 64 bits). */
function publishedRecordType(): avsc.Type {
  const registry: Record<string, avsc.Type> = { long: FULL_LONG };
  avsc.Type.forSchema(JSON.parse(readFileSync(join(FIXTURES, 'Record.avsc'), 'utf8')) as avsc.Schema, { registry, wrapUnions: true });
  return registry['com.alibaba.dts.formats.avro.Record']!;
}

const reader = publishedRecordType();
const fmt = createDtsAvro();

function readable(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { $hex: v.toString('hex') };
  if (Array.isArray(v)) return v.map(readable);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, readable(x)]));
  return v;
}

function decode(b: Buffer): Record<string, unknown> {
  const { value, offset } = reader.decode(b, 0);
  expect(offset).toBe(b.length);
  return readable(JSON.parse(JSON.stringify(value, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x !== null && typeof x === 'object' && (x as { type?: string }).type === 'Buffer' ? Buffer.from((x as { data: number[] }).data) : x)))) as Record<string, unknown>;
}

describe('dts-avro schema', () => {
  it('the in-code schema equals the published Record.avsc', () => {
    const file = JSON.parse(readFileSync(join(FIXTURES, 'Record.avsc'), 'utf8'));
    expect(DTS_RECORD_SCHEMA).toEqual(file);
    expect(JSON.stringify(dtsRecordType().schema())).toBe(JSON.stringify(reader.schema()));
    expect(dtsRecordType().fingerprint('sha256').toString('hex')).toBe(reader.fingerprint('sha256').toString('hex'));
  });
});

describe('dts-avro golden', () => {
  for (const [name, e] of Object.entries(pgCases)) {
    it(`postgres ${name}`, () => {
      const r = fmt.encode(e, pgCtx());
      golden(`dts-avro/postgres-${name}.avro.hex`, `${r.value.toString('hex')}\n`);
      golden(`dts-avro/postgres-${name}.json`, `${JSON.stringify(decode(r.value), null, 2)}\n`);
    });
  }
  for (const [name, e] of Object.entries(mongoCases)) {
    it(`mongodb ${name}`, () => {
      const r = fmt.encode(e, mongoCtx());
      golden(`dts-avro/mongodb-${name}.avro.hex`, `${r.value.toString('hex')}\n`);
      golden(`dts-avro/mongodb-${name}.json`, `${JSON.stringify(decode(r.value), null, 2)}\n`);
    });
  }
});

describe('dts-avro semantics (decoded with the published schema)', () => {
  const NS = 'com.alibaba.dts.formats.avro.';
  it('typed images keep full precision', () => {
    const rec = reader.fromBuffer(fmt.encode(pgCases['all-types']!, pgCtx()).value) as Record<string, unknown>;
    expect(rec.operation).toBe('INSERT');
    expect(rec.objectName).toEqual({ string: 'shop.public.all_types' });
    expect(rec.sourcePosition).toBe('2/10');
    expect(rec.source).toEqual({ sourceType: 'PostgreSQL', version: '15.6' });
    const fields = (rec.fields as { array: { name: string; dataTypeNumber: number }[] }).array;
    const after = (rec.afterImages as { array: (Record<string, Record<string, unknown>> | null)[] }).array;
    const at = (n: string) => after[fields.findIndex((f) => f.name === n)];
    expect(fields.find((f) => f.name === 'c_jsonb')?.dataTypeNumber).toBe(3802);
    expect(at('c_int8')).toEqual({ [`${NS}Integer`]: { precision: 8, value: '9007199254740993' } });
    expect(at('c_numeric')).toEqual({ [`${NS}Decimal`]: { value: '12345678901234567890.123456789', precision: 38, scale: 9 } });
    expect(at('c_tstz')).toEqual({ [`${NS}Timestamp`]: { timestamp: Date.UTC(2024, 1, 29, 7, 44, 15) / 1000, millis: 1 } });
    expect(at('c_ts')?.[`${NS}DateTime`]).toMatchObject({ year: { int: 2024 }, second: { int: 15 }, millis: { int: 123456 } });
    expect(at('c_jsonb')).toEqual({ [`${NS}TextObject`]: { type: 'JSON', value: '{"big": 123456789012345678901234567890, "f": 1.10}' } });
    expect(at('c_null')).toBeNull();
  });

  it('DDL text travels in afterImages as a string', () => {
    const rec = reader.fromBuffer(fmt.encode(pgCases.ddl!, pgCtx()).value) as Record<string, unknown>;
    expect(rec.operation).toBe('DDL');
    expect(rec.afterImages).toEqual({ string: 'ALTER TABLE public.orders ADD COLUMN note2 text' });
    expect(rec.fields).toBeNull();
  });
});
