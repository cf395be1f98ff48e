import { describe, expect, it } from 'vitest';
import { batchInto, type BatchFiller } from '../../../src/operators/batchInto.js';
import { testScheduler } from './helpers.js';

type It = { id: string; bytes: number };

describe('batchInto', () => {
  it('hands each item to its batch when the item arrives, not when the batch is flushed (marbles)', () => {
    const x = { a: { id: 'a', bytes: 1 }, b: { id: 'b', bytes: 1 }, c: { id: 'c', bytes: 1 } };
    const ts = testScheduler();
    let opened = 0;
    // Each item is recorded with the virtual time it was added at.
    const filler: BatchFiller<It, string[]> = {
      open: () => {
        opened += 1;
        return [];
      },
      add: (batch, item) => void batch.push(`${item.id}@${ts.now()}`),
    };
    ts.run(({ cold, expectObservable }) => {
      // a@0 b@3 c@6: added at once; the batch is flushed by its 10 ms wait.
      const out = cold('a 2ms b 2ms c 10ms |', x).pipe(batchInto(filler, { maxWaitMs: 10, maxEvents: 100 }));
      expectObservable(out).toBe('10ms x 6ms |', { x: { batch: ['a@0', 'b@3', 'c@6'], count: 3, bytes: 3 } });
    });
    expect(opened).toBe(1);
  });

  it('opens a batch only for an item, flushes by bytes, count and on completion (marbles)', () => {
    const x = { a: { id: 'a', bytes: 40 }, b: { id: 'b', bytes: 40 }, c: { id: 'c', bytes: 40 }, d: { id: 'd', bytes: 500 }, e: { id: 'e', bytes: 1 } };
    const filler: BatchFiller<It, string[]> = { open: () => [], add: (b, i) => void b.push(i.id) };
    testScheduler().run(({ cold, expectObservable }) => {
      // c would take the batch over 100 bytes: a+b go; d alone is over the limit and goes alone;
      // e is the tail, flushed on completion.
      expectObservable(cold('abcd-e-|', x).pipe(batchInto(filler, { maxBytes: 100, maxEvents: 10 }))).toBe('--x(yz)(w|)', {
        x: { batch: ['a', 'b'], count: 2, bytes: 80 },
        y: { batch: ['c'], count: 1, bytes: 40 },
        z: { batch: ['d'], count: 1, bytes: 500 },
        w: { batch: ['e'], count: 1, bytes: 1 },
      });
    });
  });
});
