import { describe, expect, it } from 'vitest';
import { compileMongoQuery } from '../../../../src/operators/filters/mongoQuery.js';
import { FilterSyntaxError } from '../../../../src/operators/filters/FilterSyntaxError.js';

const m = (q: Record<string, unknown>, doc: Record<string, unknown>): boolean => compileMongoQuery(q)(doc);
/** Stand-in for BSON Decimal128/Long: the driver's classes carry `_bsontype` and print their value. */
const decimal128 = (s: string) => ({ _bsontype: 'Decimal128', toString: () => s });

describe('mongoQuery', () => {
  it('implicit equality and $eq/$ne', () => {
    expect(m({ status: 'A' }, { status: 'A' })).toBe(true);
    expect(m({ status: 'A' }, { status: 'B' })).toBe(false);
    expect(m({ qty: { $eq: 5 } }, { qty: 5 })).toBe(true);
    expect(m({ qty: { $ne: 5 } }, { qty: 5 })).toBe(false);
    expect(m({ qty: { $ne: 5 } }, {})).toBe(true);
    expect(m({ qty: null }, {})).toBe(true);
    expect(m({ qty: null }, { qty: 0 })).toBe(false);
  });

  it('range operators with type bracketing and exact big numbers', () => {
    expect(m({ qty: { $gt: 5, $lte: 10 } }, { qty: 10 })).toBe(true);
    expect(m({ qty: { $gt: 5, $lte: 10 } }, { qty: 11 })).toBe(false);
    expect(m({ qty: { $gt: 5 } }, { qty: '6' })).toBe(false);
    expect(m({ qty: { $lt: 5 } }, {})).toBe(false);
    expect(m({ n: { $gt: 9007199254740992n } }, { n: 9007199254740993n })).toBe(true);
    expect(m({ n: { $gte: 1 } }, { n: 1n })).toBe(true);
    expect(m({ price: { $gt: 0.1 } }, { price: decimal128('0.10000000000000000001') })).toBe(true);
    expect(m({ price: { $gt: 0.1 } }, { price: decimal128('0.1') })).toBe(false);
    expect(m({ at: { $gte: new Date('2024-01-01') } }, { at: new Date('2024-02-01') })).toBe(true);
  });

  it('$in, $nin, $exists', () => {
    expect(m({ s: { $in: ['A', 'B'] } }, { s: 'B' })).toBe(true);
    expect(m({ s: { $in: ['A', null] } }, {})).toBe(true);
    expect(m({ s: { $nin: ['A', 'B'] } }, { s: 'B' })).toBe(false);
    expect(m({ s: { $nin: ['A', 'B'] } }, { s: 'C' })).toBe(true);
    expect(m({ s: { $exists: true } }, { s: null })).toBe(true);
    expect(m({ s: { $exists: false } }, { s: null })).toBe(false);
    expect(m({ s: { $exists: false } }, {})).toBe(true);
  });

  it('$and, $or and dotted paths through documents and arrays', () => {
    const doc = { a: { b: { c: 3 } }, tags: ['x', 'y'], items: [{ sku: 'p1', qty: 1 }, { sku: 'p2', qty: 7 }] };
    expect(m({ 'a.b.c': 3 }, doc)).toBe(true);
    expect(m({ 'a.b.c': { $gt: 3 } }, doc)).toBe(false);
    expect(m({ 'a.x.c': { $exists: false } }, doc)).toBe(true);
    expect(m({ tags: 'y' }, doc)).toBe(true);
    expect(m({ tags: ['x', 'y'] }, doc)).toBe(true);
    expect(m({ 'items.qty': { $gt: 5 } }, doc)).toBe(true);
    expect(m({ 'items.1.sku': 'p2' }, doc)).toBe(true);
    expect(m({ 'items.sku': { $ne: 'p2' } }, doc)).toBe(false);
    expect(m({ $or: [{ 'a.b.c': 1 }, { tags: 'x' }] }, doc)).toBe(true);
    expect(m({ $and: [{ 'a.b.c': 3 }, { tags: 'z' }] }, doc)).toBe(false);
    expect(m({ a: { b: { c: 3 } } }, doc)).toBe(true);
  });

  it('rejects unsupported operators naming the collection and the path', () => {
    expect(() => compileMongoQuery({ a: { $regex: 'x' } }, 'app.events')).toThrow(FilterSyntaxError);
    expect(() => compileMongoQuery({ a: { $regex: 'x' } }, 'app.events')).toThrow(/app\.events.*unsupported operator \$regex .* at 'a\.\$regex'/s);
    expect(() => compileMongoQuery({ $where: 'x' }, 'app.events')).toThrow(/\$where/);
    expect(() => compileMongoQuery({ $or: [] }, 'app.events')).toThrow(/non-empty array/);
    expect(() => compileMongoQuery({ a: { $in: 5 } }, 'app.events')).toThrow(/\$in needs an array/);
  });
});
