import { describe, expect, it } from 'vitest';
import type { TableShape } from '../../../src/core/events.js';
import { checkObjectColumns } from '../../../src/runtime/columnCheck.js';

const orders: TableShape = {
  ref: { database: 'shop', schema: 'public', table: 'orders' },
  columns: [{ name: 'id', type: 'int4' }, { name: 'status', type: 'text' }, { name: 'total', type: 'numeric' }],
  key: ['id'],
};

describe('checkObjectColumns', () => {
  it('passes when every named column exists', () => {
    const item = checkObjectColumns([orders], {
      filters: [{ database: 'shop', schema: 'public', table: 'orders', where: "status <> 'test' AND TOTAL > 0" }],
      mapping: { columns: { 'shop.public.orders': { select: ['id', 'status'], rename: { status: 'state' } } } },
    });
    expect(item.status).toBe('pass');
  });

  it('fails naming the table and every unknown column of filter, columns and columnRename, and a dropped key', () => {
    const item = checkObjectColumns([orders], {
      filters: [{ database: 'shop', schema: 'public', table: 'orders', where: 'stauts = 1' }],
      mapping: { columns: { 'shop.public.orders': { select: ['status', 'totl'], rename: { nope: 'x' } } } },
    });
    expect(item).toMatchObject({ id: 'source.columns', status: 'fail' });
    expect(item.detail).toContain("shop.public.orders: filter unknown column 'stauts'");
    expect(item.detail).toContain("columns names 'totl'");
    expect(item.detail).toContain("columnRename names 'nope'");
    expect(item.detail).toContain("leaves out key column 'id'");
    expect(item.fix).toBeTruthy();
  });

  it('tables without declared columns (schemaless) are not checked', () => {
    const coll: TableShape = { ref: { database: 'd', table: 'c' }, columns: [], key: ['_id'] };
    expect(checkObjectColumns([coll], { filters: [], mapping: { columns: { 'd.c': { select: ['anything'] } } } }).status).toBe('pass');
  });
});
