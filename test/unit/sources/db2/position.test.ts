import { describe, expect, it } from 'vitest';
import { Db2Position, atWidth, compareSeq, widen } from '../../../../src/sources/db2/position.js';

const b = (hex: string) => Buffer.from(hex, 'hex');

describe('Db2 sequence values', () => {
  it('compare as unsigned bytes, not as signed numbers or text', () => {
    expect(compareSeq(b('00000000000000000080'), b('0000000000000000007f'))).toBe(1);
    expect(compareSeq(b('ff000000000000000000'), b('7fffffffffffffffffff'))).toBe(1);
    expect(compareSeq(b('0000000000000000000a'), b('0000000000000000000a'))).toBe(0);
  });

  it('compare a 10-byte value with a 16-byte one as the V10 migration widens it (six zero bytes first)', () => {
    const narrow = b('00000000001234567890');
    expect(widen(narrow).toString('hex')).toBe('00000000000000000000001234567890');
    expect(compareSeq(narrow, b('00000000000000000000001234567890'))).toBe(0);
    expect(compareSeq(narrow, b('00000000000000000000001234567891'))).toBe(-1);
    expect(compareSeq(b('00000000000000000001000000000000'), narrow)).toBe(1);
  });

  it('are written at the width the server stores', () => {
    expect(atWidth(b('00000000001234567890'), 16).toString('hex')).toBe('00000000000000000000001234567890');
    expect(atWidth(b('00000000000000000000001234567890'), 10).toString('hex')).toBe('00000000001234567890');
    expect(() => atWidth(b('01000000000000000000001234567890'), 10)).toThrow(/does not fit/);
  });
});

describe('Db2Position', () => {
  const c1 = b('0000000000000000000000000000a100');
  const c2 = b('0000000000000000000000000000a200');
  const i1 = b('0000000000000000000000000000a0f0');
  const i2 = b('0000000000000000000000000000a0f1');

  it('orders by commit, then intent; a whole commit sorts after every change in it', () => {
    const list = [Db2Position.endOf(c1), new Db2Position(c2, i1), new Db2Position(c1, i2), new Db2Position(c1, i1), Db2Position.endOf(c2)];
    const sorted = [...list].sort((x, y) => x.compare(y)).map((p) => p.encode());
    expect(sorted).toEqual([new Db2Position(c1, i1), new Db2Position(c1, i2), Db2Position.endOf(c1), new Db2Position(c2, i1), Db2Position.endOf(c2)].map((p) => p.encode()));
  });

  it('ignores the commit time when comparing', () => {
    expect(new Db2Position(c1, i1, 1).compare(new Db2Position(c1, i1, 2))).toBe(0);
  });

  it('round-trips through its text form, keeping widths and time', () => {
    for (const p of [new Db2Position(c1, i1, 1718000000123), Db2Position.endOf(b('00000000000000000a1b')), new Db2Position(b('00000000000000000a1b'), b('00000000000000000a10'))]) {
      const again = Db2Position.decode(p.encode());
      expect(again.encode()).toBe(p.encode());
      expect(again.compare(p)).toBe(0);
      expect(again.commit.length).toBe(p.commit.length);
      expect(again.time).toBe(p.time);
    }
    expect(new Db2Position(c1, i1, 5).encode()).toBe('0000000000000000000000000000a100.0000000000000000000000000000a0f0@5');
  });

  it('refuses text that is not a position', () => {
    expect(() => Db2Position.decode('0/16B3748')).toThrow(/not a Db2 position/);
    expect(() => Db2Position.decode('abc')).toThrow();
  });

  it('names no message id (the formats assign them)', () => {
    expect(new Db2Position(c1, i1).eventId()).toBeNull();
  });
});
