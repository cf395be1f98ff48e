import { describe, expect, it } from 'vitest';
import { BSON, Binary, BSONRegExp, BSONSymbol, Code, DBRef, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'mongodb';
import { decodeDocument, decodeOplogEntry, oplogDocumentBytes } from '../../../../src/sources/mongodb/rawBson.js';
import { ShapeCache, bsonSize } from '../../../../src/sources/mongodb/shapes.js';
import { convertOplogEntry, termOf, type OplogContext, type OplogEntry } from '../../../../src/sources/mongodb/oplog.js';
import type { TableRef } from '../../../../src/core/events.js';

// Deterministic: a failure must reproduce.
let seed = 777;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return (seed >>> 8) % n; // the high bits: an LCG's low bits repeat with a short period
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

const shapes = new ShapeCache();
const ctx: OplogContext = { shapeFor: (ref: TableRef) => (ref.table === 'skipped' ? null : shapes.get(ref.database, ref.table)), databaseSelected: () => true };

/** A generated oplog entry of any kind, its fields in a shuffled order, with the envelope fields MongoDB writes. */
function generatedEntry(n: number): Record<string, unknown> {
  const op = ['i', 'u', 'd', 'i', 'u', 'n', 'c'][rnd(7)] as string;
  const ns = ['shop.orders', 'shop.orderz', 'shop.skipped', 'crm.people', 'shop.é中'][rnd(5)] as string;
  const o: Record<string, unknown> =
    op === 'c' ? (rnd(2) === 0 ? { create: 'orders' } : { applyOps: [{ op: 'i', ns: 'shop.orders', o: { _id: new Int32(n) } }, { op: 'd', ns: 'shop.orders', o: { _id: new Int32(n - 1) } }] })
    : op === 'u' && rnd(2) === 0 ? { $v: new Int32(2), diff: { u: { qty: new Int32(rnd(9)) } } }
    : op === 'n' ? { msg: 'periodic noop' }
    : { _id: value(2), ...doc(0) };
  const fields: Array<[string, unknown]> = [
    ['op', op],
    ['ns', op === 'c' ? 'admin.$cmd' : op === 'n' ? '' : ns],
    ['ui', new Binary(Buffer.alloc(16, 7), 4)],
    ['o', o],
    ['ts', new Timestamp({ t: 1714979289 + n, i: rnd(50) })],
    ['v', Long.fromNumber(2)],
  ];
  // The term as MongoDB writes it (int64) and as other writers may (int32, double, a JS number).
  if (rnd(4) !== 0) fields.push(['t', [Long.fromNumber(n % 5), new Int32(n % 5), new Double(n % 5), n % 5][rnd(4)]]);
  if (rnd(4) !== 0) fields.push(['wall', new Date(Date.UTC(2026, 0, 1) + rnd(1e9))]);
  if (op === 'u') fields.push(['o2', { _id: value(3) }]);
  if (rnd(10) === 0) fields.push(['fromMigrate', rnd(2) === 0]);
  if (rnd(5) === 0) fields.push(['lsid', { id: new Binary(Buffer.alloc(16, 3), 4), uid: new Binary(Buffer.alloc(32, 1), 0) }], ['txnNumber', Long.fromNumber(n)], ['stmtId', new Int32(0)]);
  fields.sort(() => rnd(3) - 1);
  return Object.fromEntries(fields);
}

describe('decodeOplogEntry', () => {
  it('gives the same change events as the entry decoded whole, for 2,000 generated entries of every kind', () => {
    let crud = 0;
    const kinds = new Set<string>();
    for (let n = 0; n < 2000; n++) {
      const raw = BSON.serialize(generatedEntry(n));
      const whole = decodeDocument<OplogEntry>(raw);
      const { entry, docBytes } = decodeOplogEntry(raw);
      if (['i', 'u', 'd'].includes(whole.op)) crud++;
      kinds.add(`${whole.op}:${typeof whole.t === 'object' ? (whole.t as { _bsontype: string })._bsontype : typeof whole.t}:${whole.o2 === undefined ? '' : 'o2'}:${whole.fromMigrate ?? ''}`);
      expect(entry.ts.equals(whole.ts)).toBe(true);
      expect([entry.op, entry.ns, termOf(entry), entry.wall?.getTime(), entry.fromMigrate]).toEqual([whole.op, whole.ns, termOf(whole), whole.wall?.getTime(), whole.fromMigrate]);
      expect(convertOplogEntry(entry, ctx, -1, docBytes)).toEqual(convertOplogEntry(whole, ctx));
    }
    expect(crud).toBeGreaterThan(1000);
    // Every kind of entry with every form of the term was generated (not one fixed by the generator).
    for (const op of ['i', 'u', 'd', 'n', 'c']) for (const t of ['Long', 'Int32', 'Double', 'undefined']) expect(kinds).toContain(`${op}:${t}:${op === 'u' ? 'o2' : ''}:`);
    expect([...kinds].some((k) => k.endsWith(':true'))).toBe(true);
  });

  it('reads a namespace again when the bytes it was cached from change in place', () => {
    const a = Buffer.from(BSON.serialize({ op: 'i', ns: 'shop.aaaa', o: { _id: new Int32(1) }, ts: new Timestamp({ t: 1, i: 1 }) }));
    expect(decodeOplogEntry(a).entry.ns).toBe('shop.aaaa');
    const at = a.indexOf('shop.aaaa');
    a.write('shop.bbbb', at, 'latin1'); // a driver buffer reused for the next batch
    expect(decodeOplogEntry(a).entry.ns).toBe('shop.bbbb');
    expect(decodeOplogEntry(BSON.serialize({ op: 'd', ns: 'shop.aaab', o: { _id: new Int32(1) }, ts: new Timestamp({ t: 1, i: 2 }) })).entry.ns).toBe('shop.aaab');
  });
});
