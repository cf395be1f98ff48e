import { describe, expect, it } from 'vitest';
import { Decimal128, ObjectId, Timestamp } from 'mongodb';
import type { TableRef, TableShape } from '../../../../src/core/events.js';
import { convertChangeEvent, UnreadableChangeError, type ChangeStreamContext, type ChangeStreamEvent } from '../../../../src/sources/mongodb/changeStream.js';
import { ResumeTokenPosition } from '../../../../src/sources/mongodb/position.js';
import { ShapeCache } from '../../../../src/sources/mongodb/shapes.js';

const shapes = new ShapeCache();
function context(fullDocument: boolean, defaultNs?: TableRef): ChangeStreamContext {
  return {
    fullDocument,
    shapeFor: (ref: TableRef): TableShape | null => (ref.database === 'shop' && ref.table !== 'ignored' ? shapes.get(ref.database, ref.table) : null),
    databaseSelected: (db) => db === 'shop',
    ...(defaultNs ? { defaultNs } : {}),
  };
}
const clusterTime = new Timestamp({ t: 1694498816, i: 4 });
const wallTime = new Date('2023-09-12T06:06:56.000Z');
const token = { _data: '8264FF8A00000000042B022C0100296E5A1004' };
const id = new ObjectId('64ff8a000000000000000001');
const ns = { db: 'shop', coll: 'orders' };

function ev(e: Partial<ChangeStreamEvent> & Pick<ChangeStreamEvent, 'operationType'>): ChangeStreamEvent {
  return { _id: token, clusterTime, wallTime, ns, ...e };
}

describe('change stream conversion', () => {
  it('insert uses fullDocument; position is the token with its cluster time', () => {
    const doc = { _id: id, amount: Decimal128.fromString('1.10') };
    const e = convertChangeEvent(ev({ operationType: 'insert', documentKey: { _id: id }, fullDocument: doc }), context(false));
    expect(e).toMatchObject({ op: 'insert', after: doc, before: null, commitTime: wallTime.getTime() });
    expect(e?.position).toEqual(new ResumeTokenPosition(token._data, 1694498816, 4));
    expect(e?.shape.ref).toEqual({ database: 'shop', table: 'orders' });
  });

  it('update without fullDocument: patch from updateDescription', () => {
    const e = convertChangeEvent(
      ev({
        operationType: 'update',
        documentKey: { _id: id },
        updateDescription: { updatedFields: { status: 'paid', 'items.0.qty': 2 }, removedFields: ['draft'], truncatedArrays: [{ field: 'log', newSize: 3 }] },
      }),
      context(false),
    );
    expect(e).toMatchObject({ op: 'update', before: { _id: id }, after: null });
    expect(e?.patch).toEqual({ set: { status: 'paid', 'items.0.qty': 2 }, unset: ['draft'], truncatedArrays: [{ field: 'log', newSize: 3 }] });
  });

  it("update with fullDocument: 'updateLookup' uses the document as after", () => {
    const full = { _id: id, status: 'paid' };
    const e = convertChangeEvent(ev({ operationType: 'update', documentKey: { _id: id }, updateDescription: { updatedFields: { status: 'paid' }, removedFields: [] }, fullDocument: full }), context(true));
    expect(e).toMatchObject({ op: 'update', after: full, before: { _id: id } });
    expect(e?.patch).toBeUndefined();
  });

  it('update with updateLookup but the document gone (null) falls back to the patch', () => {
    const e = convertChangeEvent(ev({ operationType: 'update', documentKey: { _id: id }, updateDescription: { updatedFields: { a: 1 }, removedFields: [] }, fullDocument: null }), context(true));
    expect(e).toMatchObject({ op: 'update', after: null, patch: { set: { a: 1 } } });
  });

  it('replace is an update with the whole document', () => {
    const full = { _id: id, x: 1 };
    expect(convertChangeEvent(ev({ operationType: 'replace', documentKey: { _id: id }, fullDocument: full }), context(false))).toMatchObject({ op: 'update', after: full, before: { _id: id } });
  });

  it('delete carries the document key', () => {
    expect(convertChangeEvent(ev({ operationType: 'delete', documentKey: { _id: id } }), context(false))).toMatchObject({ op: 'delete', before: { _id: id }, after: null });
  });

  it('drop, rename and dropDatabase are DDL with command documents', () => {
    expect(convertChangeEvent(ev({ operationType: 'drop' }), context(false))).toMatchObject({ op: 'ddl', ddl: { command: { drop: 'orders' } } });
    expect(convertChangeEvent(ev({ operationType: 'rename', to: { db: 'shop', coll: 'orders_old' } }), context(false))).toMatchObject({
      op: 'ddl',
      ddl: { command: { renameCollection: 'shop.orders', to: 'shop.orders_old' } },
    });
    expect(convertChangeEvent(ev({ operationType: 'dropDatabase', ns: { db: 'shop' } }), context(false))).toMatchObject({ op: 'ddl', ddl: { command: { dropDatabase: 1 } }, shape: { ref: { database: 'shop', table: '' } } });
  });

  it('invalidate and unselected collections give nothing', () => {
    expect(convertChangeEvent(ev({ operationType: 'invalidate' }), context(false))).toBeNull();
    expect(convertChangeEvent(ev({ operationType: 'insert', ns: { db: 'shop', coll: 'ignored' }, fullDocument: { _id: 1 } }), context(false))).toBeNull();
  });

  it('events without ns (per-collection streams on wire-compatible servers) take the watched collection', () => {
    const { ns: _omit, ...noNs } = ev({ operationType: 'insert', fullDocument: { _id: 1 }, documentKey: { _id: 1 } });
    const e = convertChangeEvent(noNs, context(false, { database: 'shop', table: 'orders' }));
    expect(e?.shape.ref).toEqual({ database: 'shop', table: 'orders' });
    expect((e?.position as ResumeTokenPosition).ns).toBe('shop.orders');
  });

  it('update without updateDescription: whole document when present, else a clear error', () => {
    const e = convertChangeEvent(ev({ operationType: 'update', documentKey: { $set: { b: 2 } }, fullDocument: { _id: 1, b: 2 } }), context(true));
    expect(e).toMatchObject({ after: { _id: 1, b: 2 }, before: { _id: 1 } });
    expect(() => convertChangeEvent(ev({ operationType: 'update', documentKey: { _id: 1 } }), context(false))).toThrow(UnreadableChangeError);
  });
});

describe('an update whose looked-up document is gone (issue 18)', () => {
  it('real MongoDB (fullDocument null): the key is documentKey, the change a patch', () => {
    const e = convertChangeEvent(
      ev({ operationType: 'update', documentKey: { _id: id, region: 'eu' }, fullDocument: null, updateDescription: { updatedFields: { x: 2 }, removedFields: [] } }),
      context(true),
    );
    expect(e).toMatchObject({ op: 'update', before: { _id: id, region: 'eu' }, after: null, patch: { set: { x: 2 } } });
  });

  it('the substitute (documentKey = update spec, fullDocument without _id): a patch whose key the reader must find', () => {
    const e = convertChangeEvent(ev({ operationType: 'update', documentKey: { $set: { x: 2 }, $unset: { y: '' } }, fullDocument: { x: 2 } }), context(true));
    expect(e).toMatchObject({ op: 'update', before: null, after: null, patch: { set: { x: 2 }, unset: ['y'] } });
  });

  it('never takes an update spec or a document without _id for the key', () => {
    const e = convertChangeEvent(ev({ operationType: 'update', documentKey: { $set: { x: 2 } }, fullDocument: { _id: id, x: 2 } }), context(true));
    expect(e).toMatchObject({ op: 'update', before: { _id: id }, after: { _id: id, x: 2 } });
  });
});
