/**
 * A correct read_committed filter for kafkajs 2.2.4, whose own (`consumer/filterAbortedMessages.js`)
 * lets records of aborted transactions through. The broker lists a fetch's aborted transactions in
 * the order they ended (the order of its transaction index), not by first offset, and kafkajs
 * takes at most one of them per record, assuming first-offset order: when two transactions end in
 * another order than they began (a fenced worker's transactions, aborted one by one as their new
 * owners take them over), the records of the earlier one are delivered as if committed. Seen here
 * with the real broker: two producers each write a record in a transaction, the second aborts
 * first, then the first; a read_committed kafkajs consumer returned the first one's record.
 *
 * For exactly-once recovery that is data loss: the new owner reads a dead writer's aborted
 * checkpoint as committed and resumes after changes Kafka never committed. This replacement does
 * what the Java consumer does: aborted transactions ordered by first offset, every one whose first
 * offset a record reached is open for its producer until that producer's abort marker, and a
 * transactional record of a producer with an open aborted transaction is dropped.
 */
import { replaceKafkajsModule } from './moduleCache.js';

interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

/** Control record key: version (int16) and type (int16), 0 = abort, 1 = commit. */
const isAbortMarker = (r: FetchedRecord): boolean => r.isControlRecord === true && r.key !== null && r.key.length >= 4 && r.key.readInt16BE(2) === 0;

/** The records of `messages` that are not part of an aborted transaction (control records kept: kafkajs drops them next). */
export function filterAbortedMessages<R extends FetchedRecord>({ messages, abortedTransactions }: { messages: R[]; abortedTransactions?: AbortedTransaction[] | null }): R[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = abortedTransactions.map((t) => ({ producerId: String(t.producerId), firstOffset: BigInt(t.firstOffset) })).sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const open = new Set<string>();
  let next = 0;
  return messages.filter((r) => {
    const offset = BigInt(r.offset);
    for (let t = pending[next]; t !== undefined && offset >= t.firstOffset; t = pending[++next]) open.add(t.producerId);
    const producerId = String(r.batchContext.producerId);
    if (r.isControlRecord === true) {
      if (isAbortMarker(r)) open.delete(producerId);
      return true;
    }
    return !(r.batchContext.inTransaction && open.has(producerId));
  });
}

/** Installs the replacement (before kafkajs loads it); returns whether the cache still holds it. */
export function installAbortedFilter(): () => boolean {
  return replaceKafkajsModule('kafkajs/src/consumer/filterAbortedMessages.js', () => filterAbortedMessages);
}
