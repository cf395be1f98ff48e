import { describe, expect, it } from 'vitest';
import { DestinationLag } from '../../../src/runtime/destinationLag.js';

describe('DestinationLag', () => {
  it('is null before anything was read, then measures from the oldest unacknowledged commit', () => {
    const lag = new DestinationLag();
    expect(lag.lagMs(1000)).toBeNull();
    lag.admitted(100);
    lag.admitted(200);
    expect(lag.lagMs(1000)).toBe(900);
    const t = lag.sent(100, 200, 2);
    expect(lag.lagMs(1000)).toBe(900);
    lag.acked(t);
    // nothing pending: measured from the last acknowledged commit
    expect(lag.lagMs(1000)).toBe(800);
    expect(lag.hasPending).toBe(false);
  });

  it('keeps growing while the destination does not acknowledge, however fresh the source is', () => {
    const lag = new DestinationLag();
    lag.admitted(1_000);
    lag.sent(1_000, 1_000, 1);
    for (let t = 2_000; t < 10_000; t += 1_000) {
      lag.admitted(t); // heartbeats and changes keep arriving at the source
      lag.sent(t, t, 1);
    }
    expect(lag.lagMs(130_000)).toBe(129_000);
  });

  it('acknowledgements out of order: the oldest pending batch still counts', () => {
    const lag = new DestinationLag();
    for (const c of [10, 20, 30]) lag.admitted(c);
    const a = lag.sent(10, 10, 1);
    const b = lag.sent(20, 30, 2);
    lag.acked(b);
    expect(lag.lagMs(100)).toBe(90);
    lag.acked(a);
    expect(lag.lagMs(100)).toBe(70);
  });

  it('events read but not yet batched are pending too', () => {
    const lag = new DestinationLag();
    for (const c of [10, 20, 30]) lag.admitted(c);
    lag.acked(lag.sent(10, 20, 2));
    // the third event (30) is still waiting in the batcher; bounded below by the last batched (20)
    expect(lag.lagMs(100)).toBe(80);
    lag.acked(lag.sent(30, 30, 1));
    expect(lag.lagMs(100)).toBe(70);
  });

  it('what a failed run left unacknowledged stays pending until a new run acknowledges past it', () => {
    const lag = new DestinationLag();
    lag.admitted(50);
    lag.sent(50, 50, 1); // never acknowledged: the write failed
    lag.restart();
    expect(lag.lagMs(1_000)).toBe(950);
    // the new run re-reads from the checkpoint: an older change acknowledged does not end it
    lag.admitted(40);
    lag.acked(lag.sent(40, 40, 1));
    expect(lag.lagMs(1_000)).toBe(950);
    lag.admitted(60);
    lag.acked(lag.sent(60, 60, 1));
    expect(lag.lagMs(1_000)).toBe(940);
    expect(lag.hasPending).toBe(false);
  });
});
