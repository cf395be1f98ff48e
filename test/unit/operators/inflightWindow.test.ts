import { describe, expect, it } from 'vitest';
import { Observable, Subject } from 'rxjs';
import { InflightWindow, inflightWindow } from '../../../src/operators/inflightWindow.js';
import { testScheduler } from './helpers.js';

type It = { id: number; bytes: number };

/** A reader that reads from `rows` only while the window is not paused, as a replication stream with flow control. */
function reader(rows: It[], window: InflightWindow): Observable<It> & { reads: () => number } {
  let next = 0;
  const obs = new Observable<It>((sub) => {
    let paused = false;
    const pump = () => {
      while (!paused && next < rows.length) sub.next(rows[next++]!);
      if (next === rows.length) sub.complete();
    };
    const s = window.paused$.subscribe((p) => {
      paused = p;
      if (!p) pump();
    });
    return () => s.unsubscribe();
  });
  return Object.assign(obs, { reads: () => next });
}

describe('inflightWindow', () => {
  it('pauses the reader when the window is full by events and resumes after acks', () => {
    const window = new InflightWindow({ maxEvents: 4, resumeRatio: 0.5 });
    const rows = Array.from({ length: 10 }, (_, id) => ({ id, bytes: 1 }));
    const r = reader(rows, window);
    const out: It[] = [];
    let done = false;
    r.pipe(inflightWindow(window)).subscribe({ next: (x) => out.push(x), complete: () => (done = true) });
    expect(window.paused).toBe(true);
    expect(r.reads()).toBe(4);
    expect(out.map((x) => x.id)).toEqual([0, 1, 2, 3]);
    window.release(1, 1); // 3 in flight: still above the resume point (2)
    expect(window.paused).toBe(true);
    expect(r.reads()).toBe(4);
    window.release(2, 2); // 1 in flight: resume, read until full again
    expect(r.reads()).toBe(7);
    expect(window.inflightEvents).toBe(4);
    expect(window.paused).toBe(true);
    window.release(4, 4);
    expect(r.reads()).toBe(10);
    window.release(3, 3);
    expect(window.inflightEvents).toBe(0);
    expect(out.map((x) => x.id)).toEqual(rows.map((x) => x.id));
    expect(done).toBe(true);
  });

  it('pauses by bytes; paused$ emits only changes (marbles)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const window = new InflightWindow({ maxBytes: 100 });
      const acks = new Subject<number>();
      acks.subscribe((b) => window.release(1, b));
      const v = { a: { bytes: 60 }, b: { bytes: 50 }, c: { bytes: 10 } };
      cold('ab---c', v).pipe(inflightWindow(window)).subscribe();
      cold('---x-y', { x: 60, y: 50 }).subscribe((b) => acks.next(b));
      // f@0 (initial), t@1 (110 B), still paused after 60 acked (50 B >= 80% of 100? no: 50 < 80 -> resume @3), c@5 is 10 B
      expectObservable(window.paused$).toBe('ft-f', { f: false, t: true });
    });
  });

  it('can change limits while running and rejects over-release', () => {
    const window = new InflightWindow({ maxEvents: 10 });
    for (let i = 0; i < 5; i++) window.admit(1);
    expect(window.paused).toBe(false);
    window.setLimits({ maxEvents: 5 });
    expect(window.paused).toBe(true);
    window.setLimits({ maxEvents: 0 });
    expect(window.paused).toBe(false);
    expect(() => window.release(6, 0)).toThrow(/released more than was admitted/);
    expect(() => new InflightWindow({ resumeRatio: 0 })).toThrow(RangeError);
  });
});
