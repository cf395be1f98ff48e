import { describe, expect, it } from 'vitest';
import { CommittedKeyTracker } from '../../../src/kafka/committedLog.js';

/** A record as kafkajs decodes it from a fetch: data, or a control record (marker). */
const data = (offset: number, key: string, value: string | null, producerId: string | null) => ({
  offset: String(offset),
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  batchContext: { producerId: producerId ?? '-1', inTransaction: producerId !== null },
});
const marker = (offset: number, producerId: string, commit: boolean) => {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(commit ? 1 : 0, 2);
  return { offset: String(offset), key, value: Buffer.alloc(6), isControlRecord: true, batchContext: { producerId, inTransaction: true } };
};

function newest(key: string, records: ReturnType<typeof data | typeof marker>[]): string | null | undefined {
  const t = new CommittedKeyTracker(key);
  for (const r of records) t.add(r);
  const found = t.result();
  return found === undefined ? undefined : found.value === null ? null : found.value.toString();
}

describe('CommittedKeyTracker: a read_committed view of one key, resolved by transaction markers', () => {
  it('counts a transactional record once its producer commits, and the newest committed one wins', () => {
    expect(newest('a', [data(0, 'a', '1', '7'), marker(1, '7', true), data(2, 'a', '2', '7'), marker(3, '7', true)])).toBe('2');
  });

  it('drops a record its producer aborts', () => {
    expect(newest('a', [data(0, 'a', '1', '7'), marker(1, '7', true), data(2, 'a', '2', '7'), marker(3, '7', false)])).toBe('1');
  });

  it("does not count a transaction still open at the end, nor wait for another producer's open one", () => {
    // Producer 8 (another task) opened a transaction before producer 7 committed its newer record.
    expect(newest('a', [data(0, 'a', '1', '7'), marker(1, '7', true), data(2, 'b', 'x', '8'), data(3, 'a', '2', '7'), marker(4, '7', true)])).toBe('2');
    expect(newest('b', [data(0, 'a', '1', '7'), marker(1, '7', true), data(2, 'b', 'x', '8'), data(3, 'a', '2', '7'), marker(4, '7', true)])).toBeUndefined();
    expect(newest('a', [data(0, 'a', '1', '7'), marker(1, '7', true), data(2, 'a', '2', '7')])).toBe('1');
  });

  it('resolves each producer by its own markers, in whatever order transactions end', () => {
    // Two writers of the same key (a fenced one and its successor); the later-begun one commits first.
    const records = [data(0, 'a', 'old', '7'), data(1, 'a', 'new', '9'), marker(2, '9', true), marker(3, '7', false)];
    expect(newest('a', records)).toBe('new');
    const reversed = [data(0, 'a', 'first', '7'), data(1, 'a', 'second', '9'), marker(2, '9', false), marker(3, '7', true)];
    expect(newest('a', reversed)).toBe('first');
  });

  it('counts non-transactional records at once, tombstones included, by offset', () => {
    // In offset order, as a read_committed reader delivers them: '1', '2' (committed later), then the tombstone.
    expect(newest('a', [data(0, 'a', '1', null), data(1, 'a', '2', '7'), data(2, 'a', null, null), marker(3, '7', true)])).toBeNull();
    expect(newest('a', [data(0, 'a', '1', null), data(1, 'a', '2', '7'), marker(2, '7', true)])).toBe('2');
    expect(newest('a', [data(0, 'a', '1', '7'), marker(1, '7', true), data(2, 'a', null, null)])).toBeNull();
    expect(newest('a', [data(0, 'b', '1', null)])).toBeUndefined();
  });
});
