import { describe, expect, it } from 'vitest';
import { createCanalJson } from '../../../src/formats/canal-json.js';
import { ByteSink } from '../../../src/formats/byteSink.js';
import { quote } from '../../../src/formats/json.js';
import { mongoCases, mongoCtx, pgCases, pgCtx } from './cases.js';

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

describe('quote', () => {
  it('is JSON.stringify for strings', () => {
    const samples = ['', 'plain', 'a"b', 'back\\slash', 'nl\n', '\u0000\u001f\u007f', 'é ü 中文', '😀 pair', 'lone \ud800 high', 'lone \udc00 low', '\u2028\u2029', '</script>'];
    for (const s of samples) expect(quote(s)).toBe(JSON.stringify(s));
  });
});
