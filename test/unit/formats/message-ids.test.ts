/**
 * Message ids (Canal JSON `id`, DTS Avro `id`) come from the source position: the same change gets
 * the same id in every process, distinct changes distinct ids. "A restart" below is a fresh encoder
 * (and, as the Kafka sink did, a fresh message counter), fed a replay of the last changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent, TableShape } from '../../../src/core/events.js';
import { ByteSink } from '../../../src/formats/byteSink.js';
import { createCanalJson } from '../../../src/formats/canal-json.js';
import { FULL_LONG, createDtsAvro } from '../../../src/formats/dts-avro.js';
import type { EncodeContext, Format } from '../../../src/formats/format.js';
import { MessageIds, POSITION_IDS } from '../../../src/formats/messageId.js';
import { ResumeTokenPosition } from '../../../src/sources/mongodb/position.js';
import { PgPosition } from '../../../src/sources/postgres/position.js';
import { FIXTURES } from './golden.js';
import { NOW, coll, mongoCtx, oplogPos, orders, pgCtx } from './cases.js';

const LONG_LIMIT = 1n << 63n;

/** The Canal `id` exactly as written (JSON.parse would round ids beyond 2^53). */
function canalId(value: Buffer): bigint {
  const m = /^\{"id":(\d+),/.exec(value.toString('utf8'));
  if (!m?.[1]) throw new Error(`no integer id in ${value.toString('utf8').slice(0, 60)}`);
  return BigInt(m[1]);
}

const avro = (() => {
  const registry: Record<string, avsc.Type> = { long: FULL_LONG };
  avsc.Type.forSchema(JSON.parse(readFileSync(join(FIXTURES, 'Record.avsc'), 'utf8')) as avsc.Schema, { registry, wrapUnions: true });
  return registry['com.alibaba.dts.formats.avro.Record']!;
})();

function dtsId(value: Buffer): bigint {
  return BigInt((avro.fromBuffer(value) as { id: number | bigint }).id);
}

type Path = 'canal encode' | 'canal encodeInto' | 'dts-avro';
const PATHS: Path[] = ['canal encode', 'canal encodeInto', 'dts-avro'];

/** A writer as the Kafka sink drives a format: one encoder and one message counter per process. */
function writer(path: Path, ctx: (now: number) => EncodeContext = pgCtx) {
  const format: Format = path === 'dts-avro' ? createDtsAvro() : createCanalJson();
  let counter = 0;
  return (e: ChangeEvent, now = NOW): bigint => {
    const c = { ...ctx(now), sequence: ++counter };
    if (path === 'canal encodeInto') {
      const out = new ByteSink(256);
      format.encodeInto!(e, c, out);
      return canalId(out.view(out.valueOffset, out.valueLength));
    }
    const value = format.encode(e, c).value;
    return path === 'dts-avro' ? dtsId(value) : canalId(value);
  };
}

const ins = (position: ChangeEvent['position'], id: number, shape: TableShape = orders): ChangeEvent => ({
  op: 'insert', shape, snapshot: false, before: null, after: { id: String(id), status: 'new', amount: '1.00', note: null }, commitTime: NOW - 1000, position, bytes: 50,
});

/** Three transactions as the PostgreSQL reader positions them: commit LSN, rank, previous commit. */
function pgStream(): ChangeEvent[] {
  const c1 = 0x16b3748n;
  const c2 = 0x16b3900n;
  const c3 = 0x3_0000_0000n;
  return [
    ins(new PgPosition(c1, 1, 0x16b3700n), 1),
    ins(new PgPosition(c1, 2, 0x16b3700n), 2),
    ins(new PgPosition(c1, 3, 0x16b3700n), 3),
    ins(new PgPosition(c2, 1, c1), 4),
    ins(new PgPosition(c2, 2, c1), 5),
    ins(new PgPosition(c3, 1, c2), 6),
  ];
}

describe('message ids survive a restart', () => {
  for (const path of PATHS) {
    it(`${path}: a replayed change keeps its id, and no two changes share one (PostgreSQL)`, () => {
      const events = pgStream();
      const first = writer(path);
      const before = events.slice(0, 4).map((e) => first(e));
      // Restart: a new process replays from the checkpoint (inside the second transaction).
      const second = writer(path);
      const after = events.slice(3).map((e) => second(e, NOW + 60_000));
      expect(after[0]).toBe(before[3]);
      const all = [...before, ...after.slice(1)];
      expect(new Set(all).size).toBe(events.length);
      // Increasing in stream order, and Java longs.
      for (let i = 1; i < all.length; i++) expect(all[i]! > all[i - 1]!).toBe(true);
      for (const id of all) expect(id >= POSITION_IDS && id < LONG_LIMIT).toBe(true);
    });

    it(`${path}: the same for MongoDB oplog entries and applyOps operations`, () => {
      const events = [ins(oplogPos(1714979289, 1), 1, coll), ins(oplogPos(1714979289, 2, 0), 2, coll), ins(oplogPos(1714979289, 2, 1), 3, coll), ins(oplogPos(1714979290, 1), 4, coll)];
      const first = writer(path, mongoCtx);
      const before = events.map((e) => first(e));
      const second = writer(path, mongoCtx);
      expect(events.slice(1).map((e) => second(e, NOW + 1000))).toEqual(before.slice(1));
      expect(new Set(before).size).toBe(4);
      for (let i = 1; i < before.length; i++) expect(before[i]! > before[i - 1]!).toBe(true);
    });
  }

  it('every path writes the same id for the same change', () => {
    const e = pgStream()[4]!;
    const ids = PATHS.map((p) => writer(p)(e));
    expect(new Set(ids).size).toBe(1);
  });
});

describe('message ids inside a transaction', () => {
  it('count up through a large transaction and stay below the next transaction', () => {
    const c1 = 0x5_0000_1000n;
    const s = 0x5_0000_0000n; // 4 KiB of WAL before the commit: 4 Mi ids
    const w = writer('canal encodeInto');
    let prev = 0n;
    for (let seq = 1; seq <= 200_000; seq += 997) {
      const id = w(ins(new PgPosition(c1, seq, s), seq));
      expect(id > prev).toBe(true);
      prev = id;
    }
    const next = w(ins(new PgPosition(c1 + 0x40n, 1, c1), 1));
    expect(next > w(ins(new PgPosition(c1, 4 * 1024 * 1024, s), 1))).toBe(true);
  });

  it('changes past the range of their transaction get write-time ids: unique, never a neighbour\'s', () => {
    const c1 = 0x5_0000_0040n;
    const s = 0x5_0000_0000n; // 64 bytes of WAL: 65,536 ids
    const w = writer('canal encode');
    const inRange = w(ins(new PgPosition(c1, 65_536, s), 1));
    const past = [65_537, 65_538, 1_000_000].map((seq) => w(ins(new PgPosition(c1, seq, s), seq)));
    const next = w(ins(new PgPosition(c1 + 0x40n, 1, c1), 1));
    expect(inRange < next).toBe(true);
    for (const id of past) expect(id >= 0n && id < POSITION_IDS).toBe(true);
    expect(new Set([inRange, next, ...past]).size).toBe(5);
  });

  it('a key-changing update written as delete + insert: even id for the delete, the odd one after it for the insert, again on a replay', () => {
    const position = new PgPosition(0x16b3900n, 2, 0x16b3748n);
    const update: ChangeEvent = { op: 'update', shape: orders, snapshot: false, before: { id: '1', status: 'new', amount: '1.00', note: null }, after: { id: '2', status: 'new', amount: '1.00', note: null }, commitTime: NOW, position, bytes: 50 };
    // As the Kafka sink splits it: both halves keep the update's position.
    const halves: ChangeEvent[] = [{ ...update, op: 'delete', after: null }, { ...update, op: 'insert', before: null }];
    const neighbours = [ins(new PgPosition(0x16b3900n, 1, 0x16b3748n), 7), ins(new PgPosition(0x16b3900n, 3, 0x16b3748n), 8)];
    for (const path of PATHS) {
      const w = writer(path);
      const [a, b] = halves.map((e) => w(e));
      expect(a! % 2n).toBe(0n);
      expect(b).toBe(a! + 1n);
      expect([w(halves[0]!), w(halves[1]!)]).toEqual([a, b]);
      const [n1, n3] = neighbours.map((e) => w(e));
      expect(n1! < a! && b! < n3!).toBe(true);
      // A real insert that follows a real delete has a position of its own: no odd id.
      expect(w(neighbours[1]!) % 2n).toBe(0n);
    }
  });
});

describe('messages whose position names no single change', () => {
  const snapshotRow = (id: number): ChangeEvent => ({ ...ins(new PgPosition(0x16b3700n, 0, 0x16b3700n), id), snapshot: true });

  it('full-sync rows get write-time ids below 2^53: distinct from each other, from stream ids, and from the rows of an earlier run', () => {
    for (const [n, path] of PATHS.entries()) {
      const t = NOW + n * 60_000; // write-time ids are process-wide: each path a minute later
      const first = writer(path);
      const run1 = [1, 2, 3].map((i) => first(snapshotRow(i), t));
      // The copy runs again after a restart, a few seconds later.
      const second = writer(path);
      const run2 = [1, 2, 3].map((i) => second(snapshotRow(i), t + 3000));
      const stream = pgStream().map((e) => second(e, t + 3000));
      const all = [...run1, ...run2];
      expect(new Set([...all, ...stream]).size).toBe(all.length + stream.length);
      for (const id of all) expect(id >= 0n && id < POSITION_IDS).toBe(true);
      for (let i = 1; i < all.length; i++) expect(all[i]! > all[i - 1]!).toBe(true);
      // They follow the write time (4096 per ms), not a count that a new process starts again.
      expect(run2[0]! - run1[2]!).toBeGreaterThan(2900n * 4096n);
    }
  });

  it('change-stream events (cluster times repeat inside transactions and across shards) get write-time ids', () => {
    const w = writer('canal encode', mongoCtx);
    const a = w(ins(new ResumeTokenPosition('8266000000000000012B022C0100296E5A1004AA', 0x66000000, 1), 1, coll));
    const b = w(ins(new ResumeTokenPosition('8266000000000000012B022C0100296E5A1004BB', 0x66000000, 1), 2, coll));
    expect(a >= 0n && b > a && b < POSITION_IDS).toBe(true);
  });
});

describe('MessageIds.writeInto', () => {
  it('writes the decimal text of each write-time id, across carries and a gap', () => {
    const ids = new MessageIds();
    const out = new ByteSink(16);
    const e = { op: 'insert', snapshot: true, shape: { ref: { database: 'd', table: 't' }, columns: [], key: [] }, before: null, after: {}, commitTime: 0, position: { encode: () => 'x' }, bytes: 1 } as unknown as ChangeEvent;
    let prev = -1;
    // Many ids in the same millisecond (consecutive, crossing ...9 → ...0 carries), then a later millisecond (a gap).
    for (const now of [Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1, 0, 0, 1)]) {
      for (let i = 0; i < 5000; i++) {
        const from = out.pos;
        ids.writeInto(e, now, out);
        const id = Number(out.buf.toString('latin1', from, out.pos));
        expect(out.buf.toString('latin1', from, out.pos)).toBe(String(id));
        expect(id).toBeGreaterThan(prev);
        if (prev >= 0 && i > 0) expect(id).toBe(prev + 1);
        prev = id;
      }
    }
  });
});
