import { describe, expect, it } from 'vitest';
import { CHANGE_ID_LIMIT } from '../../../src/core/position.js';
import { PgPosition } from '../../../src/sources/postgres/position.js';

/** Positions as the stream makes them: one transaction after another, each naming the commit before it. */
function stream(commits: bigint[], sizes: number[], from: bigint): PgPosition[] {
  const out: PgPosition[] = [];
  let safe = from;
  commits.forEach((c, t) => {
    for (let seq = 1; seq <= (sizes[t] ?? 0); seq++) out.push(new PgPosition(c, seq, safe));
    safe = c;
  });
  return out;
}

describe('PgPosition.eventId', () => {
  it('is distinct and increasing over changes of one transaction and of back-to-back transactions', () => {
    // Commit records 40 bytes apart: the narrowest ranges the WAL allows.
    const positions = stream([0x16b3748n, 0x16b3770n, 0x16b3798n, 0x2_0000_0000n], [3, 40_960, 1, 5], 0x16b3700n);
    const ids = positions.map((p) => p.eventId());
    expect(ids.every((id) => id !== null)).toBe(true);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(ids.every((id) => id! > 0n && id! < CHANGE_ID_LIMIT)).toBe(true);
  });

  it('is the same after the position went through a checkpoint (encode, decode)', () => {
    for (const p of stream([0x16b3748n, 0x7_1234_5678n], [2, 2], 0x16b3700n)) {
      const again = PgPosition.decode(p.encode());
      expect(again.eventId()).toBe(p.eventId());
    }
  });

  it('a replay from a checkpoint gives the replayed changes their first ids', () => {
    const commits = [0x100_0000n, 0x100_0200n, 0x100_0800n];
    const first = stream(commits, [2, 3, 2], 0xff_0000n);
    // Checkpoint at the second change of the second transaction: the reader starts again at its safeLsn.
    const checkpoint = PgPosition.decode(first[3]!.encode());
    const replay = stream(commits.slice(1), [3, 2], checkpoint.safeLsn);
    expect(replay.map((p) => p.eventId())).toEqual(first.slice(2).map((p) => p.eventId()));
  });

  it('names no change for full-sync rows and start positions', () => {
    expect(new PgPosition(0x16b3748n, 0, 0x16b3748n).eventId()).toBeNull();
    expect(PgPosition.decode('0/16B3748').eventId()).toBeNull();
    expect(new PgPosition(0x16b3748n, 1, 0x16b3748n).eventId()).toBeNull();
    expect(new PgPosition(0x16b3748n, 1, 0n).eventId()).toBeNull();
  });

  it('holds 1024 ids per byte of WAL between the two commits, then gives up rather than reach the next transaction', () => {
    const s = 0x5_0000_0000n;
    const c = s + 40n;
    expect(new PgPosition(c, 40 * 1024, s).eventId()).toBe(c * 1024n);
    expect(new PgPosition(c, 40 * 1024 + 1, s).eventId()).toBeNull();
    expect(new PgPosition(c + 40n, 1, c).eventId()).toBe(c * 1024n + 1n);
  });

  it('gives up from about LSN 4 PiB on (CHANGE_ID_LIMIT)', () => {
    const s = CHANGE_ID_LIMIT / 1024n - 1n;
    expect(new PgPosition(s + 100n, 1, s).eventId()).toBe(s * 1024n + 1n);
    expect(new PgPosition(s + 100n, 1024, s).eventId()).toBeNull();
    expect(new PgPosition((1n << 52n) + 100n, 1, 1n << 52n).eventId()).toBeNull();
  });
});
