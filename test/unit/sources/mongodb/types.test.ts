import { describe, expect, it } from 'vitest';
import { Decimal128, Double, Int32, Long } from 'bson';
import { parseUpdate } from '../../../../src/sources/mongodb/oplog.js';
import { bsonToJson } from '../../../../src/formats/types/document.js';

describe('BSON numbers read unpromoted (issue 18)', () => {
  it('a $v: 2 diff read with promoteValues off (Int32 $v, Int32 array length) is still a diff', () => {
    const form = parseUpdate({ $v: new Int32(2), diff: { u: { price: new Double(1402) }, sarr: { a: true, l: new Int32(1) } } });
    expect(form).toEqual({ kind: 'patch', patch: { set: { price: new Double(1402) }, truncatedArrays: [{ field: 'arr', newSize: 1 }] } });
  });

  it('Extended JSON keeps each number type: Int32 plain, Double with a fraction, int64 always $numberLong', () => {
    expect(bsonToJson(new Int32(18))).toBe('18');
    expect(bsonToJson(new Double(1402))).toBe('1402.0');
    expect(bsonToJson(new Double(0))).toBe('0.0');
    expect(bsonToJson(new Double(-0))).toBe('-0.0');
    expect(bsonToJson(new Double(1e21))).toBe('1e+21');
    expect(bsonToJson(new Double(Number.NaN))).toBe('{"$numberDouble":"NaN"}');
    expect(bsonToJson(Long.fromNumber(5))).toBe('{"$numberLong":"5"}');
    expect(bsonToJson(Decimal128.fromString('1.10'))).toBe('{"$numberDecimal":"1.10"}');
    // Plain JS numbers as the BSON serializer stores them.
    expect(bsonToJson(7)).toBe('7');
    expect(bsonToJson(2 ** 40)).toBe('1099511627776.0');
    expect(bsonToJson(0.25)).toBe('0.25');
  });
});
