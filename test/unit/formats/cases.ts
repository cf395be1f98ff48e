/** Change events shared by the format golden tests. */
import { Decimal128, Long, ObjectId } from 'bson';
import type { ChangeEvent, TableShape } from '../../../src/core/events.js';
import { lsnToBigInt } from '../../../src/core/position.js';
import type { EncodeContext } from '../../../src/formats/format.js';
import { OplogPosition } from '../../../src/sources/mongodb/position.js';
import { PgPosition } from '../../../src/sources/postgres/position.js';
import { postgresColumn } from '../../../src/sources/postgres/values.js';

export const NOW = Date.UTC(2024, 4, 6, 7, 8, 9, 123);
export const COMMIT = Date.UTC(2024, 4, 6, 7, 8, 9, 0) - 1500;

export const pgCtx = (now = NOW): EncodeContext => ({
  now, documents: false, sourceName: 'PostgreSQL', sourceVersion: '15.6',
});
export const mongoCtx = (now = NOW): EncodeContext => ({
  now, documents: true, sourceName: 'MongoDB', sourceVersion: '7.0',
});

/**
 * A stream position as the PostgreSQL reader makes it: the transaction's commit LSN, the change's
 * rank in it, and the commit LSN of the transaction before it.
 */
export const pgPos = (commit: string, seq = 1, previousCommit = '0/16B3700') => new PgPosition(lsnToBigInt(commit), seq, lsnToBigInt(previousCommit));
/** An oplog entry's position (`t`, `i`), and the rank inside an `applyOps` entry. */
export const oplogPos = (t: number, i = 1, seq = -1) => new OplogPosition(t, i, seq);

export const orders: TableShape = {
  ref: { database: 'shop', schema: 'public', table: 'orders' },
  columns: [
    { name: 'id', type: 'int8', typeId: 20 },
    { name: 'status', type: 'text', typeId: 25 },
    { name: 'amount', type: 'numeric', typeId: 1700, precision: 12, scale: 2 },
    { name: 'note', type: 'character varying(40)', nullable: true },
  ].map(postgresColumn),
  key: ['id'],
};

export const lines: TableShape = {
  ref: { database: 'shop', schema: 'sales', table: 'Order Lines' },
  columns: [
    { name: 'order_id', type: 'bigint' },
    { name: 'line_no', type: 'integer' },
    { name: 'sku', type: 'text' },
    { name: 'qty', type: 'int4' },
  ].map(postgresColumn),
  key: ['order_id', 'line_no'],
};

export const allTypes: TableShape = {
  ref: { database: 'shop', schema: 'public', table: 'all_types' },
  columns: [
    { name: 'c_int2', type: 'int2', typeId: 21 },
    { name: 'c_int4', type: 'int4', typeId: 23 },
    { name: 'c_int8', type: 'int8', typeId: 20 },
    { name: 'c_numeric', type: 'numeric', typeId: 1700, precision: 38, scale: 9 },
    { name: 'c_float8', type: 'float8', typeId: 701 },
    { name: 'c_bool', type: 'bool', typeId: 16 },
    { name: 'c_text', type: 'text', typeId: 25 },
    { name: 'c_bytea', type: 'bytea', typeId: 17 },
    { name: 'c_uuid', type: 'uuid', typeId: 2950 },
    { name: 'c_json', type: 'json', typeId: 114 },
    { name: 'c_jsonb', type: 'jsonb', typeId: 3802 },
    { name: 'c_int4_arr', type: 'integer[]', typeId: 1007 },
    { name: 'c_text_arr', type: '_text' },
    { name: 'c_date', type: 'date', typeId: 1082 },
    { name: 'c_ts', type: 'timestamp without time zone', typeId: 1114 },
    { name: 'c_tstz', type: 'timestamptz', typeId: 1184 },
    { name: 'c_time', type: 'time', typeId: 1083 },
    { name: 'c_timetz', type: 'timetz', typeId: 1266 },
    { name: 'c_interval', type: 'interval', typeId: 1186 },
    { name: 'c_enum', type: 'mood', typeId: 16500 },
    { name: 'c_null', type: 'text', typeId: 25, nullable: true },
  ].map(postgresColumn),
  key: ['c_int8'],
};

export const coll: TableShape = {
  ref: { database: 'dts_test', table: 'kafka_test' },
  columns: [],
  key: ['_id'],
};

const base = { snapshot: false, bytes: 100, commitTime: COMMIT };
const oid = new ObjectId('65f1a2b3c4d5e6f708192a3b');

export const pgCases: Record<string, ChangeEvent> = {
  insert: {
    ...base, op: 'insert', shape: orders, position: pgPos('0/16B3748', 1), tx: { id: '745', seq: 1, size: 3 },
    after: { id: '1001', status: 'new', amount: '19.99', note: null },
  },
  'update-changed': {
    ...base, op: 'update', shape: orders, position: pgPos('0/16B3800', 2, '0/16B3748'), tx: { id: '746', seq: 2, size: 3 },
    before: { id: '1001', status: 'new', amount: '19.99', note: null },
    after: { id: '1001', status: 'paid', amount: '19.99', note: 'card "visa"' },
  },
  'update-no-before': {
    ...base, op: 'update', shape: orders, position: pgPos('0/16B3900', 1, '0/16B3800'), tx: { id: '747', seq: 1 },
    after: { id: '1001', status: 'shipped', amount: '19.99', note: null },
  },
  'update-key-change': {
    ...base, op: 'update', shape: orders, position: pgPos('0/16B3A00', 1, '0/16B3900'),
    before: { id: '1001' },
    after: { id: '1002', status: 'shipped', amount: '19.99', note: null },
  },
  delete: {
    ...base, op: 'delete', shape: orders, position: pgPos('0/16B3B00', 3, '0/16B3A00'), tx: { id: '748', seq: 3, size: 3 },
    before: { id: '1002' },
  },
  'composite-key': {
    ...base, op: 'insert', shape: lines, position: pgPos('1/0000A0', 1, '0/16B3B00'),
    after: { order_id: '1001', line_no: 2, sku: 'SKU-ü-😀', qty: 5 },
  },
  ddl: {
    ...base, op: 'ddl', shape: orders, position: pgPos('1/0000B0', 1, '1/0000A0'),
    ddl: { text: 'ALTER TABLE public.orders ADD COLUMN note2 text' },
  },
  truncate: {
    ...base, op: 'truncate', shape: lines, position: pgPos('1/0000C0', 1, '1/0000B0'),
  },
  'all-types': {
    ...base, op: 'insert', shape: allTypes, position: pgPos('2/10', 1, '1/0000C0'),
    after: {
      c_int2: -32768,
      c_int4: 2147483647,
      c_int8: '9007199254740993',
      c_numeric: '12345678901234567890.123456789',
      c_float8: 3.141592653589793,
      c_bool: true,
      c_text: 'quote " backslash \\ newline \n tab \t unicode é 中文 😀 \u2028',
      c_bytea: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]),
      c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      c_json: '{"a": [1, 2.50, "x"]}',
      c_jsonb: '{"big": 123456789012345678901234567890, "f": 1.10}',
      c_int4_arr: '{1,2,NULL}',
      c_text_arr: '{"a b",c}',
      c_date: '2024-02-29',
      c_ts: '2024-02-29 13:14:15.123456',
      c_tstz: '2024-02-29 13:14:15.000001+05:30',
      c_time: '23:59:59.999999',
      c_timetz: '10:11:12.5-03',
      c_interval: '1 year 2 mons 3 days 04:05:06.789',
      c_enum: 'happy',
      c_null: null,
    },
  },
};

export const mongoCases: Record<string, ChangeEvent> = {
  'insert-full-doc': {
    ...base, op: 'insert', shape: coll, position: oplogPos(1714979289),
    after: {
      _id: oid,
      cid: 'a',
      person: { name: 'testName', age: 18, skills: ['database', 'ai'] },
      price: Decimal128.fromString('12345678901234567890.123456789'),
      big: Long.fromString('9007199254740993'),
      small: Long.fromInt(5),
      at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
      ratio: 0.25,
    },
  },
  'oplog-update-set': {
    ...base, op: 'update', shape: coll, position: oplogPos(1714979290),
    before: { _id: oid }, patch: { set: { 'person.age': 20 } },
  },
  'oplog-update-set-new-field': {
    ...base, op: 'update', shape: coll, position: oplogPos(1714979291),
    before: { _id: oid }, patch: { set: { salary: 100 } },
  },
  'oplog-update-unset': {
    ...base, op: 'update', shape: coll, position: oplogPos(1714979292),
    before: { _id: oid }, patch: { unset: ['salary'] },
  },
  'changestream-update-full-doc': {
    ...base, op: 'update', shape: coll, position: oplogPos(1714979293),
    before: { _id: oid },
    after: { _id: oid, cid: 'a', person: { name: 'testName', age: 20, skills: ['database', 'ai'] } },
  },
  delete: {
    ...base, op: 'delete', shape: coll, position: oplogPos(1714979294),
    before: { _id: oid },
  },
  'ddl-drop': {
    ...base, op: 'ddl', shape: coll, position: oplogPos(1714979295),
    ddl: { command: { drop: 'kafka_test' } },
  },
  'ddl-rename': {
    ...base, op: 'ddl', shape: coll, position: oplogPos(1714979296),
    ddl: { command: { renameCollection: 'dts_test.kafka_test', to: 'dts_test.kafka_test2', dropTarget: false } },
  },
};
