import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { applyEtl } from '../../../src/operators/applyEtl.js';
import { FatalError } from '../../../src/core/errors.js';
import type { ChangeEvent } from '../../../src/core/events.js';
import { ev, shape, testScheduler } from './helpers.js';

const t = shape('shop', 'orders', 'public');

describe('applyEtl', () => {
  it('passes, changes, drops and splits events in order; heartbeats bypass the function (marbles)', () => {
    const a = ev(t, 'insert', { after: { id: 1, name: 'a' } });
    const b = ev(t, 'insert', { after: { id: 2, name: 'b' } });
    const c = ev(t, 'insert', { after: { id: 3, name: 'c' } });
    const h = ev(t, 'heartbeat');
    const upper = { ...a, after: { id: 1, name: 'A' } };
    const c1 = { ...c, after: { id: 3, name: 'c1' } };
    const c2 = { ...c, after: { id: 3, name: 'c2' } };
    const seen: ChangeEvent[] = [];
    const fn = (e: ChangeEvent) => {
      seen.push(e);
      if (e === a) return upper;
      if (e === b) return null;
      return [c1, c2];
    };
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-h-c-----|', { a, b, c, h }).pipe(applyEtl(fn))).toBe('a---h-(xy)--|', { a: upper, h, x: c1, y: c2 });
    });
    expect(seen).toEqual([a, b, c]);
  });

  it('turns an error from the function into a FatalError naming the table', () => {
    const a = ev(t, 'update', { after: { id: 1 } });
    const boom = new TypeError('cannot read x');
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('a-a|', { a }).pipe(
        applyEtl(() => {
          throw boom;
        }),
      );
      expectObservable(out).toBe(
        '#',
        undefined,
        expect.objectContaining({
          code: 'ETL_FAILED',
          kind: 'fatal',
          object: 'shop.public.orders',
          cause: boom,
          message: expect.stringMatching(/ETL function failed on shop\.public\.orders \(update at \d+\): cannot read x/),
        }),
      );
    });
    let caught: unknown;
    applyEtl(() => {
      throw boom;
    })(of(a)).subscribe({ error: (e: unknown) => (caught = e) });
    expect(caught).toBeInstanceOf(FatalError);
  });
});
