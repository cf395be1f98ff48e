import { describe, expect, it } from 'vitest';
import { ByteSink } from '../../../src/formats/byteSink.js';

/** What writeJsonString wrote, as text. */
function written(s: string, capacity = 16): string {
  const out = new ByteSink(capacity);
  out.writeAscii('x');
  const from = out.pos;
  out.writeJsonString(s);
  return out.buf.toString('utf8', from, out.pos);
}

describe('ByteSink.writeJsonString', () => {
  it('is JSON.stringify for printable ASCII on every side of its fast paths (24, 512, 4096 units)', () => {
    for (const n of [0, 1, 23, 24, 25, 100, 511, 512, 513, 4095, 4096, 4097, 9000]) {
      const s = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95)).replace(/["\\]/, 'q')).join('');
      expect(written(s)).toBe(JSON.stringify(s));
    }
  });

  it('escapes what JSON escapes and writes UTF-8 wherever the one character sits in a long string', () => {
    const specials = ['"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '中', '😀', '\ud800', '\u2028'];
    for (const c of specials) {
      for (const n of [30, 600, 5000]) {
        for (const at of [0, Math.floor(n / 2), n - 1]) {
          const s = 'a'.repeat(at) + c + 'b'.repeat(n - at - 1);
          expect(written(s)).toBe(JSON.stringify(s));
        }
      }
    }
  });
});

