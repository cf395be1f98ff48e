/**
 * Message ids (Canal JSON `id`, DTS Avro `id`): positive 64-bit values below 2^63 (a Java `long`),
 * unique in a task's stream.
 *
 * - From 2^53: `2^53 + 2 × position.eventId()` (see `Position.eventId`: PostgreSQL from the commit
 *   LSNs and the rank in the transaction, MongoDB oplog from the entry's `ts` and rank). A change
 *   read again after a restart gets its id again; distinct changes get distinct ids, increasing in
 *   stream order. An update that changed its row's key and is written as a delete under the old
 *   key followed by an insert under the new one: the delete takes the even id, the insert the odd
 *   id just after it.
 * - Below 2^53: assigned when the message is written, for messages whose position singles out no
 *   change (full-sync rows, MongoDB change streams) or lies outside its layout's range:
 *   (write time in ms since 2024-01-01 UTC) × 4096 + a count, process-wide and increasing, so unique
 *   across restarts as long as the clock does not go back by more than the time the task was down.
 *   Such a message written again after a restart gets a new id.
 */
import { FatalError } from '../core/errors.js';
import type { ChangeEvent, Op } from '../core/events.js';
import { CHANGE_ID_LIMIT, type Position } from '../core/position.js';
import type { ByteSink } from './byteSink.js';

/** Ids from here on come from source positions; ids below are assigned at write time. */
export const POSITION_IDS = 1n << 53n;
/** Unix ms of 2024-01-01T00:00:00Z: write-time ids count from it (and last until 2093). */
const WRITE_TIME_EPOCH = 1_704_067_200_000;

let lastWriteTimeId = -1;

/**
 * The next write-time id as a number (exact: every id is below 2^53), so that a row of a full
 * sync costs no BigInt arithmetic.
 */
function nextWriteTimeId(now: number): number {
  const floor = Math.max(0, Math.trunc(now) - WRITE_TIME_EPOCH) * 4096;
  const id = floor > lastWriteTimeId ? floor : lastWriteTimeId + 1;
  if (id >= 2 ** 53) {
    throw new FatalError('MESSAGE_ID_RANGE', `No message id left below 2^53 for write time ${now}.`, { field: 'id' });
  }
  lastWriteTimeId = id;
  return id;
}

/** The next write-time id (process-wide): at least `(now − 2024) × 4096`, above every earlier one. */
export function writeTimeId(now: number): bigint {
  return BigInt(nextWriteTimeId(now));
}

/**
 * Ids for one encoder's messages, in the order it writes them. It remembers the previous message
 * to recognize the second half of a key-changing update (an insert right after a delete that
 * carries the very same position object, as the Kafka sink writes them); re-encoding the pair
 * gives the same two ids.
 */
export class MessageIds {
  private prevPosition: Position | null = null;
  private prevOp: Op | null = null;

  next(e: ChangeEvent, now: number): bigint {
    return this.fromPosition(e) ?? writeTimeId(now);
  }

  /** `next(e, now)` as decimal text (what JSON formats write). */
  text(e: ChangeEvent, now: number): string {
    const id = this.fromPosition(e);
    return id === null ? String(nextWriteTimeId(now)) : id.toString();
  }

  /** `text(e, now)` written straight into `out`. */
  writeInto(e: ChangeEvent, now: number, out: ByteSink): void {
    const id = this.fromPosition(e);
    if (id !== null) out.writeAscii(id.toString());
    else {
      const d = this.writeTime;
      d.set(nextWriteTimeId(now));
      out.writeBytes(d.bytes, d.length);
    }
  }

  private readonly writeTime = new DecimalText();

  /** The id the event's position gives it, null when it needs a write-time id. */
  private fromPosition(e: ChangeEvent): bigint | null {
    const secondHalf = e.op === 'insert' && this.prevOp === 'delete' && e.position === this.prevPosition;
    this.prevPosition = e.position;
    this.prevOp = e.op;
    const change = e.snapshot ? null : (e.position.eventId?.() ?? null);
    if (change === null || change < 0n || change >= CHANGE_ID_LIMIT) return null;
    return POSITION_IDS + change * 2n + (secondHalf ? 1n : 0n);
  }
}

/**
 * The decimal text of a number, as bytes, kept for the next one: write-time ids mostly follow one
 * another, and adding one to the digits in place costs far less than converting a double to a string.
 */
class DecimalText {
  readonly bytes = Buffer.alloc(24);
  length = 0;
  private last = -2;

  set(n: number): void {
    if (n !== this.last + 1 || !this.increment()) this.length = this.bytes.write(String(n), 0, 'latin1');
    this.last = n;
  }

  /** Adds one to the digits; false when they were all nines (the text needs one more digit). */
  private increment(): boolean {
    const b = this.bytes;
    for (let i = this.length - 1; i >= 0; i--) {
      if (b[i] !== 57) {
        b[i] = (b[i] as number) + 1;
        return true;
      }
      b[i] = 48;
    }
    return false;
  }
}
