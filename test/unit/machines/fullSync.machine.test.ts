import { describe, expect, it } from 'vitest';
import { SimulatedClock, createActor, fromPromise } from 'xstate';
import { ConnectionError, FatalError, TributaryError } from '../../../src/core/errors.js';
import { fullSyncMachine, fullSyncMachineDefinition, taskMachine } from '../../../machines/index.js';
import type {
  ChunkResult,
  ChunkSpec,
  FullSyncEmitted,
  FullSyncInput,
} from '../../../machines/index.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Call<TInput, TOutput> {
  input: TInput;
  signal: AbortSignal;
  resolve: (value: TOutput) => void;
  reject: (err: unknown) => void;
}

function controllable<TInput, TOutput>() {
  const calls: Call<TInput, TOutput>[] = [];
  const logic = fromPromise<TOutput, TInput>(
    ({ input, signal }) =>
      new Promise<TOutput>((resolve, reject) => {
        calls.push({ input, signal, resolve, reject });
      }),
  );
  const byId = (id: string): Call<TInput, TOutput> => {
    const c = calls.find((x) => (x.input as { id?: string }).id === id);
    if (!c) throw new Error(`no call for ${id}`);
    return c;
  };
  return { logic, calls, byId };
}

const chunks = (): ChunkSpec[] => [
  { id: 'a1', table: 'public.a', estimatedRows: 100 },
  { id: 'a2', table: 'public.a', estimatedRows: 100 },
  { id: 'b1', table: 'public.b', estimatedRows: 50 },
  { id: 'c1', table: 'public.c', estimatedRows: 10 },
  { id: 'c2', table: 'public.c', estimatedRows: 10 },
];

function harness(input: FullSyncInput) {
  const copy = controllable<ChunkSpec, ChunkResult>();
  const plan = controllable<FullSyncInput, ChunkSpec[]>();
  const machine = fullSyncMachine.provide({ actors: { copyChunk: copy.logic, planChunks: plan.logic } });
  const actor = createActor(machine, { input, clock: new SimulatedClock() });
  const emitted: FullSyncEmitted[] = [];
  actor.on('*', (e) => emitted.push(e));
  const errors: unknown[] = [];
  actor.subscribe({ error: (err) => errors.push(err) });
  actor.start();
  const snap = () => actor.getSnapshot();
  const running = () => snap().context.chunks.filter((c) => c.status === 'running').map((c) => c.id);
  return { actor, copy, plan, emitted, errors, snap, running };
}

describe('fullSyncMachine', () => {
  it('runs at most `parallelism` chunks at a time, in plan order, and ends with output', async () => {
    const h = harness({ chunks: chunks(), parallelism: 2 });
    expect(h.snap().value).toBe('copying');
    expect(h.running()).toEqual(['a1', 'a2']);
    expect(h.copy.calls.map((c) => c.input.id)).toEqual(['a1', 'a2']);
    expect(h.copy.calls[0]!.input).toEqual({ id: 'a1', table: 'public.a', estimatedRows: 100 });

    h.copy.byId('a2').resolve({ rows: 90 });
    await flush();
    expect(h.running()).toEqual(['a1', 'b1']);
    expect(h.snap().context.rowsByTable).toEqual({ 'public.a': 90, 'public.b': 0, 'public.c': 0 });

    h.copy.byId('a1').resolve({ rows: 110 });
    h.copy.byId('b1').resolve({ rows: 50 });
    await flush();
    expect(h.running()).toEqual(['c1', 'c2']);
    expect(h.copy.calls).toHaveLength(5);
    h.copy.byId('c1').resolve({ rows: 10 });
    h.copy.byId('c2').resolve({ rows: 11 });
    await flush();

    expect(h.snap().status).toBe('done');
    expect(h.snap().value).toBe('done');
    expect(h.snap().output).toEqual({
      chunksDone: 5,
      rowsDone: 271,
      rowsByTable: { 'public.a': 200, 'public.b': 50, 'public.c': 21 },
    });
    const done = h.emitted.filter((e) => e.type === 'chunkDone').map((e) => e.chunkId);
    expect(done).toEqual(['a2', 'a1', 'b1', 'c1', 'c2']);
    const last = h.emitted.filter((e) => e.type === 'progress').at(-1);
    expect(last).toMatchObject({ rowsDone: 271, rowsEstimated: 270, chunksDone: 5, chunksTotal: 5 });
    expect(h.errors).toEqual([]);
  });

  it('skips chunks marked done (resume after a crash) and counts their rows', async () => {
    const plan = chunks().map((c) => (c.id === 'a1' || c.id === 'b1' ? { ...c, done: true, rows: 7 } : c));
    const h = harness({ chunks: plan, parallelism: 10 });
    expect(h.copy.calls.map((c) => c.input.id)).toEqual(['a2', 'c1', 'c2']);
    expect(h.snap().context.rowsByTable).toEqual({ 'public.a': 7, 'public.b': 7, 'public.c': 0 });
    for (const c of [...h.copy.calls]) c.resolve({ rows: 1 });
    await flush();
    expect(h.snap().output).toMatchObject({ chunksDone: 5, rowsDone: 17 });
  });

  it('a plan with every chunk done (or empty) finishes at once', () => {
    const h = harness({ chunks: [{ id: 'x', table: 't', done: true, estimatedRows: 3 }] });
    expect(h.snap().status).toBe('done');
    expect(h.snap().output).toEqual({ chunksDone: 1, rowsDone: 3, rowsByTable: { t: 3 } });
    const e = harness({ chunks: [] });
    expect(e.snap().status).toBe('done');
    expect(e.copy.calls).toHaveLength(0);
  });

  it('parallelism defaults to 4 and is at least 1', () => {
    expect(harness({ chunks: chunks() }).copy.calls).toHaveLength(4);
    expect(harness({ chunks: chunks(), parallelism: 0 }).copy.calls).toHaveLength(1);
  });

  it('CHUNK.PROGRESS updates the rows of a running chunk', () => {
    const h = harness({ chunks: chunks(), parallelism: 1 });
    h.actor.send({ type: 'CHUNK.PROGRESS', chunkId: 'a1', rows: 40 });
    h.actor.send({ type: 'CHUNK.PROGRESS', chunkId: 'c2', rows: 99 }); // not running: ignored
    expect(h.snap().context.rowsByTable).toEqual({ 'public.a': 40, 'public.b': 0, 'public.c': 0 });
    expect(h.emitted.at(-1)).toMatchObject({ type: 'progress', rowsDone: 40 });
  });

  it('a chunk error stops scheduling, stops the chunks in flight and errors with the classified error', async () => {
    const h = harness({ chunks: chunks(), parallelism: 3 });
    h.copy.byId('a1').resolve({ rows: 100 });
    await flush();
    expect(h.running()).toEqual(['a2', 'b1', 'c1']);
    h.copy.byId('b1').reject(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }));
    await flush();
    expect(h.snap().status).toBe('error');
    expect(h.errors).toHaveLength(1);
    const err = h.errors[0];
    expect(err).toBeInstanceOf(TributaryError);
    expect(err).toMatchObject({ kind: 'connection', code: 'ECONNRESET' });
    expect(h.copy.byId('a2').signal.aborted).toBe(true);
    expect(h.copy.byId('c1').signal.aborted).toBe(true);
    expect(h.copy.calls).toHaveLength(4); // c2 never started
  });

  it('asks planChunks for the plan when the input has none, passing the input through', async () => {
    const h = harness({ parallelism: 2, taskId: 't1', phase: 'full', attempt: 0 });
    expect(h.snap().value).toBe('planning');
    expect(h.plan.calls[0]!.input).toMatchObject({ taskId: 't1', phase: 'full', parallelism: 2 });
    h.plan.calls[0]!.resolve([{ id: 'p1', table: 't', estimatedRows: 5 }]);
    await flush();
    expect(h.snap().value).toBe('copying');
    h.copy.byId('p1').resolve({ rows: 5 });
    await flush();
    expect(h.snap().output).toEqual({ chunksDone: 1, rowsDone: 5, rowsByTable: { t: 5 } });
  });

  it('a planning error errors the actor too', async () => {
    const h = harness({});
    h.plan.calls[0]!.reject(new FatalError('LOST_HISTORY', 'checkpoint gone'));
    await flush();
    expect(h.snap().status).toBe('error');
    expect(h.errors[0]).toMatchObject({ code: 'LOST_HISTORY', kind: 'fatal' });
  });

  it('the state chart serializes to JSON', () => {
    const def = fullSyncMachineDefinition() as { states: Record<string, unknown> };
    expect(Object.keys(def.states)).toEqual(['init', 'planning', 'copying', 'failing', 'failed', 'done']);
  });
});

describe('fullSyncMachine inside the task machine', () => {
  function wire(copy: ReturnType<typeof controllable<ChunkSpec, ChunkResult>>) {
    const plans: FullSyncInput[] = [];
    const fullSync = fullSyncMachine.provide({
      actors: {
        copyChunk: copy.logic,
        planChunks: fromPromise<ChunkSpec[], FullSyncInput>(async ({ input }) => {
          plans.push(input);
          // a resumed plan: the checkpoint store says a1 was copied before the retry
          const resumed = plans.length > 1;
          return chunks().map((c) => ({ ...c, done: resumed && c.id === 'a1', rows: 100 }));
        }),
      },
    });
    const clock = new SimulatedClock();
    const task = taskMachine.provide({
      actors: {
        precheck: fromPromise(async () => []),
        fullSync,
      },
    });
    const actor = createActor(task, { input: { syncSchema: false, syncIncremental: false }, clock }).start();
    return { actor, clock, plans };
  }

  it('progress reaches the task context, a chunk connection error retries the phase, and it completes', async () => {
    const copy = controllable<ChunkSpec, ChunkResult>();
    const { actor, clock, plans } = wire(copy);
    actor.send({ type: 'START' });
    await flush();
    await flush();
    expect(actor.getSnapshot().value).toBe('full');
    expect(plans[0]).toMatchObject({ phase: 'full', attempt: 0 });
    expect(copy.calls).toHaveLength(4);
    copy.byId('a1').resolve({ rows: 100 });
    await flush();
    expect(actor.getSnapshot().context.progress).toMatchObject({ rowsDone: 100, chunksDone: 1, chunksTotal: 5, rowsEstimated: 270 });

    copy.byId('b1').reject(new ConnectionError('ECONNRESET', 'source: connection reset'));
    await flush();
    expect(actor.getSnapshot().matches('retrying')).toBe(true);
    expect(actor.getSnapshot().context.retry).toMatchObject({ cause: 'connection', phase: 'full', attempts: 1 });
    expect(actor.getSnapshot().context.lastError).toMatchObject({ code: 'ECONNRESET', kind: 'connection', phase: 'full' });

    clock.increment(1000);
    await flush();
    await flush();
    expect(actor.getSnapshot().value).toBe('full');
    expect(plans[1]).toMatchObject({ attempt: 1 });
    const fresh = copy.calls.slice(5);
    expect(fresh.map((c) => c.input.id)).toEqual(['a2', 'b1', 'c1', 'c2']); // a1 skipped
    for (const c of fresh) c.resolve({ rows: 1 });
    await flush();
    expect(actor.getSnapshot().value).toBe('completed');
    expect(actor.getSnapshot().context.retry).toBeNull();
  });
});
