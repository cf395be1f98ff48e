import { describe, expect, it } from 'vitest';
import { BSON, Binary, BSONRegExp, BSONSymbol, Code, DBRef, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'mongodb';
import { decodeDocument, oplogDocumentBytes } from '../../../../src/sources/mongodb/rawBson.js';
import { bsonSize } from '../../../../src/sources/mongodb/shapes.js';
import type { OplogEntry } from '../../../../src/sources/mongodb/oplog.js';

// Deterministic: a failure must reproduce.
let seed = 777;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const scalars: Array<() => unknown> = [
  () => 'é中😀"\\'.slice(0, rnd(6)),
  () => new Int32(rnd(1000)),
  () => new Double(rnd(1000) / 7),
  () => Long.fromNumber(rnd(1_000_000) * 1_000_003),
  () => Decimal128.fromString('1234.5678'),
  () => new ObjectId(),
  () => new Date(Date.UTC(2026, 0, 1) + rnd(1e9)),
  () => new Binary(Buffer.from('abc'), rnd(2) === 0 ? 0 : 4),
  () => new BSONRegExp('^a.*b', 'i'),
  () => new Timestamp({ t: 1714979289, i: rnd(10) }),
  () => new Code('function () { return 1; }'),
  () => new Code('x', { x: new Int32(1) }),
  () => new BSONSymbol('sym'),
  () => new DBRef('coll', new ObjectId()),
  () => new MinKey(),
  () => new MaxKey(),
  () => rnd(2) === 0,
  () => null,
];
function value(depth: number): unknown {
  const r = rnd(8);
  if (depth < 3 && r === 0) return Array.from({ length: rnd(4) }, () => value(depth + 1));
  if (depth < 3 && r === 1) return doc(depth + 1);
  return (scalars[rnd(scalars.length)] as () => unknown)();
}
function doc(depth: number): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (let i = rnd(6); i > 0; i--) d[`k${i}${'o'.repeat(rnd(2))}`] = value(depth);
  return d;
}

describe('oplogDocumentBytes', () => {
  it("reads the BSON size of an entry's o and o2 off its bytes, as bsonSize measures the decoded entry (1,000 generated entries)", () => {
    for (let n = 0; n < 1000; n++) {
      const fields: Array<[string, unknown]> = [
        ['ts', new Timestamp({ t: 1714979289, i: n })],
        ['t', Long.fromNumber(3)],
        ['op', ['i', 'u', 'd'][rnd(3)]],
        ['ns', 'shop.orders'],
        ['ui', new Binary(Buffer.alloc(16, 7), 4)],
        ['o', { _id: value(2), ...doc(0) }],
        ['wall', new Date()],
      ];
      if (rnd(2) === 0) fields.push(['o2', { _id: new ObjectId() }]);
      // Look-alike names that are not o or o2: a document `o3`, a string `o`-prefixed name.
      if (rnd(3) === 0) fields.push(['o3', { x: new Int32(1) }]);
      if (rnd(3) === 0) fields.push(['oo', 'not a document']);
      fields.sort(() => rnd(3) - 1);
      const raw = BSON.serialize(Object.fromEntries(fields));
      const e = decodeDocument<OplogEntry>(raw);
      expect(oplogDocumentBytes(raw)).toBe(bsonSize(e.o) + bsonSize(e.o2));
    }
  });

  it('gives 0 for an entry with neither, and undefined for bytes that are not a well-formed document', () => {
    expect(oplogDocumentBytes(BSON.serialize({ op: 'n', ns: '', ts: new Timestamp({ t: 1, i: 1 }) }))).toBe(0);
    const good = BSON.serialize({ op: 'i', o: { _id: new Int32(1) } });
    expect(oplogDocumentBytes(good)).toBe(BSON.calculateObjectSize({ _id: new Int32(1) }));
    expect(oplogDocumentBytes(good.subarray(0, 3))).toBeUndefined();
    const truncated = Buffer.from(good);
    truncated.writeInt32LE(good.length + 10, 0); // claims more bytes than there are
    expect(oplogDocumentBytes(truncated.subarray(0, good.length - 4))).toBeUndefined();
    const unknownType = Buffer.from(good);
    unknownType[4] = 0x20; // not a BSON type
    expect(oplogDocumentBytes(unknownType)).toBeUndefined();
  });
});
