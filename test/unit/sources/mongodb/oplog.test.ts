import { describe, expect, it } from 'vitest';
import { Decimal128, Long, ObjectId, Timestamp, UUID } from 'mongodb';
import type { TableRef, TableShape } from '../../../../src/core/events.js';
import { convertOplogEntry, diffToPatch, parseUpdate, type OplogContext, type OplogEntry } from '../../../../src/sources/mongodb/oplog.js';
import { OplogPosition } from '../../../../src/sources/mongodb/position.js';
import { ShapeCache } from '../../../../src/sources/mongodb/shapes.js';

const shapes = new ShapeCache();
const ctx: OplogContext = {
  shapeFor: (ref: TableRef): TableShape | null => (ref.database === 'shop' && ref.table !== 'ignored' ? shapes.get(ref.database, ref.table) : null),
  databaseSelected: (db) => db === 'shop',
};
const ts = new Timestamp({ t: 1700000000, i: 3 });
const wall = new Date('2023-11-14T22:13:20.000Z');
const ui = new UUID();

function entry(e: Partial<OplogEntry> & Pick<OplogEntry, 'op' | 'ns' | 'o'>): OplogEntry {
  return { ts, wall, ui, ...e } as OplogEntry;
}

describe('oplog conversion', () => {
  it('insert keeps BSON values and the document', () => {
    const doc = { _id: new ObjectId(), price: Decimal128.fromString('12.3400'), qty: Long.fromString('9007199254740993'), at: new Date(0) };
    const [c] = convertOplogEntry(entry({ op: 'i', ns: 'shop.orders', o: doc }), ctx);
    expect(c?.event.op).toBe('insert');
    expect(c?.event.after).toBe(doc);
    expect(c?.event.after?.qty).toBeInstanceOf(Long);
    expect(c?.event.after?.price).toBeInstanceOf(Decimal128);
    expect(c?.event.shape.ref).toEqual({ database: 'shop', table: 'orders' });
    expect(c?.event.shape.key).toEqual(['_id']);
    expect(c?.event.commitTime).toBe(wall.getTime());
    expect(c?.event.position.encode()).toBe('1700000000:3');
    expect(c?.event.bytes).toBeGreaterThan(30);
  });

  it('skips collections that are not selected', () => {
    expect(convertOplogEntry(entry({ op: 'i', ns: 'shop.ignored', o: { _id: 1 } }), ctx)).toEqual([]);
    expect(convertOplogEntry(entry({ op: 'i', ns: 'other.orders', o: { _id: 1 } }), ctx)).toEqual([]);
  });

  it('classic $set/$unset update ($v: 1) becomes a patch with the key as before', () => {
    const [c] = convertOplogEntry(entry({ op: 'u', ns: 'shop.orders', o: { $v: 1, $set: { 'a.b': 2, c: 'x' }, $unset: { d: true } }, o2: { _id: 7 } }), ctx);
    expect(c?.event.op).toBe('update');
    expect(c?.event.before).toEqual({ _id: 7 });
    expect(c?.event.after).toBeNull();
    expect(c?.event.patch).toEqual({ set: { 'a.b': 2, c: 'x' }, unset: ['d'] });
    expect(c?.lookup).toBeUndefined();
  });

  it('$v: 2 diff: u, i, d at top level', () => {
    const o = { $v: 2, diff: { u: { status: 'paid' }, i: { paidAt: wall }, d: { draft: false } } };
    const [c] = convertOplogEntry(entry({ op: 'u', ns: 'shop.orders', o, o2: { _id: 1 } }), ctx);
    expect(c?.event.patch).toEqual({ set: { status: 'paid', paidAt: wall }, unset: ['draft'] });
  });

  it('$v: 2 diff: nested sub-document diffs become dotted paths', () => {
    const o = { $v: 2, diff: { saddress: { u: { city: 'Hangzhou' }, d: { zip: false }, sgeo: { i: { lat: 30.2 } } } } };
    expect(parseUpdate(o)).toEqual({ kind: 'patch', patch: { set: { 'address.city': 'Hangzhou', 'address.geo.lat': 30.2 }, unset: ['address.zip'] } });
  });

  it('$v: 2 diff: arrays with uN entries, nested element diffs and length changes', () => {
    const diff = {
      stags: { a: true, u1: 'blue', u3: 'new' },
      sitems: { a: true, l: 2, s0: { u: { qty: 5 } } },
      smatrix: { a: true, s1: { a: true, u0: 9 } },
      sdoc: { sarr: { a: true, l: 0 } },
    };
    expect(diffToPatch(diff)).toEqual({
      set: { 'tags.1': 'blue', 'tags.3': 'new', 'items.0.qty': 5, 'matrix.1.0': 9 },
      truncatedArrays: [
        { field: 'items', newSize: 2 },
        { field: 'doc.arr', newSize: 0 },
      ],
    });
  });

  it('replacement update (no operators) carries the whole document as after', () => {
    const doc = { _id: 1, name: 'new', n: Long.fromNumber(3) };
    const [c] = convertOplogEntry(entry({ op: 'u', ns: 'shop.orders', o: doc, o2: { _id: 1 } }), ctx);
    expect(c?.event.after).toBe(doc);
    expect(c?.event.patch).toBeUndefined();
  });

  it('operators without resulting values ask for a lookup', () => {
    const [c] = convertOplogEntry(entry({ op: 'u', ns: 'shop.orders', o: { $inc: { n: 1 }, $set: { b: 2 } }, o2: { _id: 4 } }), ctx);
    expect(c?.lookup).toEqual({ ref: { database: 'shop', table: 'orders' }, id: 4, operators: ['$inc'] });
  });

  it('delete carries the key as before', () => {
    const [c] = convertOplogEntry(entry({ op: 'd', ns: 'shop.orders', o: { _id: 9 } }), ctx);
    expect(c?.event).toMatchObject({ op: 'delete', before: { _id: 9 }, after: null });
  });

  it('no-op entries are heartbeats', () => {
    const [c] = convertOplogEntry(entry({ op: 'n', ns: '', o: { msg: 'periodic noop' } }), ctx);
    expect(c?.event.op).toBe('heartbeat');
    expect(c?.event.position.encode()).toBe('1700000000:3');
  });

  it('applyOps transactions split into records with tx info and per-operation positions', () => {
    const lsid = { id: new UUID('b9d7b1ae-5dd2-4b1c-9f0e-5a5c6c3b1f00'), uid: new Uint8Array(32) };
    const e = entry({
      op: 'c',
      ns: 'admin.$cmd',
      o: {
        applyOps: [
          { op: 'i', ns: 'shop.orders', ui, o: { _id: 1, n: 1 } },
          { op: 'i', ns: 'shop.ignored', ui, o: { _id: 2 } },
          { op: 'u', ns: 'shop.orders', ui, o: { $v: 2, diff: { u: { n: 2 } } }, o2: { _id: 1 } },
          { op: 'd', ns: 'shop.orders', ui, o: { _id: 3 } },
        ],
      },
      lsid,
      txnNumber: Long.fromNumber(5),
    });
    const out = convertOplogEntry(e, ctx);
    expect(out.map((c) => c.event.op)).toEqual(['insert', 'update', 'delete']);
    expect(out.map((c) => c.event.tx)).toEqual([
      { id: 'b9d7b1ae-5dd2-4b1c-9f0e-5a5c6c3b1f00:5', seq: 0, size: 4 },
      { id: 'b9d7b1ae-5dd2-4b1c-9f0e-5a5c6c3b1f00:5', seq: 2, size: 4 },
      { id: 'b9d7b1ae-5dd2-4b1c-9f0e-5a5c6c3b1f00:5', seq: 3, size: 4 },
    ]);
    expect(out.map((c) => c.event.position.encode())).toEqual(['1700000000:3:0', '1700000000:3:2', '1700000000:3:3']);
    expect(out[1]?.event.patch).toEqual({ set: { n: 2 } });
    // Positions inside the entry order after the entry's predecessors and before its successors.
    expect(out[0]?.event.position.compare(new OplogPosition(1700000000, 2))).toBeGreaterThan(0);
    expect(out[2]?.event.position.compare(new OplogPosition(1700000000, 4))).toBeLessThan(0);
    // Resuming inside the transaction skips what was already delivered.
    expect(convertOplogEntry(e, ctx, 2).map((c) => c.event.op)).toEqual(['delete']);
  });

  it('prepared transactions wait for their commit', () => {
    expect(convertOplogEntry(entry({ op: 'c', ns: 'admin.$cmd', o: { applyOps: [{ op: 'i', ns: 'shop.orders', o: { _id: 1 } }] }, prepare: true }), ctx)).toEqual([]);
  });

  const ddl: Array<[string, OplogEntry, object]> = [
    ['create', entry({ op: 'c', ns: 'shop.$cmd', o: { create: 'orders', idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } } }), { create: 'orders' }],
    ['createIndexes', entry({ op: 'c', ns: 'shop.$cmd', o: { createIndexes: 'orders', v: 2, key: { sku: 1 }, name: 'sku_1' } }), { createIndexes: 'orders', name: 'sku_1' }],
    ['commitIndexBuild', entry({ op: 'c', ns: 'shop.$cmd', o: { commitIndexBuild: 'orders', indexBuildUUID: ui, indexes: [{ v: 2, key: { a: 1 }, name: 'a_1' }] } }), { commitIndexBuild: 'orders' }],
    ['drop', entry({ op: 'c', ns: 'shop.$cmd', o: { drop: 'orders' } }), { drop: 'orders' }],
    ['dropIndexes', entry({ op: 'c', ns: 'shop.$cmd', o: { dropIndexes: 'orders', index: 'sku_1' }, o2: { v: 2, key: { sku: 1 }, name: 'sku_1' } }), { dropIndexes: 'orders', index: 'sku_1', spec: { name: 'sku_1' } }],
    ['renameCollection', entry({ op: 'c', ns: 'shop.$cmd', o: { renameCollection: 'shop.orders', to: 'shop.orders2', stayTemp: false } }), { renameCollection: 'shop.orders', to: 'shop.orders2' }],
    ['dropDatabase', entry({ op: 'c', ns: 'shop.$cmd', o: { dropDatabase: 1 } }), { dropDatabase: 1 }],
  ];
  it.each(ddl)('DDL %s becomes a ddl event carrying the command document', (_name, e, command) => {
    const out = convertOplogEntry(e, ctx);
    expect(out).toHaveLength(1);
    expect(out[0]?.event.op).toBe('ddl');
    expect(out[0]?.event.ddl?.command).toMatchObject(command);
    expect(out[0]?.event.shape.ref.database).toBe('shop');
  });

  it('DDL on unselected collections and other commands give nothing', () => {
    expect(convertOplogEntry(entry({ op: 'c', ns: 'shop.$cmd', o: { drop: 'ignored' } }), ctx)).toEqual([]);
    expect(convertOplogEntry(entry({ op: 'c', ns: 'other.$cmd', o: { dropDatabase: 1 } }), ctx)).toEqual([]);
    expect(convertOplogEntry(entry({ op: 'c', ns: 'admin.$cmd', o: { commitTransaction: 1 } }), ctx)).toEqual([]);
  });
});

describe('migration traffic (issue 18, sharded sources)', () => {
  it('entries flagged fromMigrate give nothing; the same entries without the flag are changes', () => {
    const ins = entry({ op: 'i', ns: 'shop.orders', o: { _id: 1, a: 1 } });
    const del = entry({ op: 'd', ns: 'shop.orders', o: { _id: 1 } });
    expect(convertOplogEntry({ ...ins, fromMigrate: true }, ctx)).toEqual([]);
    expect(convertOplogEntry({ ...del, fromMigrate: true }, ctx)).toEqual([]);
    expect(convertOplogEntry(ins, ctx)).toHaveLength(1);
    expect(convertOplogEntry(del, ctx)).toHaveLength(1);
  });
});
