import { describe, expect, it } from 'vitest';
import { packBatch } from '../../../../src/sinks/kafka/workerProducer.js';

describe('packBatch', () => {
  it('packs keys and values of every request into one buffer with a six-int index per message, in order', () => {
    const packed = packBatch([
      [
        { topic: 'a', messages: [{ key: Buffer.from('k1'), value: Buffer.from('v1'), partition: 2 }, { key: null, value: Buffer.from('v2'), partition: 0 }] },
        { topic: 'b', messages: [{ key: Buffer.from('k3'), value: Buffer.from('value3'), partition: 1, headers: { h: 'x' } }] },
      ],
      [{ topic: 'a', messages: [{ key: Buffer.from('k4'), value: Buffer.from(''), partition: 1 }] }],
    ]);
    expect(packed.count).toBe(4);
    expect(packed.topics).toEqual(['a', 'b']);
    expect(packed.parts).toEqual([3, 1]);
    expect(packed.headers).toEqual([[2, { h: 'x' }]]);
    const data = Buffer.from(packed.data);
    const at = (i: number) => Array.from(packed.index.subarray(i * 6, i * 6 + 6));
    const text = (off: number, len: number) => data.subarray(off, off + len).toString();
    const rows = [0, 1, 2, 3].map((i) => {
      const [t, p, ko, kl, vo, vl] = at(i) as [number, number, number, number, number, number];
      return [packed.topics[t], p, kl < 0 ? null : text(ko, kl), text(vo, vl)];
    });
    expect(rows).toEqual([
      ['a', 2, 'k1', 'v1'],
      ['a', 0, null, 'v2'],
      ['b', 1, 'k3', 'value3'],
      ['a', 1, 'k4', ''],
    ]);
    expect(packed.data.byteLength).toBe(2 + 2 + 2 + 2 + 6 + 2);
  });
});
