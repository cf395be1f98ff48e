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

describe('packEncoded', () => {
  it('packs like packBatch(splitBySize(…)) without copying the encoded bytes', async () => {
    const { ByteSink } = await import('../../../../src/formats/byteSink.js');
    const { packEncoded } = await import('../../../../src/sinks/kafka/workerProducer.js');
    const { splitBySize } = await import('../../../../src/sinks/kafka/sink.js');
    const out = new ByteSink(16);
    const meta = new Int32Array(40 * 6);
    const byTopic = new Map<string, number[]>();
    const messages = new Map<string, Array<{ key: Buffer | null; value: Buffer; partition: number; headers?: Record<string, string> }>>();
    const headers = new Map<number, Record<string, string>>();
    for (let n = 0; n < 40; n++) {
      const topic = n % 3 === 0 ? 'a' : n % 3 === 1 ? 'b' : 'c';
      const key = n % 5 === 0 ? null : `k${n}`;
      const value = 'v'.repeat(n * 7);
      out.writeKey(key);
      out.writeValue(value);
      meta.set([n % 4, out.keyOffset, out.keyLength, out.valueOffset, out.valueLength, n === 7 ? 3 : 0], n * 6);
      if (n === 7) headers.set(n, { h: 'xy' });
      (byTopic.get(topic) ?? byTopic.set(topic, []).get(topic)!).push(n);
      const m = { key: key === null ? null : Buffer.from(key), value: Buffer.from(value), partition: n % 4, ...(n === 7 ? { headers: { h: 'xy' } } : {}) };
      (messages.get(topic) ?? messages.set(topic, []).get(topic)!).push(m);
    }
    const packed = packEncoded({ data: out, meta, count: 40, byTopic, headers }, 500);
    const ref = packBatch(splitBySize([...messages].map(([topic, ms]) => ({ topic, messages: ms })), 500));
    expect(packed.topics).toEqual(ref.topics);
    expect(packed.parts).toEqual(ref.parts);
    expect(packed.count).toBe(ref.count);
    expect(packed.headers).toEqual(ref.headers);
    expect(packed.data).toBe(out.buf.buffer);
    const msgs = (p: typeof ref) => Array.from({ length: p.count }, (_, i) => {
      const [t, part, ko, kl, vo, vl] = Array.from(p.index.subarray(i * 6, i * 6 + 6)) as [number, number, number, number, number, number];
      const d = Buffer.from(p.data);
      return [t, part, kl < 0 ? null : d.toString('utf8', ko, ko + kl), d.toString('utf8', vo, vo + vl)];
    });
    expect(msgs(packed)).toEqual(msgs(ref));
  });
});
