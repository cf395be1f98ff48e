import { describe, expect, it } from 'vitest';
import type { ChangeEvent, TableShape } from '../../../../src/core/events.js';
import { Router, hash32, keyHash, keyText } from '../../../../src/sinks/kafka/routing.js';

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
