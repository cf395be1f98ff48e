import { describe, expect, it } from 'vitest';
import { Binary, BSONRegExp, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, UUID } from 'mongodb';
import { ByteSink } from '../../../src/formats/byteSink.js';
import { createCanalJson } from '../../../src/formats/canal-json.js';
import { documentInto, documentToJson } from '../../../src/formats/types/document.js';
import type { ChangeEvent } from '../../../src/core/events.js';
import { mongoCases, mongoCtx } from './cases.js';

// A deterministic generator (no Math.random: a failure must reproduce).
let seed = 4242;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const pieces = ['a', 'Z', '9', ' ', '"', '\\', '\n', '\u0000', '\u007f', 'é', '中', '😀', '\ud800', '\u2028', '$', '.'];
const text = (max: number) => {
  let s = '';
  for (let i = rnd(max); i > 0; i--) s += pieces[rnd(pieces.length)];
  return s;
};
const scalars: Array<() => unknown> = [
  () => text(40),
  () => 'x'.repeat(25 + rnd(60)), // long printable ASCII: the one-copy path
  () => new Int32(rnd(2_000_000) - 1_000_000),
  () => new Double([0, -0, 0.5, 1402, 1e21, 2 ** 53 + 2, NaN, Infinity, -Infinity, -3.25][rnd(10)] as number),
  () => [0, -0, 7, 2 ** 31, -(2 ** 31) - 1, 0.1, NaN][rnd(7)] as number,
  () => rnd(2) === 0,
  () => null,
  () => undefined,
  () => Long.fromString(String(rnd(1_000_000) * 9_000_000_007)),
  () => BigInt(rnd(1000)) * 10n ** 18n,
  () => Decimal128.fromString('12345678901234567890.123456789'),
  () => new ObjectId(Buffer.from(Array.from({ length: 12 }, () => rnd(256)))),
  () => new Date([Date.UTC(2024, 0, 2, 3, 4, 5, 678), Date.UTC(1969, 11, 31), Date.UTC(10000, 0, 1), NaN][rnd(4)] as number),
  () => new Binary(Buffer.from(text(10)), rnd(2) === 0 ? 0 : 5),
  () => new UUID('4a3b2c1d-1234-4abc-9def-0123456789ab'),
  () => Buffer.from([1, 2, 3]),
  () => new BSONRegExp('^a.*"b', 'im'),
  () => /x\/y/gi,
  () => new Timestamp({ t: 1714979289, i: rnd(10) }),
  () => new MinKey(),
  () => new MaxKey(),
];
function value(depth: number): unknown {
  const r = rnd(10);
  if (depth < 3 && r === 0) return Array.from({ length: rnd(5) }, () => value(depth + 1));
  if (depth < 3 && r === 1) return doc(depth + 1);
  return (scalars[rnd(scalars.length)] as () => unknown)();
}
function doc(depth: number): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (let i = rnd(8); i > 0; i--) d[text(6) || `k${i}`] = value(depth);
  return d;
}

describe('documentInto', () => {
  it('writes exactly the bytes of documentToJson for 2,000 generated documents', () => {
    const out = new ByteSink(64); // small: forces growth
    for (let i = 0; i < 2000; i++) {
      const d = { _id: value(2), ...doc(0) };
      const start = out.pos;
      documentInto(out, d);
      expect(out.view(start, out.pos - start).toString('utf8')).toBe(documentToJson(d));
    }
  });

  it('Canal JSON of document inserts, deletes and full-document updates: the same bytes through encodeInto as through encode', () => {
    const fmt = createCanalJson();
    const out = new ByteSink(256);
    const template = mongoCases['insert-full-doc'] as ChangeEvent;
    for (let i = 0; i < 500; i++) {
      const d = { _id: value(2), ...doc(0) };
      const op = (['insert', 'delete', 'update'] as const)[i % 3] as 'insert' | 'delete' | 'update';
      const e: ChangeEvent = op === 'delete' ? { ...template, op, after: undefined, before: d } : op === 'update' ? { ...template, op, before: { _id: d._id }, after: d } : { ...template, op, after: d };
      const ctx = mongoCtx();
      const viaString = fmt.encode(e, ctx);
      fmt.encodeInto?.(e, ctx, out);
      expect(out.keyLength < 0 ? null : out.view(out.keyOffset, out.keyLength)).toEqual(viaString.key);
      // Incremental events: the message id comes from the position, so the whole value is the same bytes.
      expect(out.view(out.valueOffset, out.valueLength).toString('utf8')).toBe(viaString.value.toString('utf8'));
    }
  });

  it('writes dates as toISOString does, from 1970 to the end of 9999 (leap days, century years, boundaries)', () => {
    const out = new ByteSink(64);
    const last = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    const instants = [0, 1, 999, 86_399_999, 86_400_000, last, last - 1, Date.UTC(1972, 1, 29), Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2000, 2, 1), Date.UTC(2100, 1, 28, 12), Date.UTC(2100, 2, 1), Date.UTC(2400, 1, 29)];
    for (let i = 0; i < 20_000; i++) instants.push(Math.floor((rnd(1 << 30) / (1 << 30)) * last) + rnd(1000));
    for (const t of instants) {
      out.pos = 0;
      documentInto(out, { d: new Date(t) });
      expect(out.view(0, out.pos).toString('utf8')).toBe(`{"d":{"$date":"${new Date(t).toISOString()}"}}`);
    }
  });
});
