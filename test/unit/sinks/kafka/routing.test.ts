import { describe, expect, it } from 'vitest';
import type { ChangeEvent, TableShape } from '../../../../src/core/events.js';
import { Double, Int32, Long, ObjectId } from 'mongodb';
import { Router, hash32, keyHash, keyText, valueText, valueTextByJson } from '../../../../src/sinks/kafka/routing.js';

const shape: TableShape = { ref: { database: 'shop', schema: 'public', table: 'orders' }, columns: [{ name: 'id', type: 'int8' }, { name: 'region', type: 'text' }], key: ['id', 'region'] };
const event = (after: Record<string, unknown> | null, before: Record<string, unknown> | null = null): ChangeEvent =>
  ({ op: after ? 'insert' : 'delete', shape, snapshot: false, before, after, commitTime: 0, position: null, bytes: 1 }) as unknown as ChangeEvent;

describe('keyHash routing', () => {
  it('is the FNV-1a hash of the key text, for strings, numbers, bigints, nulls, objects and non-ASCII text', () => {
    const rows = [
      { id: '42', region: 'eu' },
      { id: 42, region: null },
      { id: 2n ** 70n, region: 'é中😀' },
      { id: { a: [1, 2n] }, region: '' },
      { id: undefined, region: 'x' },
    ];
    for (const r of rows) {
      const e = event(r);
      expect(keyHash(e, shape.key)).toBe(hash32(keyText(e, shape.key)));
    }
    // The delete's old image is used when there is no new one.
    expect(keyHash(event(null, { id: '7', region: 'us' }), shape.key)).toBe(hash32('7\u0001us\u0001'));
  });

  it('hashes BSON key values (ObjectId, Int32) by the same text as their JSON, so a key keeps its partition', () => {
    const values: unknown[] = [
      new ObjectId('65f1a2b3c4d5e6f708192a3b'),
      new ObjectId(),
      new Int32(0),
      new Int32(-2147483648),
      new Int32(2147483647),
      new Int32(-0),
      new Double(1402),
      new Double(0.5),
      Long.fromString('9007199254740993'),
      { _id: new ObjectId('65f1a2b3c4d5e6f708192a3b'), n: new Int32(7) },
    ];
    for (const v of values) expect(valueText(v)).toBe(valueTextByJson(v));
    expect(valueText(new ObjectId('65f1a2b3c4d5e6f708192a3b'))).toBe('"65f1a2b3c4d5e6f708192a3b"');
    expect(valueText(new Int32(18))).toBe('18');
  });

  it('keeps every key on one partition and spreads keys over the partitions', () => {
    const router = new Router({ topic: 't', policy: 'keyHash' });
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const p = router.partitionOf(event({ id: String(i), region: 'eu' }), 6);
      expect(router.partitionOf(event({ id: String(i), region: 'eu' }), 6)).toBe(p);
      seen.add(p);
    }
    expect(seen.size).toBe(6);
  });
});
