import { describe, expect, it } from 'vitest';
import { from, Subject, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { ThrottleController, throttleRate, type ThrottleLimits } from '../../../src/operators/throttleRate.js';
import { testScheduler } from './helpers.js';

interface Item {
  id: number;
  bytes: number;
}

const items = (n: number, bytes = 100): Item[] => Array.from({ length: n }, (_, id) => ({ id, bytes }));

/** Runs `input` (all available at time 0) through the throttle in virtual time; returns the emission times. */
function run(input: Item[], limits: ThrottleLimits | ThrottleController, setup?: (s: VirtualTimeScheduler) => void) {
  const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
  const times: number[] = [];
  const ids: number[] = [];
  let completedAt = -1;
  setup?.(scheduler);
  from(input)
    .pipe(throttleRate(limits, { scheduler }))
    .subscribe({
      next: (item) => {
        times.push(scheduler.now());
        ids.push(item.id);
      },
      complete: () => (completedAt = scheduler.now()),
    });
  scheduler.flush();
  const count = (fromMs: number, toMs: number) => times.filter((t) => t >= fromMs && t < toMs).length;
  return { times, ids, completedAt, count };
}

describe('throttleRate', () => {
  it('spaces events at the configured events/s (marbles)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: { bytes: 1 }, b: { bytes: 1 }, c: { bytes: 1 }, d: { bytes: 1 } };
      const out = cold('abcd|', values).pipe(throttleRate<{ bytes: number }>({ eventsPerSecond: 100 }, { burstMs: 10 }));
      expectObservable(out).toBe('a 9ms b 9ms c 9ms (d|)', values);
    });
  });

  it('limits bytes/s, letting an event larger than the bucket through once the bucket is full (marbles)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: { bytes: 50 }, b: { bytes: 50 }, c: { bytes: 50 }, d: { bytes: 500 }, e: { bytes: 1 } };
      // 1000 B/s, bucket 100 B: a and b fit the burst, c waits for 48 B, d (> bucket) waits for a full bucket, e pays d's debt.
      const out = cold('abcde|', values).pipe(throttleRate<{ bytes: number }>({ bytesPerSecond: 1000 }));
      expectObservable(out).toBe('ab 48ms c 99ms d 400ms (e|)', values);
    });
  });

  it('passes everything at once when unlimited (undefined or 0)', () => {
    for (const limits of [{}, { eventsPerSecond: 0, bytesPerSecond: 0 }]) {
      const r = run(items(1000), limits);
      expect(r.times.every((t) => t === 0)).toBe(true);
      expect(r.ids).toHaveLength(1000);
      expect(r.completedAt).toBe(0);
    }
  });

  it('achieves the configured events/s within 5% over 10 s of simulated time, in order, dropping nothing', () => {
    for (const rate of [1000, 3333, 250]) {
      const r = run(items(rate * 12), { eventsPerSecond: rate });
      const achieved = r.count(0, 10_000) / 10;
      expect(Math.abs(achieved - rate) / rate, `rate ${rate}`).toBeLessThan(0.05);
      expect(r.ids).toEqual(items(rate * 12).map((i) => i.id));
      expect(r.completedAt).toBe(r.times[r.times.length - 1]);
    }
  });

  it('achieves the configured bytes/s within 5% over 10 s, with mixed event sizes', () => {
    const input = Array.from({ length: 20_000 }, (_, id) => ({ id, bytes: 50 + ((id * 37) % 200) }));
    const r = run(input, { bytesPerSecond: 100_000 });
    const bytes = input.slice(0, r.count(0, 10_000)).reduce((s, i) => s + i.bytes, 0);
    expect(Math.abs(bytes / 10 - 100_000) / 100_000).toBeLessThan(0.05);
    expect(r.ids).toHaveLength(20_000);
  });

  it('applies both limits: the tighter one wins', () => {
    const r = run(items(20_000, 100), { eventsPerSecond: 1000, bytesPerSecond: 50_000 });
    expect(Math.abs(r.count(0, 10_000) / 10 - 500) / 500).toBeLessThan(0.05);
  });

  it('changes the rate mid-stream through a controller', () => {
    const controller = new ThrottleController({ eventsPerSecond: 1000 });
    const r = run(items(30_000), controller, (s) => s.schedule(() => controller.set({ eventsPerSecond: 2000 }), 5_000));
    expect(Math.abs(r.count(0, 5_000) / 5 - 1000) / 1000).toBeLessThan(0.05);
    expect(Math.abs(r.count(5_000, 10_000) / 5 - 2000) / 2000).toBeLessThan(0.05);
    expect(controller.limits).toEqual({ eventsPerSecond: 2000 });
  });

  it('changes the rate from an Observable, and lifting the limit releases the queue at once', () => {
    const limits$ = new Subject<ThrottleLimits>();
    const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
    const times: number[] = [];
    from(items(5_000))
      .pipe(throttleRate(limits$, { scheduler }))
      .subscribe(() => times.push(scheduler.now()));
    // No limits emitted yet: unlimited.
    expect(times).toHaveLength(5_000);
    expect(times.every((t) => t === 0)).toBe(true);

    const scheduler2 = new VirtualTimeScheduler(VirtualAction, Infinity);
    const limits2$ = new Subject<ThrottleLimits>();
    const times2: number[] = [];
    const src = new Subject<{ bytes: number }>();
    src.pipe(throttleRate(limits2$, { scheduler: scheduler2 })).subscribe(() => times2.push(scheduler2.now()));
    limits2$.next({ eventsPerSecond: 10 });
    for (let i = 0; i < 100; i++) src.next({ bytes: 1 });
    scheduler2.schedule(() => limits2$.next({}), 2_000);
    scheduler2.flush();
    expect(times2).toHaveLength(100);
    expect(times2.filter((t) => t < 2_000).length).toBeGreaterThanOrEqual(20);
    expect(times2.filter((t) => t < 2_000).length).toBeLessThanOrEqual(22);
    expect(times2[times2.length - 1]).toBe(2_000);
  });

  it('completes only after the queue drained and passes errors at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const v = { a: { bytes: 1 }, b: { bytes: 1 } };
      expectObservable(cold('ab#', v).pipe(throttleRate<{ bytes: number }>({ eventsPerSecond: 10 }, { burstMs: 1 }))).toBe('a-#', v);
      expectObservable(cold('ab|', v).pipe(throttleRate<{ bytes: number }>({ eventsPerSecond: 10 }, { burstMs: 1 }))).toBe('a 99ms (b|)', v);
    });
  });
});

describe('throttleRate: one controller, several pipelines', () => {
  it('the limit holds for all of them together (several full-sync chunks under one rows/s)', () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
    const controller = new ThrottleController({ eventsPerSecond: 100 });
    const times: number[] = [];
    for (let p = 0; p < 4; p++) {
      from(items(200)).pipe(throttleRate(controller, { scheduler })).subscribe(() => times.push(scheduler.now()));
    }
    scheduler.flush();
    expect(times).toHaveLength(800);
    // 800 events at 100/s all together: about 8 s, not 2 s (4 pipelines × 100/s)
    const inFirstTwoSeconds = times.filter((t) => t < 2000).length;
    expect(inFirstTwoSeconds).toBeGreaterThanOrEqual(195);
    expect(inFirstTwoSeconds).toBeLessThanOrEqual(215);
    expect(Math.max(...times)).toBeGreaterThan(7800);
  });
});
