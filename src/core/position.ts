/**
 * A point in a source's change history: a PostgreSQL LSN, a MongoDB oplog timestamp or resume
 * token, a Db2 commit sequence. Positions of one source are totally ordered.
 */
export interface Position {
  /** Negative, zero or positive, like Array.prototype.sort comparators. */
  compare(other: Position): number;
  /** A string that the source's `decodePosition` turns back into an equal Position. */
  encode(): string;
}

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

export function bigIntToLsn(value: bigint): string {
  const hi = (value >> 32n).toString(16).toUpperCase();
  const lo = (value & 0xffffffffn).toString(16).toUpperCase();
  return `${hi}/${lo}`;
}
