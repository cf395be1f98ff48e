import type { Position } from '../../core/position.js';

/**
 * Db2 SQL Replication sequence values (`IBMSNAP_COMMITSEQ`, `IBMSNAP_INTENTSEQ`, synchpoints) are
 * log sequence numbers kept as `VARCHAR(16) FOR BIT DATA`: 10 bytes before Db2 V10 (Capture
 * `COMPATIBILITY` '0801'), 16 bytes from V10 on. They order as unsigned bytes. IBM's V10 migration
 * turns a 10-byte value into the 16-byte one by prefixing six zero bytes, so a shorter value is
 * compared as if left-padded with zero bytes to 16.
 */
export const SEQ_WIDE = 16;
export const SEQ_NARROW = 10;

/** The value as 16 bytes: left-padded with zero bytes (a 10-byte value as the V10 migration writes it). */
export function widen(seq: Buffer): Buffer {
  if (seq.length >= SEQ_WIDE) return seq;
  const out = Buffer.alloc(SEQ_WIDE);
  seq.copy(out, SEQ_WIDE - seq.length);
  return out;
}

/** Unsigned comparison of two sequence values of any width (10 or 16 bytes). */
export function compareSeq(a: Buffer, b: Buffer): number {
  if (a.length === b.length) return Buffer.compare(a, b);
  return Buffer.compare(widen(a), widen(b));
}

/**
 * The value at the width the server stores (10 or 16 bytes), for literals compared with its
 * columns: a 16-byte value whose first six bytes are zero shortens to 10, a 10-byte value widens to
 * 16. Throws when a 16-byte value cannot be written in 10 bytes (a position from a V10 server
 * given to a server that still writes 10-byte values).
 */
export function atWidth(seq: Buffer, width: number): Buffer {
  if (seq.length === width) return seq;
  if (width === SEQ_WIDE) return widen(seq);
  const w = widen(seq);
  const cut = SEQ_WIDE - width;
  for (let i = 0; i < cut; i++) {
    if (w[i] !== 0) throw new Error(`sequence value ${w.toString('hex')} does not fit in ${width} bytes`);
  }
  return w.subarray(cut);
}

export function seqHex(seq: Buffer): string {
  return seq.toString('hex');
}

export function seqFromHex(hex: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new Error(`not a sequence value in hex: '${hex}'`);
  return Buffer.from(hex, 'hex');
}

/**
 * Where a Db2 change sits in the stream: the commit sequence of its transaction
 * (`IBMSNAP_COMMITSEQ`) and its own intent sequence (`IBMSNAP_INTENTSEQ`), the pair Capture orders
 * every change-data table by. `intent` null stands after every change of the commit: the position
 * of a whole commit (Capture's progress, the start of the stream, full-sync rows).
 *
 * The stream resumes after a position: every change with a larger (commit, intent) pair, so a
 * restart inside a partly delivered commit re-reads exactly the changes after the last acknowledged
 * one. `time` is the commit time (Unix ms) Capture recorded for it, kept so that a restart can tell
 * whether Capture's retention limit may have pruned what follows; it takes no part in ordering.
 *
 * Text form: `commitHex[.intentHex][@timeMs]`.
 */
export class Db2Position implements Position {
  constructor(
    readonly commit: Buffer,
    readonly intent: Buffer | null,
    readonly time: number | null = null,
  ) {}

  /** After every change of `commit`. */
  static endOf(commit: Buffer, time: number | null = null): Db2Position {
    return new Db2Position(commit, null, time);
  }

  compare(other: Position): number {
    const o = other as Db2Position;
    const c = compareSeq(this.commit, o.commit);
    if (c !== 0) return c;
    if (this.intent === null) return o.intent === null ? 0 : 1;
    if (o.intent === null) return -1;
    return compareSeq(this.intent, o.intent);
  }

  encode(): string {
    const base = this.intent === null ? seqHex(this.commit) : `${seqHex(this.commit)}.${seqHex(this.intent)}`;
    return this.time === null ? base : `${base}@${this.time}`;
  }

  /**
   * Null: a change is singled out by its two sequence values (up to 32 bytes together), more than
   * a message id can carry without a mapping that would not survive a restart; the formats assign
   * ids at write time.
   */
  eventId(): null {
    return null;
  }

  toString(): string {
    return this.encode();
  }

  static decode(text: string): Db2Position {
    const m = /^([0-9a-fA-F]+)(?:\.([0-9a-fA-F]+))?(?:@(-?\d+))?$/.exec(text.trim());
    if (!m?.[1]) throw new Error(`not a Db2 position: '${text}' (expected commitHex[.intentHex][@timeMs])`);
    return new Db2Position(seqFromHex(m[1]), m[2] ? seqFromHex(m[2]) : null, m[3] !== undefined ? Number(m[3]) : null);
  }
}
