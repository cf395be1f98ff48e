import { describe, expect, it } from 'vitest';
import { AckTracker } from '../../../src/operators/AckTracker.js';
import { ackWatermark } from '../../../src/operators/ackWatermark.js';
import type { Position } from '../../../src/core/position.js';
import { pos, testScheduler } from './helpers.js';

const w = (t: AckTracker) => t.watermark()?.encode();

describe('AckTracker', () => {
  it('advances only over a contiguous acked prefix when acks arrive out of order', () => {
    const t = new AckTracker();
    const tickets = [10, 20, 30, 40, 50].map((n) => t.track(pos(n)));
    expect(w(t)).toBeUndefined();
    expect(t.ack(pos(30))).toBe(false);
    expect(t.ack(tickets[4]!)).toBe(false);
    expect(w(t)).toBeUndefined();
    expect(t.ack(pos(10))).toBe(true);
    expect(w(t)).toBe('10');
    expect(t.ack(pos(40))).toBe(false);
    expect(w(t)).toBe('10');
    expect(t.ack(tickets[1]!)).toBe(true);
    expect(w(t)).toBe('50');
    expect(t.size).toBe(0);
  });

  it('never reaches a position while another event at that position is unacked', () => {
    const t = new AckTracker();
    t.track(pos(1));
    t.track(pos(2));
    t.track(pos(2));
    t.track(pos(3));
    t.ack(pos(1));
    t.ack(pos(2));
    expect(w(t)).toBe('1');
    t.ack(pos(3));
    expect(w(t)).toBe('1');
    t.ack(pos(2));
    expect(w(t)).toBe('3');
  });

  it('starts from a given position, grows past its capacity and stays correct', () => {
    const t = new AckTracker(16, pos(0));
    expect(w(t)).toBe('0');
    const n = 10_000;
    for (let i = 1; i <= n; i++) t.track(pos(i));
    // ack evens in reverse, then odds: the watermark may never pass an unacked position
    for (let i = n; i >= 2; i -= 2) {
      t.ack(pos(i));
      expect(w(t)).toBe('0');
    }
    for (let i = 1; i <= n; i += 2) {
      t.ack(pos(i));
      expect(w(t)).toBe(String(i + 1));
    }
    expect(t.size).toBe(0);
  });

  it('is O(1) amortized: 200k events with shuffled acks in a bounded window finish fast', () => {
    const t = new AckTracker();
    const n = 200_000;
    const window = 64;
    const tickets: number[] = [];
    let acked = 0;
    const started = performance.now();
    for (let i = 1; i <= n; i++) {
      tickets.push(t.track(pos(i)));
      if (tickets.length === window) {
        // ack in a scrambled order
        for (let k = 0; k < window; k++) t.ack(tickets[(k * 37) % window]!);
        acked += window;
        tickets.length = 0;
        expect(w(t)).toBe(String(acked));
      }
    }
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('rejects positions that go backwards and acks for unknown positions', () => {
    const t = new AckTracker();
    t.track(pos(5));
    expect(() => t.track(pos(4))).toThrow(/position 4 was dispatched after 5/);
    expect(() => t.ack(pos(7))).toThrow(/ACK|never dispatched/);
    t.ack(pos(5));
    expect(t.ack(0)).toBe(false); // a duplicate ack by ticket is ignored
  });
});

describe('ackWatermark', () => {
  it('emits the contiguous acked watermark; out-of-order acks never move it past an unacked event (marbles)', () => {
    const P: Record<string, Position> = { a: pos(1), b: pos(2), c: pos(3), d: pos(4) };
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const dispatched = cold('abcd|', P);
      const acks = hot('-----c-b--d-a--', P);
      expectObservable(dispatched.pipe(ackWatermark(acks))).toBe('------------(d|)', P);
    });
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const dispatched = cold('abcd|', P);
      const acks = hot('-----b-a--d-c-', P);
      expectObservable(dispatched.pipe(ackWatermark(acks))).toBe('-------b----(d|)', P);
    });
  });

  it('keeps running while events are unacked and fails on an ack never dispatched', () => {
    const P: Record<string, Position> = { a: pos(1), b: pos(2), x: pos(99) };
    testScheduler().run(({ hot, cold, expectObservable }) => {
      expectObservable(cold('ab|', P).pipe(ackWatermark(hot('---a---|', P)))).toBe('---a---|', P);
      expectObservable(cold('a-', P).pipe(ackWatermark(hot('--x', P)))).toBe('--#', undefined, expect.objectContaining({ code: 'ACK_UNKNOWN' }));
    });
  });
});
