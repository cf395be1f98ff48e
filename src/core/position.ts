/**
 * A point in a source's change history: a PostgreSQL LSN, a MongoDB oplog timestamp or resume
 * token, a Db2 commit sequence. Positions of one source are totally ordered.
 */
export interface Position {
  /** Negative, zero or positive, like Array.prototype.sort comparators. */
  compare(other: Position): number;
  /** A string that the source's `decodePosition` turns back into an equal Position. */
  encode(): string;
  /**
   * The id of the change at this position, for message ids (Canal `id`, DTS Avro `id`): a number
   * below `CHANGE_ID_LIMIT` (about 2^62) that is the same whenever the same change is read again
   * (after a restart, in a replay from a checkpoint) and that differs between distinct changes of
   * the source's stream, increasing in stream order. Null, or no method at all, when the position
   * does not single out one change (full-sync rows, start positions) or falls outside the range its
   * layout can represent; the formats then assign an id when they write the message.
   */
  eventId?(): bigint | null;
  /**
   * How the source's own clients write this position (PostgreSQL: the LSN `X/Y`), for the formats'
   * position fields (DTS `sourcePosition`, Shareplex `scn`). Absent: `encode()`.
   */
  text?(): string;
}

/**
 * Change ids from `Position.eventId` are below this: 2^62 − 2^52, so that the message id the
 * formats make of one, 2^53 + 2 × id (+ 1), stays below 2^63 (formats/messageId.ts).
 */
export const CHANGE_ID_LIMIT = (1n << 62n) - (1n << 52n);

/** A position made of an unsigned 64-bit number (PostgreSQL LSN, Db2 commit sequence, oplog ts as t<<32|i). */
export class SequencePosition implements Position {
  constructor(readonly value: bigint) {}
  compare(other: Position): number {
    const o = (other as SequencePosition).value;
    return this.value < o ? -1 : this.value > o ? 1 : 0;
  }
  encode(): string {
    return this.value.toString();
  }
  /** Null: one such number may stand for a whole transaction (an LSN, a commit sequence), not one change. */
  eventId(): null {
    return null;
  }
  static decode(text: string): SequencePosition {
    return new SequencePosition(BigInt(text));
  }
}

/** PostgreSQL LSN text form `XXXXXXXX/XXXXXXXX` ↔ 64-bit number. */
export function lsnToBigInt(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  if (hi === undefined || lo === undefined) throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** The inverse of {@link lsnToBigInt}: `0x16B3748n` → `0/16B3748`. */
export function bigIntToLsn(value: bigint): string {
  const hi = (value >> 32n).toString(16).toUpperCase();
  const lo = (value & 0xffffffffn).toString(16).toUpperCase();
  return `${hi}/${lo}`;
}
