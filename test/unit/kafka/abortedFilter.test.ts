import { describe, expect, it } from 'vitest';
import { filterAbortedMessages } from '../../../src/kafka/abortedFilter.js';

const record = (offset: number, producerId: string, value: string) => ({ offset: String(offset), key: Buffer.from(value), isControlRecord: false, batchContext: { producerId, inTransaction: true }, value });
const marker = (offset: number, producerId: string, type: 0 | 1) => {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type, 2);
  return { offset: String(offset), key, isControlRecord: true, batchContext: { producerId, inTransaction: true }, value: type === 0 ? 'ABORT' : 'COMMIT' };
};
const values = (rs: Array<{ value: string }>) => rs.map((r) => r.value);

describe('filterAbortedMessages (read_committed)', () => {
  it('drops the records of transactions aborted in another order than they began (the broker lists them by end)', () => {
    const messages = [record(0, '1', 'a1'), record(1, '2', 'b1'), record(2, '3', 'c1'), marker(3, '2', 0), marker(4, '1', 0), marker(5, '3', 1)];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '2', firstOffset: '1' }, { producerId: '1', firstOffset: '0' }] });
    expect(values(kept)).toEqual(['c1', 'ABORT', 'ABORT', 'COMMIT']);
  });

  it('opens every aborted transaction a record reached, including ones begun before the fetched range', () => {
    // Fetched from offset 10: producers 1 and 2 began aborted transactions at 4 and 6.
    const messages = [record(10, '2', 'b2'), record(11, '1', 'a2'), record(12, '3', 'c'), marker(13, '1', 0), marker(14, '2', 0)];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '1', firstOffset: '4' }, { producerId: '2', firstOffset: '6' }] });
    expect(values(kept)).toEqual(['c', 'ABORT', 'ABORT']);
  });

  it('keeps a producer\'s committed transaction after its aborted one, and non-transactional records', () => {
    const plain = { ...record(3, '9', 'plain'), batchContext: { producerId: '-1', inTransaction: false } };
    const messages = [record(0, '1', 'aborted'), marker(1, '1', 0), record(2, '1', 'committed'), plain, marker(4, '1', 1)];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '1', firstOffset: '0' }] });
    expect(values(kept)).toEqual(['ABORT', 'committed', 'plain', 'COMMIT']);
  });

  it('a record whose key looks like an abort marker closes nothing', () => {
    const lookalike = { ...record(1, '1', 'x'), key: Buffer.alloc(4) };
    const messages = [record(0, '1', 'a'), lookalike, record(2, '1', 'b'), marker(3, '1', 0)];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '1', firstOffset: '0' }] });
    expect(values(kept)).toEqual(['ABORT']);
  });

  it('passes everything through when nothing was aborted', () => {
    const messages = [record(0, '1', 'a'), marker(1, '1', 1)];
    expect(filterAbortedMessages({ messages, abortedTransactions: [] })).toBe(messages);
  });
});
