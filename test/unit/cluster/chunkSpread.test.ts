import { describe, expect, it } from 'vitest';
import { ChunkBoard, type ChunkRecord } from '../../../src/cluster/chunkOffers.js';
import type { ChunkChannel } from '../../../src/cluster/chunkChannel.js';
import { spreadingExecutor } from '../../../src/cluster/chunkSpread.js';
import type { TaskOptions } from '../../../src/config/schema.js';

/** The chunks topic in memory: records reach the board in order, a tick after they are sent. */
function memoryChannel(workerId: string, members: Set<string>) {
  const board = new ChunkBoard();
  const sent: ChunkRecord[] = [];
  const removed: string[] = [];
  const ch: ChunkChannel = {
    workerId,
    board,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    publish: async (records) => {
      await new Promise((r) => setTimeout(r, 1));
      for (const r of records) {
        sent.push(r);
        board.apply(r, Date.now());
      }
    },
    remove: async (keys) => void removed.push(...keys),
    member: (w) => members.has(w),
    workers: () => members.size,
  };
  return { ch, board, sent, removed };
}

const chunk = (id: string) => ({ id, table: { database: 'db', schema: 'public', table: 't' }, bounds: {} });
const task = { id: 'T', options: { fullSync: { parallelism: 1 } } as TaskOptions, exportedSnapshot: () => 'snap-token' };
const deferred = () => {
  let resolve!: (n: number) => void;
  const promise = new Promise<number>((r) => (resolve = r));
  return { promise, resolve };
};
const waitFor = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe('spreadingExecutor: a task owner\'s chunks over the cluster', () => {
  it('copies here while it has room, offers the rest, takes a helper\'s rows, and claims an unclaimed offer once a slot frees', async () => {
    const { ch, board, sent, removed } = memoryChannel('w1', new Set(['w1', 'w2', 'w3']));
    const ex = spreadingExecutor(task, ch, { maxInFlight: 64, silenceMs: 10_000, maxRemoteFailures: 3 });
    expect(ex.parallelism(1)).toBe(3);
    const signal = new AbortController().signal;
    const a = deferred();
    const localCalls: string[] = [];
    const local = (id: string, d: { promise: Promise<number> }) => () => {
      localCalls.push(id);
      return d.promise;
    };
    const copyA = ex.copy(chunk('a'), local('a', a), signal);
    expect(localCalls).toEqual(['a']); // a free slot: no offer
    const copyB = ex.copy(chunk('b'), local('b', deferred()), signal);
    const c = deferred();
    const copyC = ex.copy(chunk('c'), local('c', c), signal);
    await waitFor(() => board.open().length === 2);
    expect(board.open().map((o) => [o.chunk.id, o.snapshot, o.owner])).toEqual([['b', 'snap-token', 'w1'], ['c', 'snap-token', 'w1']]);
    // w2 claims b first and reports it.
    const refB = { task: 'T', run: board.open()[0]?.run as string, chunkId: 'b', attempt: 1 };
    await ch.publish([{ type: 'claim', ...refB, worker: 'w2', at: 0 }]);
    await ch.publish([{ type: 'done', ...refB, worker: 'w2', rows: 7, at: 0 }]);
    await expect(copyB).resolves.toEqual({ rows: 7, by: 'w2' });
    expect(localCalls).toEqual(['a']);
    // a ends: the owner claims c itself (nobody did) and copies it here.
    a.resolve(3);
    await expect(copyA).resolves.toEqual({ rows: 3 });
    await waitFor(() => localCalls.includes('c'));
    expect(sent.some((r) => r.type === 'claim' && r.worker === 'w1' && r.chunkId === 'c')).toBe(true);
    c.resolve(5);
    await expect(copyC).resolves.toEqual({ rows: 5 });
    expect(ex.copiedBy()).toEqual({ w1: 2, w2: 1 });
    // Settled attempts are deleted from the topic.
    await waitFor(() => removed.includes(`offer/T/${refB.run}/b/1`) && removed.includes(`claim/T/${refB.run}/b/1/w2`));
  });

  it('a helper that leaves the group loses its chunk: the attempt is cancelled and the chunk offered again', async () => {
    const members = new Set(['w1', 'w2']);
    const { ch, board, sent } = memoryChannel('w1', members);
    const ex = spreadingExecutor(task, ch, { maxInFlight: 64, silenceMs: 10_000, maxRemoteFailures: 3 });
    const signal = new AbortController().signal;
    const a = deferred();
    void ex.copy(chunk('a'), () => a.promise, signal);
    const copyB = ex.copy(chunk('b'), () => Promise.resolve(11), signal);
    await waitFor(() => board.open().length === 1);
    const run = board.open()[0]?.run as string;
    await ch.publish([{ type: 'claim', task: 'T', run, chunkId: 'b', attempt: 1, worker: 'w2', at: 0 }]);
    members.delete('w2');
    await waitFor(() => sent.some((r) => r.type === 'cancel' && r.chunkId === 'b' && r.attempt === 1));
    await waitFor(() => board.open().some((o) => o.chunk.id === 'b' && o.attempt === 2));
    a.resolve(1); // the owner's slot frees: it claims attempt 2 and copies b here
    await expect(copyB).resolves.toEqual({ rows: 11 });
  });

  it('a helper\'s failure report makes the chunk offered again; a stopped task cancels its open offer', async () => {
    const { ch, board, sent } = memoryChannel('w1', new Set(['w1', 'w2']));
    const ex = spreadingExecutor(task, ch, { maxInFlight: 64, silenceMs: 10_000, maxRemoteFailures: 3 });
    void ex.copy(chunk('a'), () => new Promise<number>(() => undefined), new AbortController().signal);
    const stop = new AbortController();
    void ex.copy(chunk('b'), () => Promise.resolve(1), stop.signal);
    await waitFor(() => board.open().length === 1);
    const run = board.open()[0]?.run as string;
    await ch.publish([{ type: 'claim', task: 'T', run, chunkId: 'b', attempt: 1, worker: 'w2', at: 0 }]);
    await ch.publish([{ type: 'done', task: 'T', run, chunkId: 'b', attempt: 1, worker: 'w2', error: 'boom', at: 0 }]);
    await waitFor(() => board.open().some((o) => o.chunk.id === 'b' && o.attempt === 2));
    stop.abort();
    await waitFor(() => sent.some((r) => r.type === 'cancel' && r.chunkId === 'b' && r.attempt === 2));
    expect(board.open()).toEqual([]);
  });
});
