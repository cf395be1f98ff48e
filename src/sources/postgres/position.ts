import type { Position } from '../../core/position.js';
import { bigIntToLsn, lsnToBigInt } from '../../core/position.js';

/**
 * Where a PostgreSQL change sits in the stream: the commit LSN of its transaction, its rank inside
 * that transaction, and the commit LSN of the last transaction that ended before it began
 * (`safeLsn`). Confirming `safeLsn` to the slot never skips part of a transaction that was only
 * half delivered, however large it is. Snapshot rows carry the slot's consistent point.
 */
export class PgPosition implements Position {
  constructor(
    readonly commitLsn: bigint,
    readonly seq: number,
    readonly safeLsn: bigint,
  ) {}

  compare(other: Position): number {
    const o = other as PgPosition;
    if (this.commitLsn !== o.commitLsn) return this.commitLsn < o.commitLsn ? -1 : 1;
    return this.seq - o.seq;
  }

  /** `commitLsn#seq@safeLsn`, e.g. `0/16B3748#3@0/16B3700`. */
  encode(): string {
    return `${bigIntToLsn(this.commitLsn)}#${this.seq}@${bigIntToLsn(this.safeLsn)}`;
  }

  /** The LSN text alone (DTS Avro `sourcePosition`, Shareplex `scn`). */
  get lsn(): string {
    return bigIntToLsn(this.commitLsn);
  }

  toString(): string {
    return this.encode();
  }

  static decode(text: string): PgPosition {
    const m = /^([0-9A-Fa-f]+\/[0-9A-Fa-f]+)(?:#(\d+)@([0-9A-Fa-f]+\/[0-9A-Fa-f]+))?$/.exec(text);
    if (!m?.[1]) throw new Error(`not a PostgreSQL position: '${text}' (expected an LSN such as 0/16B3748)`);
    const lsn = lsnToBigInt(m[1]);
    return new PgPosition(lsn, Number(m[2] ?? 0), m[3] ? lsnToBigInt(m[3]) : lsn);
  }
}
