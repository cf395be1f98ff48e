import { describe, expect, it } from 'vitest';
import { filterRows } from '../../../src/operators/filterRows.js';
import { FilterSyntaxError } from '../../../src/operators/filters/FilterSyntaxError.js';
import { ConfigError } from '../../../src/core/errors.js';
import { ev, shape, testScheduler } from './helpers.js';

const orders = shape('shop', 'orders', 'public', ['id', 'amount', 'status']);
const other = shape('shop', 'other', 'public');
const coll = shape('app', 'events', undefined, []);

describe('filterRows', () => {
  const filters = filterRows([
    { database: 'shop', schema: 'public', table: 'orders', where: "amount >= 100 AND status <> 'test'" },
    { database: 'app', table: 'events', query: { 'user.plan': { $in: ['pro', 'team'] } } },
  ]);

  it('tests inserts and updates on after, deletes on before; other tables, DDL and heartbeats pass (marbles)', () => {
    const values = {
      a: ev(orders, 'insert', { after: { id: 1, amount: '150.00', status: 'new' } }),
      b: ev(orders, 'insert', { after: { id: 2, amount: '99.99', status: 'new' } }),
      c: ev(orders, 'update', { before: { id: 2, amount: '99', status: 'new' }, after: { id: 2, amount: '100', status: 'new' } }),
      d: ev(orders, 'update', { before: { id: 1, amount: '150', status: 'new' }, after: { id: 1, amount: '150', status: 'test' } }),
      e: ev(orders, 'delete', { before: { id: 1, amount: '150', status: 'new' } }),
      f: ev(orders, 'delete', { before: { id: 3, amount: '5', status: 'new' } }),
      g: ev(other, 'insert', { after: { id: 1 } }),
      h: ev(orders, 'heartbeat'),
      i: ev(orders, 'ddl'),
    };
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-c-d-e-f-g-h-i|', values).pipe(filters)).toBe('a---c---e---g-h-i|', values);
    });
  });

  it('filters MongoDB documents with the query and keeps partial updates it cannot decide', () => {
    const values = {
      a: ev(coll, 'insert', { after: { _id: 1, user: { plan: 'pro' } } }),
      b: ev(coll, 'insert', { after: { _id: 2, user: { plan: 'free' } } }),
      c: { ...ev(coll, 'update'), patch: { set: { 'user.plan': 'free' } } },
    };
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abc|', values).pipe(filters)).toBe('a-c|', values);
    });
  });

  it('throws at creation on a syntax error, naming the table and the position', () => {
    expect(() => filterRows([{ database: 'shop', schema: 'public', table: 'orders', where: 'amount >> 1' }])).toThrow(FilterSyntaxError);
    expect(() => filterRows([{ database: 'shop', schema: 'public', table: 'orders', where: 'amount >> 1' }])).toThrow(/shop\.public\.orders.*position 9/s);
  });

  it('rejects a rule with neither or both of where and query, and duplicates', () => {
    expect(() => filterRows([{ database: 'a', table: 'b' }])).toThrow(ConfigError);
    expect(() =>
      filterRows([
        { database: 'a', table: 'b', where: 'x = 1' },
        { database: 'a', table: 'b', where: 'x = 2' },
      ]),
    ).toThrow(/more than one filter/);
  });

  it('fails the stream naming the table when the condition names an unknown column', () => {
    const op = filterRows([{ database: 'shop', schema: 'public', table: 'orders', where: 'amout > 1' }]);
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: ev(orders, 'insert', { after: { id: 1, amount: 2, status: 'x' } }) };
      expectObservable(cold('a|', values).pipe(op)).toBe(
        '#',
        undefined,
        expect.objectContaining({ code: 'FILTER_INVALID', object: 'shop.public.orders', message: expect.stringMatching(/unknown column 'amout'/) }),
      );
    });
  });
});
