import { describe, expect, it } from 'vitest';
import { createCanalJson } from '../../../src/formats/canal-json.js';
import { golden } from './golden.js';
import { mongoCases, mongoCtx, pgCases, pgCtx } from './cases.js';

type Canal = {
  id: number; database: string; table: string; pkNames: string[] | null; isDdl: boolean; type: string;
  es: number; ts: number; sql: unknown; sqlType: Record<string, number> | null; mysqlType: Record<string, string> | null;
  data: Record<string, unknown>[] | null; old: Record<string, unknown>[] | null; gtid: null; serverId: null;
};

const fmt = createCanalJson();

describe('canal-json golden', () => {
  const keys: Record<string, string | null> = {};
  for (const [name, e] of Object.entries(pgCases)) {
    it(`postgres ${name}`, () => {
      const r = fmt.encode(e, pgCtx());
      keys[`postgres-${name}`] = r.key === null ? null : r.key.toString();
      golden(`canal-json/postgres-${name}.json`, `${r.value.toString('utf8')}\n`);
    });
  }
  for (const [name, e] of Object.entries(mongoCases)) {
    it(`mongodb ${name}`, () => {
      const r = fmt.encode(e, mongoCtx());
      keys[`mongodb-${name}`] = r.key === null ? null : r.key.toString();
      golden(`canal-json/mongodb-${name}.json`, `${r.value.toString('utf8')}\n`);
    });
  }
  it('record keys', () => {
    golden('canal-json/keys.json', `${JSON.stringify(keys, null, 2)}\n`);
  });
});

describe('canal-json semantics', () => {
  const parse = (b: Buffer) => JSON.parse(b.toString('utf8')) as Canal;

  it('writes the envelope with PostgreSQL schema as database and full-precision text values', () => {
    const value = fmt.encode(pgCases['all-types']!, pgCtx()).value;
    // 2^53 + 2 × (previous commit 1/C0 × 1024 + rank 1): see messageId.ts.
    expect(value.toString()).toMatch(/^\{"id":9015995348156418,"database"/);
    const m = parse(value);
    expect(m).toMatchObject({ database: 'public', table: 'all_types', pkNames: ['c_int8'], isDdl: false, type: 'INSERT', sql: '', gtid: null, serverId: null, old: null });
    const row = m.data![0]!;
    expect(row.c_int8).toBe('9007199254740993');
    expect(row.c_numeric).toBe('12345678901234567890.123456789');
    expect(row.c_bytea).toBe('deadbeef00');
    expect(row.c_ts).toBe('2024-02-29 13:14:15.123456');
    expect(row.c_jsonb).toBe('{"big": 123456789012345678901234567890, "f": 1.10}');
    expect(row.c_bool).toBe('true');
    expect(row.c_null).toBeNull();
    expect(m.sqlType).toMatchObject({ c_int8: -5, c_numeric: 3, c_bool: 16, c_bytea: 2004, c_ts: 93 });
    expect(m.mysqlType).toMatchObject({ c_int8: 'bigint', c_numeric: 'decimal(38,9)', c_int4_arr: 'text' });
  });

  it('puts only the changed columns in old', () => {
    const m = parse(fmt.encode(pgCases['update-changed']!, pgCtx()).value);
    expect(m.old).toEqual([{ status: 'new', note: null }]);
    expect(m.data).toEqual([{ id: '1001', status: 'paid', amount: '19.99', note: 'card "visa"' }]);
  });

  it('writes old [{}] when the previous row is unknown, and keys by the old key when the key changed', () => {
    expect(parse(fmt.encode(pgCases['update-no-before']!, pgCtx()).value).old).toEqual([{}]);
    const r = fmt.encode(pgCases['update-key-change']!, pgCtx());
    expect(parse(r.value).old).toEqual([{ id: '1001' }]);
    expect(r.key?.toString()).toBe('["1001"]');
  });

  it('DDL and TRUNCATE are type DDL with sql text and a null key', () => {
    const d = fmt.encode(pgCases.ddl!, pgCtx());
    expect(d.key).toBeNull();
    expect(parse(d.value)).toMatchObject({ isDdl: true, type: 'DDL', sql: 'ALTER TABLE public.orders ADD COLUMN note2 text', data: null, old: null });
    expect(parse(fmt.encode(pgCases.truncate!, pgCtx()).value).sql).toBe('TRUNCATE TABLE sales."Order Lines"');
  });

  it('MongoDB: null type maps, old = _id only for updates, $set/$unset partial updates, DDL command document', () => {
    const ins = parse(fmt.encode(mongoCases['insert-full-doc']!, mongoCtx()).value);
    expect(ins).toMatchObject({ database: 'dts_test', table: 'kafka_test', pkNames: ['_id'], sql: null, sqlType: null, mysqlType: null, old: null, gtid: null, serverId: null });
    expect(ins.data![0]).toMatchObject({ _id: { $oid: '65f1a2b3c4d5e6f708192a3b' }, price: { $numberDecimal: '12345678901234567890.123456789' }, big: { $numberLong: '9007199254740993' }, at: { $date: '2024-01-02T03:04:05.678Z' } });
    const upd = parse(fmt.encode(mongoCases['oplog-update-set']!, mongoCtx()).value);
    expect(upd.data).toEqual([{ $set: { 'person.age': 20 } }]);
    expect(upd.old).toEqual([{ _id: { $oid: '65f1a2b3c4d5e6f708192a3b' } }]);
    expect(parse(fmt.encode(mongoCases['oplog-update-unset']!, mongoCtx()).value).data).toEqual([{ $unset: { salary: true } }]);
    const drop = parse(fmt.encode(mongoCases['ddl-drop']!, mongoCtx()).value);
    expect(drop).toMatchObject({ isDdl: true, type: 'DDL', data: null, old: null, sql: { drop: 'kafka_test' } });
  });

  it('can write source type names in mysqlType', () => {
    const m = parse(createCanalJson({ typeNames: 'source' }).encode(pgCases.insert!, pgCtx()).value);
    expect(m.mysqlType).toEqual({ id: 'int8', status: 'text', amount: 'numeric', note: 'character varying(40)' });
  });

  it('rejects heartbeats and rows without their key', () => {
    expect(() => fmt.encode({ ...pgCases.insert!, op: 'heartbeat' }, pgCtx())).toThrow(/heartbeat/);
    expect(() => fmt.encode({ ...pgCases.insert!, after: { status: 'x' } }, pgCtx())).toThrow(/key/);
  });

  it('reuses prepared metadata per table shape and stays correct across shapes', () => {
    const a = fmt.encode(pgCases.insert!, pgCtx()).value.toString();
    const b = fmt.encode(pgCases['composite-key']!, pgCtx()).value.toString();
    expect(fmt.encode(pgCases.insert!, pgCtx()).value.toString()).toBe(a);
    expect(JSON.parse(b).table).toBe('Order Lines');
  });
});
