import { describe, expect, it } from 'vitest';
import { firstValueFrom, from, toArray } from 'rxjs';
import { mapNames, NameMapper } from '../../../src/operators/mapNames.js';
import { FatalError } from '../../../src/core/errors.js';
import type { ChangeEvent } from '../../../src/core/events.js';
import { ev, shape, testScheduler } from './helpers.js';

const orders = shape('shop', 'Orders', 'public', ['id', 'Amount', 'secret'], ['id']);

describe('mapNames', () => {
  it('renames database, schema, table and columns, drops unselected columns (marbles)', () => {
    const op = mapNames({
      databases: { shop: 'store' },
      schemas: { 'shop.public': 'sales' },
      tables: { 'shop.public.Orders': 'orders_v2' },
      columns: { 'shop.public.Orders': { rename: { Amount: 'total' }, select: ['id', 'Amount'] } },
    });
    const a = ev(orders, 'update', { before: { id: 1, Amount: '5', secret: 'x' }, after: { id: 1, Amount: '6', secret: 'y' } });
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a }).pipe(op)).toBe('a|', {
        a: {
          ...a,
          shape: { ref: { database: 'store', schema: 'sales', table: 'orders_v2' }, columns: [{ name: 'id', type: 'text' }, { name: 'total', type: 'text' }], key: ['id'] },
          before: { id: 1, total: '5' },
          after: { id: 1, total: '6' },
        },
      });
    });
  });

  it('applies the case policy to names not explicitly renamed', () => {
    const upper = new NameMapper({ capitalization: 'upper', tables: { 'shop.public.Orders': 'Orders_Kept' } });
    const out = upper.map(ev(orders, 'insert', { after: { id: 1, Amount: '1', secret: 's' } }));
    expect(out.shape.ref).toEqual({ database: 'SHOP', schema: 'PUBLIC', table: 'Orders_Kept' });
    expect(out.shape.columns.map((c) => c.name)).toEqual(['ID', 'AMOUNT', 'SECRET']);
    expect(out.shape.key).toEqual(['ID']);
    expect(out.after).toEqual({ ID: 1, AMOUNT: '1', SECRET: 's' });

    const lower = new NameMapper({ capitalization: 'lower' });
    expect(lower.map(ev(orders, 'insert', { after: { Amount: 1 } })).after).toEqual({ amount: 1 });
    expect(lower.shapeOf(orders).ref.table).toBe('orders');
  });

  it("returns the same event object when nothing changes ('default' and 'same' keep names)", () => {
    for (const capitalization of ['default', 'same'] as const) {
      const e = ev(orders, 'insert', { after: { id: 1 } });
      expect(new NameMapper({ capitalization, databases: { other: 'x' } }).map(e)).toBe(e);
    }
  });

  it('builds the destination shape once per source shape and shares it between events', async () => {
    const mapper = new NameMapper({ databases: { shop: 'store' } });
    const events: ChangeEvent[] = [1, 2, 3].map((id) => ev(orders, 'insert', { after: { id } }));
    const out = await firstValueFrom(from(events).pipe(mapNames(mapper), toArray()));
    expect(out).toHaveLength(3);
    expect(out[0]!.shape.ref.database).toBe('store');
    expect(out[1]!.shape).toBe(out[0]!.shape);
    expect(out[2]!.shape).toBe(mapper.shapeOf(orders));
    expect(out[0]!.after).toBe(events[0]!.after); // rows untouched when only the table moves
    // a new version of the table gets its own destination shape
    const v2 = shape('shop', 'Orders', 'public', ['id', 'Amount', 'secret', 'added'], ['id']);
    expect(mapper.shapeOf(v2)).not.toBe(mapper.shapeOf(orders));
    expect(mapper.shapeOf(v2).columns.map((c) => c.name)).toEqual(['id', 'Amount', 'secret', 'added']);
  });

  it('maps schemaless documents and MongoDB patches by their top-level field', () => {
    const coll = shape('app', 'events', undefined, [], ['_id']);
    const mapper = new NameMapper({ columns: { 'app.events': { rename: { user: 'customer' } } }, databases: { app: 'app2' } });
    const e = { ...ev(coll, 'update'), patch: { set: { 'user.plan': 'pro', n: 1 }, unset: ['user', 'x'] } };
    const out = mapper.map(e);
    expect(out.shape.ref).toEqual({ database: 'app2', table: 'events' });
    expect(out.patch).toEqual({ set: { 'customer.plan': 'pro', n: 1 }, unset: ['customer', 'x'] });
    expect(mapper.map(ev(coll, 'insert', { after: { _id: 1, user: 'u' } })).after).toEqual({ _id: 1, customer: 'u' });
  });

  it('rejects a column selection that drops a key column or names a missing column', () => {
    const dropKey = new NameMapper({ columns: { 'shop.public.Orders': { select: ['Amount'] } } });
    expect(() => dropKey.shapeOf(orders)).toThrow(FatalError);
    expect(() => dropKey.shapeOf(orders)).toThrow(/shop\.public\.Orders drops key column 'id'/);
    const missing = new NameMapper({ columns: { 'shop.public.Orders': { select: ['id', 'amount'] } } });
    expect(() => missing.shapeOf(orders)).toThrow(/names 'amount', which the table does not have/);
  });
});
