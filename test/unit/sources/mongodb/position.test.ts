import { describe, expect, it } from 'vitest';
import { CHANGE_ID_LIMIT } from '../../../../src/core/position.js';
import { OplogPosition, ResumeTokenPosition, decodeMongoPosition, tokenClusterTime } from '../../../../src/sources/mongodb/position.js';

describe('MongoDB positions', () => {
  it('oplog positions order by t, i, then rank in a transaction, and round-trip', () => {
    const a = new OplogPosition(10, 1);
    const b = new OplogPosition(10, 2);
    const c = new OplogPosition(10, 2, 0);
    expect(a.compare(b)).toBeLessThan(0);
    expect(b.compare(c)).toBeLessThan(0);
    expect(new OplogPosition(11, 0).compare(b)).toBeGreaterThan(0);
    expect(OplogPosition.decode(c.encode())).toEqual(c);
    expect(a.encode()).toBe('10:1');
    expect(() => OplogPosition.decode('nope')).toThrow(/t:i/);
  });

  it('resume token positions encode as JSON and order by cluster time then token', () => {
    const p = new ResumeTokenPosition('8265000000000000012B', 1694498816, 1);
    const text = p.encode();
    expect(JSON.parse(text)).toEqual({ _data: '8265000000000000012B', ts: '1694498816:1' });
    expect(decodeMongoPosition(text)).toEqual(p);
    expect(p.compare(new ResumeTokenPosition('8265000000000000012C', 1694498816, 1))).toBeLessThan(0);
    expect(p.compare(new OplogPosition(1694498816, 2))).toBeLessThan(0);
    expect(decodeMongoPosition('5:6')).toEqual(new OplogPosition(5, 6));
  });

  it('reads the cluster time inside tokens', () => {
    expect(tokenClusterTime('8264FF8A2A000000042B022C0100296E5A1004')).toEqual({ t: 0x64ff8a2a, i: 4 });
    expect(tokenClusterTime('6b02296400000002')).toEqual({ t: 0x6b022964, i: 2 });
    expect(tokenClusterTime('zz')).toBeNull();
    expect(ResumeTokenPosition.decode('{"_data":"6b02296400000002"}')).toEqual(new ResumeTokenPosition('6b02296400000002', 0x6b022964, 2));
  });

  it('oplog change ids follow oplog order, tell applyOps operations apart, and survive a checkpoint', () => {
    const positions = [new OplogPosition(1700000000, 1), new OplogPosition(1700000000, 2, 0), new OplogPosition(1700000000, 2, 1), new OplogPosition(1700000000, 2, 2046), new OplogPosition(1700000000, 3), new OplogPosition(1700000001, 1), new OplogPosition(0xffffffff, (1 << 18) - 1, 2046)];
    const ids = positions.map((p) => p.eventId());
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i]! > ids[i - 1]!).toBe(true);
      expect(Math.sign(positions[i]!.compare(positions[i - 1]!))).toBe(1);
    }
    expect(ids.at(-1)! < CHANGE_ID_LIMIT).toBe(true);
    for (const p of positions) expect(OplogPosition.decode(p.encode()).eventId()).toBe(p.eventId());
  });

  it('oplog change ids give up beyond 2^18 entries a second and 2047 operations in one entry', () => {
    expect(new OplogPosition(1700000000, 1 << 18).eventId()).toBeNull();
    expect(new OplogPosition(1700000000, 5, 2047).eventId()).toBeNull();
  });

  it('resume token positions name no change id: a cluster time is shared inside transactions and across shards', () => {
    expect(new ResumeTokenPosition('8265000000000000012B', 1694498816, 1).eventId()).toBeNull();
  });
});

describe('StreamSetPosition (per-collection change streams, issue 18)', () => {
  it('grows one component at a time, orders in dispatch order, and round-trips its text form', async () => {
    const { StreamSetPosition, ResumeTokenPosition: R, decodeMongoPosition: decode } = await import('../../../../src/sources/mongodb/position.js');
    const start = StreamSetPosition.from(new R(null, 100, 1));
    const a = start.with('d.a', new R('6400000000000005', 100, 5, 'd.a'));
    const b = a.with('d.b', new R('6400000000000003', 100, 3, 'd.b')); // older cluster time, later dispatch
    const c = b.with('d.a', new R('6400000000000009', 100, 9, 'd.a'));
    expect(a.compare(start)).toBe(1);
    expect(b.compare(a)).toBe(1);
    expect(c.compare(b)).toBe(1);
    expect(b.compare(c)).toBe(-1);
    expect(c.compare(c)).toBe(0);
    const back = decode(b.encode());
    expect(back).toBeInstanceOf(StreamSetPosition);
    expect(back.encode()).toBe(b.encode());
    expect(back.compare(b)).toBe(0);
    expect((back as InstanceType<typeof StreamSetPosition>).of('d.b').token).toBe('6400000000000003');
    expect((back as InstanceType<typeof StreamSetPosition>).of('d.c')).toMatchObject({ token: null, t: 100, i: 1, ns: 'd.c' });
    expect(back.timestamp().low).toBe(1);
  });
});
