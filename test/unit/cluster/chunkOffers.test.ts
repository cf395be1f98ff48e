import { describe, expect, it } from 'vitest';
import { ChunkBoard, chunkRecordKey, type ChunkRecord } from '../../../src/cluster/chunkOffers.js';
import { Aborted, Slots, until } from '../../../src/cluster/chunkChannel.js';

const chunk = (id: string) => ({ id, table: { database: 'db', schema: 'public', table: 't' }, bounds: { fromPage: 0, toPage: 1 } });
const offer = (chunkId: string, attempt = 1, run = 'r1'): ChunkRecord => ({ type: 'offer', task: 'T', run, chunk: chunk(chunkId), attempt, owner: 'w1', snapshot: 'snap', at: 0 });
const ref = (chunkId: string, attempt = 1, run = 'r1') => ({ task: 'T', run, chunkId, attempt });
const claim = (chunkId: string, worker: string, attempt = 1): ChunkRecord => ({ type: 'claim', ...ref(chunkId, attempt), worker, at: 0 });

describe('ChunkBoard: chunk offers as every worker reads them', () => {
  it('the first claim in the topic\'s order wins; later claims lose, whoever sent them', () => {
    const b = new ChunkBoard();
    b.apply(offer('a'), 0);
    expect(b.open().map((o) => o.chunk.id)).toEqual(['a']);
    b.apply(claim('a', 'w2'), 10);
    b.apply(claim('a', 'w1'), 11);
    b.apply(claim('a', 'w3'), 12);
    expect(b.get(ref('a'))?.winner).toBe('w2');
    expect(b.get(ref('a'))?.claimants).toEqual(['w2', 'w1', 'w3']);
    expect(b.open()).toEqual([]);
  });

  it('only the winner\'s report counts, once', () => {
    const b = new ChunkBoard();
    b.apply(offer('a'), 0);
    b.apply(claim('a', 'w2'), 0);
    b.apply({ type: 'done', ...ref('a'), worker: 'w3', rows: 5, at: 0 }, 1);
    expect(b.get(ref('a'))?.done).toBeUndefined();
    b.apply({ type: 'done', ...ref('a'), worker: 'w2', rows: 7, at: 0 }, 2);
    b.apply({ type: 'done', ...ref('a'), worker: 'w2', rows: 9, at: 0 }, 3);
    expect(b.get(ref('a'))?.done).toEqual({ worker: 'w2', rows: 7 });
  });

  it('a winner silent past the deadline, or out of the group, is abandoned; alive records keep it', () => {
    const b = new ChunkBoard();
    const member = (w: string) => w !== 'gone';
    b.apply(offer('a'), 0);
    b.apply(claim('a', 'w2'), 1000);
    expect(b.abandoned(ref('a'), 5000, 10_000, member)).toBe(false);
    b.apply({ type: 'alive', ...ref('a'), worker: 'w2', at: 0 }, 9000);
    b.apply({ type: 'alive', ...ref('a'), worker: 'w3', at: 0 }, 30_000); // not the winner: ignored
    expect(b.abandoned(ref('a'), 18_000, 10_000, member)).toBe(false);
    expect(b.abandoned(ref('a'), 19_001, 10_000, member)).toBe(true);
    b.apply(offer('b'), 0);
    b.apply(claim('b', 'gone'), 100);
    expect(b.abandoned(ref('b'), 200, 10_000, member)).toBe(true);
    b.apply({ type: 'done', ...ref('b'), worker: 'gone', rows: 1, at: 0 }, 300);
    expect(b.abandoned(ref('b'), 300, 10_000, member)).toBe(false); // reported: nothing to give up on
  });

  it('a cancelled attempt, a later attempt or a later run supersedes a claim; older runs\' offers are not open', () => {
    const b = new ChunkBoard();
    b.apply(offer('a'), 0);
    b.apply(offer('b'), 0);
    b.apply(claim('a', 'w2'), 0);
    expect(b.superseded(ref('a'))).toBe(false);
    b.apply(offer('a', 2), 0);
    expect(b.superseded(ref('a'))).toBe(true);
    b.apply({ type: 'cancel', ...ref('a', 2), at: 0 }, 0);
    expect(b.superseded(ref('a', 2))).toBe(true);
    expect(b.open().map((o) => `${o.chunk.id}/${o.attempt}`)).toEqual(['b/1']);
    b.apply(offer('c', 1, 'r2'), 0); // the task restarted: a new run
    expect(b.open().map((o) => o.chunk.id)).toEqual(['c']);
    expect(b.superseded(ref('b'))).toBe(true);
  });

  it('keys: one per attempt and kind, one per claimant; deleting the offer forgets the attempt', () => {
    const b = new ChunkBoard();
    const o = offer('public.t:0');
    b.apply(o, 0);
    b.apply(claim('public.t:0', 'w2'), 0);
    b.apply(claim('public.t:0', 'w1'), 0);
    expect(chunkRecordKey(o)).toBe('offer/T/r1/public.t:0/1');
    expect(chunkRecordKey(claim('public.t:0', 'w2'))).toBe('claim/T/r1/public.t:0/1/w2');
    expect(b.keysOf(ref('public.t:0')).sort()).toEqual(['alive/T/r1/public.t:0/1', 'cancel/T/r1/public.t:0/1', 'claim/T/r1/public.t:0/1/w1', 'claim/T/r1/public.t:0/1/w2', 'done/T/r1/public.t:0/1', 'offer/T/r1/public.t:0/1']);
    b.applyDeleted('claim/T/r1/public.t:0/1/w2');
    expect(b.size).toBe(1);
    b.applyDeleted('offer/T/r1/public.t:0/1');
    expect(b.size).toBe(0);
    b.apply(claim('public.t:0', 'w3'), 0); // a record of a forgotten attempt: nothing to decide
    expect(b.size).toBe(0);
  });

  it('until resolves on the change that satisfies it, and rejects when aborted', async () => {
    const b = new ChunkBoard();
    const winner = until(b, () => b.get(ref('a'))?.winner, new AbortController().signal, 10_000);
    b.apply(offer('a'), 0);
    b.apply(claim('a', 'w9'), 0);
    await expect(winner).resolves.toBe('w9');
    const ac = new AbortController();
    const never = until(b, () => undefined, ac.signal, 10_000);
    ac.abort();
    await expect(never).rejects.toBeInstanceOf(Aborted);
  });
});

describe('Slots', () => {
  it('hands freed slots to waiters in order; an aborted waiter takes nothing', async () => {
    const s = new Slots(1);
    const first = s.tryTake();
    expect(first).not.toBeNull();
    expect(s.tryTake()).toBeNull();
    const ac = new AbortController();
    const aborted = s.take(ac.signal);
    const waiting = s.take(new AbortController().signal);
    ac.abort();
    await expect(aborted).rejects.toBeInstanceOf(Aborted);
    first?.release();
    first?.release(); // idempotent
    const second = await waiting;
    expect(s.tryTake()).toBeNull();
    second.release();
    expect(s.tryTake()).not.toBeNull();
  });
});
