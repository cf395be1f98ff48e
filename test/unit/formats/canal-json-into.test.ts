import { describe, expect, it } from 'vitest';
import { createCanalJson } from '../../../src/formats/canal-json.js';
import { ByteSink } from '../../../src/formats/byteSink.js';
import { quote } from '../../../src/formats/json.js';
import { allTypes, lines, mongoCases, mongoCtx, orders, pgCases, pgCtx } from './cases.js';
import { PgPosition } from '../../../src/sources/postgres/position.js';
import type { ChangeEvent, Row, TableShape } from '../../../src/core/events.js';

const fmt = createCanalJson();

describe('canal-json encodeInto', () => {
  it('writes exactly the key and value bytes of encode(), back to back in one buffer', () => {
    const out = new ByteSink(1024); // small: forces growth
    const expected: Array<[Buffer | null, Buffer]> = [];
    const spans: Array<[number, number, number, number]> = [];
    const all = [...Object.values(pgCases).map((e) => [e, pgCtx()] as const), ...Object.values(mongoCases).map((e) => [e, mongoCtx()] as const)];
    for (let round = 0; round < 20; round++) {
      for (const [e, ctx] of all) {
        const r = fmt.encode(e, ctx);
        expected.push([r.key, r.value]);
        fmt.encodeInto!(e, ctx, out);
        spans.push([out.keyOffset, out.keyLength, out.valueOffset, out.valueLength]);
      }
    }
    expected.forEach(([key, value], i) => {
      const [ko, kl, vo, vl] = spans[i] as [number, number, number, number];
      expect(kl < 0 ? null : out.view(ko, kl)).toEqual(key);
      expect(out.view(vo, vl)).toEqual(value);
    });
  });
});

describe('canal-json encodeInto, full-sync rows', () => {
  it('writes the same message as encode() but for the write-time id, which is the next one', () => {
    const out = new ByteSink(64);
    const ctx = pgCtx();
    for (let i = 0; i < 50; i++) {
      const e: ChangeEvent = { ...(pgCases.insert as ChangeEvent), snapshot: true, after: { id: String(i), status: 'new', amount: '1.00', note: null } };
      const viaString = JSON.parse(fmt.encode(e, ctx).value.toString()) as { id: number };
      fmt.encodeInto!(e, ctx, out);
      const viaBytes = JSON.parse(out.view(out.valueOffset, out.valueLength).toString()) as { id: number };
      // Write-time ids: process-wide increasing, below 2^53, (ms since 2024) × 4096 + a count.
      expect(viaBytes.id).toBe(viaString.id + 1);
      expect(Number.isSafeInteger(viaBytes.id)).toBe(true);
      expect({ ...viaBytes, id: 0 }).toEqual({ ...viaString, id: 0 });
    }
  });
});

describe('canal-json encodeInto, relational rows written as bytes', () => {
  // A deterministic generator (no Math.random: a failure must reproduce).
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pieces = ['a', 'Z', '9', ' ', '"', '\\', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', '中', '😀', '\ud800', '\udc00', '\u2028', '/', '<', "'"];
  const text = (max: number) => {
    let out = '';
    const n = rnd(max);
    for (let i = 0; i < n; i++) out += rnd(4) === 0 ? (pieces[rnd(pieces.length)] as string) : String.fromCharCode(32 + rnd(95));
    return out;
  };
  const value = (): unknown => {
    switch (rnd(9)) {
      case 0:
        return null;
      case 1:
        return [rnd(1000) - 500, rnd(1000) / 7, -0, 1e21, 2 ** 53 + 2, NaN, Infinity, -Infinity][rnd(8)];
      case 2:
        return rnd(2) === 0;
      case 3:
        return text(1200); // beyond the 512-unit fast path
      case 4:
        return Buffer.from([rnd(256), rnd(256), 0x22]);
      default:
        return text(40);
    }
  };
  const rowOf = (shape: TableShape, keyed: boolean): Row => {
    const r: Row = {};
    for (const c of shape.columns) {
      if (!keyed && rnd(7) === 0) continue; // columns absent from the image are omitted
      r[c.name] = shape.key.includes(c.name) ? text(12) || 'k' : value();
    }
    return r;
  };

  it('writes the same key and value bytes as encode() for random values, escapes, surrogates and long strings', () => {
    const out = new ByteSink(256);
    for (let i = 0; i < 3000; i++) {
      const shape = [orders, lines, allTypes][rnd(3)] as TableShape;
      const op = (['insert', 'update', 'delete'] as const)[rnd(3)] as 'insert' | 'update' | 'delete';
      const after = rowOf(shape, true);
      const before = op === 'insert' ? null : op === 'delete' ? rowOf(shape, true) : rnd(3) === 0 ? null : rowOf(shape, rnd(2) === 0);
      // Small LSNs and LSNs whose ids pass 2^53.
      const commit = i % 2 === 0 ? BigInt(0x16b3748 + i * 64) : BigInt(i) * 100_000_000_000n;
      const position = new PgPosition(commit, (i % 5) + 1, commit - 40n);
      const e: ChangeEvent = { op, shape, snapshot: false, before, after: op === 'delete' ? null : after, commitTime: 1_700_000_000_000 + i, position, bytes: 100 };
      const ctx = pgCtx();
      const r = fmt.encode(e, ctx);
      fmt.encodeInto!(e, ctx, out);
      expect(out.keyLength < 0 ? null : out.view(out.keyOffset, out.keyLength).toString()).toBe(r.key === null ? null : r.key.toString());
      expect(out.view(out.valueOffset, out.valueLength).equals(r.value)).toBe(true);
    }
  });
});

describe('quote', () => {
  it('is JSON.stringify for strings', () => {
    const samples = ['', 'plain', 'a"b', 'back\\slash', 'nl\n', '\u0000\u001f\u007f', 'é ü 中文', '😀 pair', 'lone \ud800 high', 'lone \udc00 low', '\u2028\u2029', '</script>'];
    for (const s of samples) expect(quote(s)).toBe(JSON.stringify(s));
  });
});
