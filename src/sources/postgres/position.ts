import type { Position } from '../../core/position.js';
import { CHANGE_ID_LIMIT, bigIntToLsn, lsnToBigInt } from '../../core/position.js';

/** Change ids per byte of WAL (see `PgPosition.eventId`). */
export const PG_IDS_PER_WAL_BYTE = 1024n;

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

  /**
   * The change's id: `safeLsn × 1024 + seq`. The stream sets `safeLsn` to the commit LSN of the
   * transaction decoded just before this one (or to the LSN it started from), so the changes of a
   * transaction take the ids in (previous commit LSN × 1024, own commit LSN × 1024]: consecutive
   * transactions get adjacent, disjoint ranges in commit order, and a transaction's changes count
   * up inside its range. A replay from a checkpoint starts at the checkpoint's `safeLsn`, which is
   * the previous commit of the first transaction it replays, so every replayed change gets its
   * first id again. Nothing here assumes anything about WAL record sizes: a range holds 1024 ids
   * per byte of WAL between the two commits (at least 34 bytes: a commit record), i.e. at least
   * 34,816 changes.
   *
   * Null for positions that name no single change (`seq` 0: full-sync rows, start positions), for
   * a transaction with more changes than its range holds (its later changes), and from about LSN 4 PiB on
   * (`CHANGE_ID_LIMIT`); the formats then assign ids at write time.
   */
  eventId(): bigint | null {
    const s = this.safeLsn;
    if (this.seq <= 0 || s <= 0n || s >= this.commitLsn) return null;
    const id = s * PG_IDS_PER_WAL_BYTE + BigInt(this.seq);
    return id <= this.commitLsn * PG_IDS_PER_WAL_BYTE && id < CHANGE_ID_LIMIT ? id : null;
  }

  /** The LSN text alone (DTS Avro `sourcePosition`, Shareplex `scn`). */
  get lsn(): string {
    return bigIntToLsn(this.commitLsn);
  }

  /** How PostgreSQL's clients write the position: the commit LSN (DTS Avro `sourcePosition`, Shareplex `scn`). */
  text(): string {
    return this.lsn;
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
