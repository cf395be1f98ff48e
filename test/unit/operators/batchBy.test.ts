import { describe, expect, it } from 'vitest';
import { firstValueFrom, from, map, toArray } from 'rxjs';
import { batchBy } from '../../../src/operators/batchBy.js';
import { createBatch } from '../../../src/core/batch.js';
import { testScheduler } from './helpers.js';

type It = { id: string; bytes: number };
const v = (bytes: number) => (id: string): It => ({ id, bytes });
const vals = (ids: string, bytes = 10): Record<string, It> => Object.fromEntries([...ids].map((c) => [c, v(bytes)(c)]));

describe('batchBy', () => {
  it('flushes at maxEvents and the tail on completion (marbles)', () => {
    const x = vals('abcde');
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcde|', x).pipe(batchBy<It>({ maxEvents: 2 }))).toBe('-x-y-(z|)', {
        x: { items: [x.a, x.b], bytes: 20 },
        y: { items: [x.c, x.d], bytes: 20 },
        z: { items: [x.e], bytes: 10 },
      });
    });
  });

  it('flushes before an item would exceed maxBytes; an oversized item travels alone (marbles)', () => {
    const x = { a: v(40)('a'), b: v(40)('b'), c: v(40)('c'), d: v(500)('d'), e: v(60)('e') };
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcde-----|', x).pipe(batchBy<It>({ maxBytes: 100 }))).toBe('--x(yz)---(w|)', {
        x: { items: [x.a, x.b], bytes: 80 },
        y: { items: [x.c], bytes: 40 },
        z: { items: [x.d], bytes: 500 },
        w: { items: [x.e], bytes: 60 },
      });
    });
  });

  it('flushes maxWaitMs after the first item of a batch, not after the last (marbles)', () => {
    const x = vals('abcd');
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('a 3ms b 3ms c 10ms d 20ms |', x).pipe(batchBy<It>({ maxWaitMs: 5, maxEvents: 100 }));
      // a@0 b@4 -> flush @5; c@8 -> flush @13; d@19 -> flush @24; complete @40 with nothing left
      expectObservable(out).toBe('5ms x 7ms y 10ms z 15ms |', {
        x: { items: [x.a, x.b], bytes: 20 },
        y: { items: [x.c], bytes: 10 },
        z: { items: [x.d], bytes: 10 },
      });
    });
  });

  it('a count flush cancels the wait timer of that batch (marbles)', () => {
    const x = vals('abc');
    testScheduler().run(({ cold, expectObservable }) => {
      // a@0 starts a 3 ms timer, the count flush @1 must cancel it, or c (@2) would be flushed @3 instead of @5
      const out = cold('abc 10ms |', x).pipe(batchBy<It>({ maxWaitMs: 3, maxEvents: 2 }));
      expectObservable(out).toBe('-x---y 7ms |', { x: { items: [x.a, x.b], bytes: 20 }, y: { items: [x.c], bytes: 10 } });
    });
  });

  it('drops the partial group on error and rejects limits that never flush', () => {
    const x = vals('ab');
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab#', x).pipe(batchBy<It>({ maxEvents: 5 }))).toBe('--#');
    });
    expect(() => batchBy({})).toThrow(/at least one/);
  });

  it('groups carry what the caller needs to build an acked Batch', async () => {
    const acked: number[] = [];
    const batches = await firstValueFrom(
      from([1, 2, 3].map((n) => ({ id: String(n), bytes: n }))).pipe(
        batchBy({ maxEvents: 2 }),
        map((g) => createBatch(g.items, g.bytes, () => acked.push(g.items.length))),
        toArray(),
      ),
    );
    expect(batches.map((b) => b.bytes)).toEqual([3, 3]);
    batches[1]!.ack();
    batches[0]!.ack();
    batches[0]!.ack();
    expect(acked).toEqual([1, 2]);
  });
});
