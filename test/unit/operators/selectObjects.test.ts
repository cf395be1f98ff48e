import { describe, expect, it } from 'vitest';
import { ObjectSelector, selectObjects } from '../../../src/operators/selectObjects.js';
import { ConfigError } from '../../../src/core/errors.js';
import { ev, shape, testScheduler } from './helpers.js';

const orders = shape('shop', 'orders', 'public');
const orderItems = shape('shop', 'order_items', 'public');
const audit = shape('shop', 'audit_log', 'public');
const users = shape('crm', 'users', 'public');
const coll = shape('app', 'events');

describe('selectObjects', () => {
  it('keeps selected tables and operations, drops the rest, passes heartbeats (marbles)', () => {
    const spec = { include: [{ database: 'shop', schema: 'public', table: 'order*' }, { database: 'crm', table: 'users', ops: ['insert' as const] }] };
    const values = {
      a: ev(orders, 'insert'),
      b: ev(audit, 'insert'),
      c: ev(users, 'insert'),
      d: ev(users, 'update'),
      e: ev(orderItems, 'delete'),
      h: ev(audit, 'heartbeat'),
    };
    testScheduler().run(({ cold, expectObservable }) => {
      const src = cold('  a-b-c-d-e-h-|', values);
      expectObservable(src.pipe(selectObjects(spec))).toBe('a---c---e-h-|', values);
    });
  });

  it('exclude without ops removes the object; exclude with ops removes only those ops', () => {
    const sel = new ObjectSelector({
      include: [{ database: 'shop' }],
      exclude: [{ table: 'audit_*' }, { table: 'orders', ops: ['delete', 'truncate'] }],
    });
    expect(sel.selects(audit.ref, 'insert')).toBe(false);
    expect(sel.selects(orders.ref, 'insert')).toBe(true);
    expect(sel.selects(orders.ref, 'delete')).toBe(false);
    expect(sel.selects(orders.ref, 'truncate')).toBe(false);
    expect(sel.selects(orders.ref, 'ddl')).toBe(true);
    expect(sel.selects(orderItems.ref, 'delete')).toBe(true);
    expect(sel.selects(users.ref, 'insert')).toBe(false);
    expect(sel.selects(users.ref, 'heartbeat')).toBe(true);
  });

  it('ops of several matching include rules are united', () => {
    const sel = new ObjectSelector({ include: [{ table: 'orders', ops: ['insert'] }, { database: 'shop', ops: ['ddl'] }] });
    expect(sel.selects(orders.ref, 'insert')).toBe(true);
    expect(sel.selects(orders.ref, 'ddl')).toBe(true);
    expect(sel.selects(orders.ref, 'update')).toBe(false);
    expect(sel.selects(audit.ref, 'insert')).toBe(false);
    expect(sel.selects(audit.ref, 'ddl')).toBe(true);
  });

  it('glob matches whole names only and treats regex characters literally', () => {
    const sel = new ObjectSelector({ include: [{ table: 'a.c*' }] });
    expect(sel.selectsTable({ database: 'd', table: 'a.cx' })).toBe(true);
    expect(sel.selectsTable({ database: 'd', table: 'abcx' })).toBe(false);
    expect(sel.selectsTable({ database: 'd', table: 'xa.c' })).toBe(false);
  });

  it('a schema pattern matches a schemaless collection only when it is *', () => {
    expect(new ObjectSelector({ include: [{ schema: 'public' }] }).selectsTable(coll.ref)).toBe(false);
    expect(new ObjectSelector({ include: [{ schema: '*', table: 'events' }] }).selectsTable(coll.ref)).toBe(true);
    expect(new ObjectSelector({ include: [{ database: 'app', table: 'events' }] }).selectsTable(coll.ref)).toBe(true);
  });

  it('does not confuse db.schema.table with db.table whose name contains a dot', () => {
    const sel = new ObjectSelector({ include: [{ database: 'a', schema: 'b', table: 'c' }] });
    expect(sel.selectsTable({ database: 'a', schema: 'b', table: 'c' })).toBe(true);
    expect(sel.selectsTable({ database: 'a', table: 'b.c' })).toBe(false);
  });

  it('rejects unknown operations with a ConfigError naming the path', () => {
    expect(() => new ObjectSelector({ include: [{ table: 't', ops: ['upsert' as 'insert'] }] })).toThrow(ConfigError);
    expect(() => new ObjectSelector({ include: [{ table: 't', ops: ['upsert' as 'insert'] }] })).toThrow(/selection\.include\[0\]\.ops\[0\]: unknown operation 'upsert'/);
  });

  it('evaluates the rules once per table, not per event', () => {
    const sel = new ObjectSelector({ include: [{ table: 'ord*' }] });
    const rule = (sel as unknown as { include: { table: RegExp }[] }).include[0]!;
    let tests = 0;
    const original = rule.table.test.bind(rule.table);
    rule.table.test = (s: string) => {
      tests++;
      return original(s);
    };
    const e = ev(orders, 'insert');
    for (let i = 0; i < 1000; i++) expect(sel.accepts(e)).toBe(true);
    // same ref, new shape object (a new table version): cached by name
    expect(sel.accepts(ev(shape('shop', 'orders', 'public'), 'update'))).toBe(true);
    expect(tests).toBe(1);
  });
});
