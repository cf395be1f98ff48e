import { describe, expect, it } from 'vitest';
import { BSON } from 'mongodb';
import type { Document } from 'mongodb';
import { SequencePosition, OversizedRecordError } from '../../../../src/core/index.js';
import type { ChangeEvent, TableShape } from '../../../../src/core/index.js';
import {
  ShardKeyUpdateError,
  idKey,
  laneOf,
  partitionLanes,
  translateEvent,
} from '../../../../src/sinks/mongodb/ops.js';
import type { WriteOp } from '../../../../src/sinks/mongodb/ops.js';
import { compareVersions, missingRoles } from '../../../../src/sinks/mongodb/precheck.js';
import { stripTtl } from '../../../../src/sinks/mongodb/schema.js';
import { canonicalDocument } from '../../../../src/sinks/mongodb/verify.js';

const shape: TableShape = { ref: { database: 'shop', table: 'orders' }, columns: [], key: ['_id'] };
const ev = (e: Partial<ChangeEvent> & Pick<ChangeEvent, 'op'>): ChangeEvent => ({
  shape,
  snapshot: false,
  commitTime: 0,
  position: new SequencePosition(1n),
  bytes: 10,
  ...e,
});

describe('translateEvent', () => {
  it('a resumed task replays snapshot inserts as upserts by _id (issue 18: E11000 on restart)', () => {
    const snap = translateEvent(ev({ op: 'insert', snapshot: true, after: { _id: 1, a: 1 } }), { replay: true });
    expect(snap).toEqual({ type: 'write', op: { kind: 'replace', ns: 'shop.orders', id: 1, snapshot: true, model: { replaceOne: { filter: { _id: 1 }, replacement: { _id: 1, a: 1 }, upsert: true } } } });
  });

  it('snapshot insert → insertOne; incremental insert → replaceOne upsert by _id', () => {
    const snap = translateEvent(ev({ op: 'insert', snapshot: true, after: { _id: 1, a: 1 } }));
    expect(snap).toEqual({ type: 'write', op: { kind: 'insert', ns: 'shop.orders', id: 1, snapshot: true, model: { insertOne: { document: { _id: 1, a: 1 } } } } });
    const inc = translateEvent(ev({ op: 'insert', after: { _id: 1, a: 1 } }));
    expect(inc.type === 'write' && inc.op.model).toEqual({ replaceOne: { filter: { _id: 1 }, replacement: { _id: 1, a: 1 }, upsert: true } });
  });

  it('update with after → replaceOne upsert; with patch → updateOne $set/$unset without upsert', () => {
    const full = translateEvent(ev({ op: 'update', before: { _id: 2 }, after: { _id: 2, b: 3 } }));
    expect(full.type === 'write' && full.op.kind).toBe('replace');
    expect(full.type === 'write' && full.op.model).toEqual({ replaceOne: { filter: { _id: 2 }, replacement: { _id: 2, b: 3 }, upsert: true } });
    const patch = translateEvent(ev({ op: 'update', before: { _id: 2 }, patch: { set: { b: 4, 'c.d': 1 }, unset: ['z'] } }));
    expect(patch.type === 'write' && patch.op.model).toEqual({ updateOne: { filter: { _id: 2 }, update: { $set: { b: 4, 'c.d': 1 }, $unset: { z: '' } } } });
    expect(patch.type === 'write' && 'upsert' in (patch.op.model as { updateOne: object }).updateOne).toBe(false);
  });

  it('delete → deleteOne; heartbeat skipped; ddl and truncate are barriers', () => {
    const del = translateEvent(ev({ op: 'delete', before: { _id: 'x' } }));
    expect(del.type === 'write' && del.op.model).toEqual({ deleteOne: { filter: { _id: 'x' } } });
    expect(translateEvent(ev({ op: 'heartbeat' }))).toEqual({ type: 'skip' });
    expect(translateEvent(ev({ op: 'ddl', ddl: { command: { drop: 'orders' } } }))).toEqual({
      type: 'barrier',
      op: { kind: 'ddl', database: 'shop', collection: 'orders', command: { drop: 'orders' } },
    });
    expect(() => translateEvent(ev({ op: 'ddl', ddl: { text: 'drop' } }))).toThrow(/ddl.command/);
    expect(translateEvent(ev({ op: 'truncate' })).type).toBe('barrier');
  });

  it('documents over the BSON limit fail naming collection and _id', () => {
    const big = { _id: 'big1', s: 'x'.repeat(2000) };
    try {
      translateEvent(ev({ op: 'insert', after: big }), { maxDocumentBytes: 1000 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(OversizedRecordError);
      expect((err as Error).message).toContain('shop.orders');
      expect((err as Error).message).toContain('"big1"');
      expect((err as OversizedRecordError).retriable).toBe(false);
    }
  });

  it('a 17 MB document fails at the default 16 MB limit', () => {
    const big = { _id: 7, s: 'y'.repeat(17 * 1024 * 1024) };
    expect(() => translateEvent(ev({ op: 'update', before: { _id: 7 }, after: big }))).toThrow(OversizedRecordError);
  });

  it('sharded destination: updates that change a shard key fail; filters carry the shard key', () => {
    const shardKey = ['region'];
    expect(() =>
      translateEvent(ev({ op: 'update', before: { _id: 1, region: 'eu' }, after: { _id: 1, region: 'us' } }), { shardKey }),
    ).toThrow(ShardKeyUpdateError);
    expect(() => translateEvent(ev({ op: 'update', before: { _id: 1 }, patch: { set: { region: 'us' } } }), { shardKey })).toThrow(/region/);
    expect(() => translateEvent(ev({ op: 'update', before: { _id: 1 }, patch: { unset: ['region'] } }), { shardKey })).toThrow(ShardKeyUpdateError);
    // Setting the shard key to the value it had is not a change.
    const same = translateEvent(ev({ op: 'update', before: { _id: 1, region: 'eu' }, patch: { set: { region: 'eu', n: 1 } } }), { shardKey });
    expect(same.type).toBe('write');
    const ok = translateEvent(ev({ op: 'update', before: { _id: 1, region: 'eu' }, after: { _id: 1, region: 'eu', n: 2 } }), { shardKey });
    expect(ok.type === 'write' && ok.op.model).toEqual({
      replaceOne: { filter: { _id: 1, region: 'eu' }, replacement: { _id: 1, region: 'eu', n: 2 }, upsert: true },
    });
    const nested = translateEvent(ev({ op: 'update', before: { _id: 1 }, patch: { set: { 'a.x': 1 } } }), { shardKey: ['a.b'] });
    expect(nested.type).toBe('write');
    expect(() => translateEvent(ev({ op: 'update', before: { _id: 1 }, patch: { set: { a: { b: 2 } } } }), { shardKey: ['a.b'] })).toThrow(
      ShardKeyUpdateError,
    );
  });

  it('events without _id fail', () => {
    expect(() => translateEvent(ev({ op: 'delete', before: {} }))).toThrow(/_id/);
  });
});

describe('lanes', () => {
  it('idKey treats numeric types alike and ObjectIds by hex', () => {
    expect(idKey(1)).toBe(idKey(new BSON.Int32(1)));
    expect(idKey(1)).toBe(idKey(BSON.Long.fromNumber(1)));
    const oid = new BSON.ObjectId();
    expect(idKey(oid)).toBe(idKey(new BSON.ObjectId(oid.toHexString())));
    expect(idKey('1')).not.toBe(idKey(1));
    expect(idKey({ a: 1 })).toBe(idKey({ a: 1 }));
  });

  const op = (id: unknown, seq: number, ns = 'shop.orders'): WriteOp => ({
    kind: 'replace',
    ns,
    id,
    snapshot: false,
    model: { replaceOne: { filter: { _id: id } as Document, replacement: { _id: id, seq }, upsert: true } },
  });

  it('keeps every _id in one lane, in input order, and spreads ids over lanes', () => {
    const ops: WriteOp[] = [];
    for (let seq = 0; seq < 3000; seq++) ops.push(op(seq % 500, seq));
    const lanes = partitionLanes(ops, 8, () => false);
    expect(lanes.length).toBe(8);
    expect(lanes.reduce((n, l) => n + l.ops.length, 0)).toBe(3000);
    const laneById = new Map<unknown, number>();
    for (const l of lanes) {
      const lastSeqById = new Map<unknown, number>();
      for (const o of l.ops) {
        expect(laneById.get(o.id) ?? l.lane).toBe(l.lane);
        laneById.set(o.id, l.lane);
        const seq = (o.model as unknown as { replaceOne: { replacement: { seq: number } } }).replaceOne.replacement.seq;
        expect(seq).toBeGreaterThan(lastSeqById.get(o.id) ?? -1);
        lastSeqById.set(o.id, seq);
      }
      // Every lane gets a fair share (500 ids over 8 lanes).
      expect(l.ops.length).toBeGreaterThan(150);
    }
    expect(laneOf(42, 8)).toBe(laneOf(42, 8));
    expect(laneOf(42, 1)).toBe(0);
  });

  it('single-threaded collections get one ordered lane; others are split', () => {
    const ops = [op(1, 0, 'a.u'), op(2, 1, 'a.u'), op(3, 2, 'a.p'), op(4, 3, 'a.u'), op(5, 4, 'a.p')];
    const lanes = partitionLanes(ops, 8, (ns) => ns === 'a.u');
    const u = lanes.filter((l) => l.ns === 'a.u');
    expect(u).toHaveLength(1);
    expect(u[0]?.ops.map((o) => o.id)).toEqual([1, 2, 4]);
    expect(lanes.filter((l) => l.ns === 'a.p').flatMap((l) => l.ops.map((o) => o.id)).sort()).toEqual([3, 5]);
  });
});

describe('helpers', () => {
  it('compareVersions', () => {
    expect(compareVersions('5.0.0', '4.4.10')).toBeGreaterThan(0);
    expect(compareVersions('4.4', '4.4.0')).toBe(0);
    expect(compareVersions('4.2.1', '4.10.0')).toBeLessThan(0);
  });

  it('missingRoles', () => {
    expect(missingRoles([{ role: 'root', db: 'admin' }], ['shop'])).toEqual([]);
    expect(missingRoles([{ role: 'readWrite', db: 'shop' }], ['shop', 'crm'])).toEqual(['dbAdminAnyDatabase@admin', 'readWrite@crm', 'read@local']);
    expect(
      missingRoles(
        [
          { role: 'dbAdminAnyDatabase', db: 'admin' },
          { role: 'readWriteAnyDatabase', db: 'admin' },
        ],
        ['shop'],
      ),
    ).toEqual([]);
  });

  it('stripTtl removes expireAfterSeconds and reports it', () => {
    expect(stripTtl({ key: { ts: 1 }, name: 'ts_1', expireAfterSeconds: 60 })).toEqual({ spec: { key: { ts: 1 }, name: 'ts_1' }, expireAfterSeconds: 60 });
    expect(stripTtl({ key: { a: 1 }, name: 'a_1' })).toEqual({ spec: { key: { a: 1 }, name: 'a_1' } });
  });

  it('canonicalDocument ignores field order but keeps types', () => {
    expect(canonicalDocument({ b: 1, a: { y: 2, x: 1 } })).toBe(canonicalDocument({ a: { x: 1, y: 2 }, b: 1 }));
    expect(canonicalDocument({ a: 1 })).not.toBe(canonicalDocument({ a: BSON.Long.fromNumber(1) }));
    expect(canonicalDocument({ a: 1 })).not.toBe(canonicalDocument({ a: '1' }));
  });
});

describe('classifyMongoError', () => {
  it('turns a bulk write interrupted by a network pool reset into a connection error', async () => {
    const { classifyMongoError } = await import('../../../../src/sinks/mongodb/writer.js');
    const net = Object.assign(new Error('connection <monitor> timed out'), { name: 'MongoNetworkTimeoutError' });
    const pool = Object.assign(new Error('interrupted'), { name: 'PoolClearedOnNetworkError', cause: net });
    const bulk = Object.assign(new Error('Connection to 127.0.0.1:27117 interrupted'), { name: 'MongoBulkWriteError', errorResponse: pool });
    const e = classifyMongoError(bulk, 'dest') as { kind?: string };
    expect(e.kind).toBe('connection');
    expect((classifyMongoError(new Error('boom'), 'dest') as { kind?: string }).kind).toBe('other');
  });
});
