/**
 * Full-sync chunk scheduling: copies the chunks of a snapshot plan with at most `parallelism`
 * `copyChunk` actors at a time. No I/O here: the runtime provides `copyChunk` (and, when the plan
 * is not passed in the input, `planChunks`) with `fullSyncMachine.provide({ actors })`.
 *
 * - Chunks marked `done: true` are skipped (resume after a crash: the planner reads them from the
 *   checkpoint store).
 * - Every finished chunk is recorded in context, emitted as `chunkDone` (so the runtime can persist
 *   it) and reported as `progress` (emitted) plus a `PROGRESS` event to the parent task machine.
 * - A chunk error stops scheduling, stops the chunks in flight and errors this actor with the
 *   classified error, so the parent's `onError` (the task machine's guards) decides what happens.
 * - All chunks done → final state with output `{ chunksDone, rowsDone, rowsByTable }`.
 */
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { ActorLogic, DoneActorEvent, ErrorActorEvent } from 'xstate';
import { FatalError } from '../src/core/errors.js';
import type { TributaryError } from '../src/core/errors.js';
import { toTributaryError } from './task.machine.js';
import type { PhaseActorInput, ProgressCounters, TaskMachineEvent } from './task.machine.js';

export interface ChunkSpec {
  id: string;
  table: string;
  estimatedRows?: number;
  /** Already copied before a restart: skipped. */
  done?: boolean;
  /** Rows copied by an earlier run (counted in progress when `done`). */
  rows?: number;
}

/** What `copyChunk` resolves with. */
export interface ChunkResult {
  rows: number;
}

/**
 * When invoked as the task machine's `fullSync` actor the input is the task's PhaseActorInput (no
 * chunks): the whole input is then passed to `planChunks`, which reads the plan and the chunks
 * already done from the checkpoint store.
 */
export interface FullSyncInput extends Partial<PhaseActorInput> {
  /** The plan; when absent, the `planChunks` actor is asked for it with this input. */
  chunks?: readonly ChunkSpec[];
  /** Chunks copied at once (default 4, at least 1). */
  parallelism?: number;
}

export interface ChunkState {
  id: string;
  table: string;
  estimatedRows: number;
  status: 'pending' | 'running' | 'done';
  rows: number;
}

export interface FullSyncContext {
  input: FullSyncInput;
  chunks: ChunkState[];
  parallelism: number;
  rowsByTable: Record<string, number>;
  /** The classified error that stopped scheduling (serializes through TributaryError.toJSON). */
  failure: TributaryError | null;
}

export interface FullSyncOutput {
  chunksDone: number;
  rowsDone: number;
  rowsByTable: Record<string, number>;
}

export type FullSyncEvent =
  /** A chunk actor may report rows copied so far (via sendBack / parent.send). */
  | { type: 'CHUNK.PROGRESS'; chunkId: string; rows: number }
  /** Internal: sent to self once the chunks in flight were stopped. */
  | { type: 'FULLSYNC.ABORTED' }
  | DoneActorEvent<ChunkResult, `chunk:${string}`>
  | ErrorActorEvent<unknown, `chunk:${string}`>;

export type FullSyncEmitted =
  | { type: 'chunkDone'; chunkId: string; table: string; rows: number }
  | ({ type: 'progress'; rowsByTable: Record<string, number> } & Pick<
      ProgressCounters,
      'rowsDone' | 'rowsEstimated' | 'chunksDone' | 'chunksTotal'
    >);

/** Any actor logic copying one chunk (promise, observable, machine...); its output is a ChunkResult. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any kind of logic may be provided
export type CopyChunkLogic = ActorLogic<any, any, ChunkSpec, any, any>;
/** Any actor logic producing the chunk plan (output: ChunkSpec[]). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any kind of logic may be provided
export type PlanChunksLogic = ActorLogic<any, any, FullSyncInput, any, any>;

export const CHUNK_ACTOR_PREFIX = 'chunk:';
export const chunkActorId = (chunkId: string): `chunk:${string}` => `chunk:${chunkId}`;

function chunkIdOf(actorId: string): string | null {
  return actorId.startsWith(CHUNK_ACTOR_PREFIX) ? actorId.slice(CHUNK_ACTOR_PREFIX.length) : null;
}

function toChunkStates(specs: readonly ChunkSpec[]): ChunkState[] {
  return specs.map((c) => ({
    id: c.id,
    table: c.table,
    estimatedRows: c.estimatedRows ?? 0,
    status: c.done === true ? 'done' : 'pending',
    rows: c.done === true ? (c.rows ?? c.estimatedRows ?? 0) : 0,
  }));
}

function rowsByTable(chunks: readonly ChunkState[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of chunks) out[c.table] = (out[c.table] ?? 0) + c.rows;
  return out;
}

export function fullSyncProgress(context: FullSyncContext): FullSyncEmitted & { type: 'progress' } {
  let rowsDone = 0;
  let rowsEstimated = 0;
  let chunksDone = 0;
  for (const c of context.chunks) {
    rowsDone += c.rows;
    rowsEstimated += c.estimatedRows;
    if (c.status === 'done') chunksDone += 1;
  }
  return {
    type: 'progress',
    rowsDone,
    rowsEstimated,
    chunksDone,
    chunksTotal: context.chunks.length,
    rowsByTable: context.rowsByTable,
  };
}

function notProvided(name: string) {
  return fromPromise<never, unknown>(async () => {
    throw new FatalError('ACTOR_NOT_PROVIDED', `full-sync machine: actor '${name}' was not provided.`, {
      object: name,
      fix: `Provide it with fullSyncMachine.provide({ actors: { ${name} } }).`,
    });
  });
}

/**
 * Full-sync chunk scheduling (XState v5): copies a snapshot plan's chunks with at most
 * `parallelism` `copyChunk` actors at a time, skipping chunks already done, and ends with
 * `{ chunksDone, rowsDone, rowsByTable }`. The runtime provides `copyChunk` and `planChunks`
 * (`fullSyncMachine.provide({ actors })`); the task machine runs it as its `fullSync` actor.
 */
export const fullSyncMachine = setup({
  types: {
    context: {} as FullSyncContext,
    events: {} as FullSyncEvent,
    input: {} as FullSyncInput,
    output: {} as FullSyncOutput,
    emitted: {} as FullSyncEmitted,
  },
  actors: {
    copyChunk: notProvided('copyChunk') as unknown as CopyChunkLogic,
    planChunks: notProvided('planChunks') as unknown as PlanChunksLogic,
  },
  actions: {
    storePlan: assign((_, params: { chunks: readonly ChunkSpec[] }) => {
      const chunks = toChunkStates(params.chunks);
      return { chunks, rowsByTable: rowsByTable(chunks) };
    }),
    /** Start pending chunks until `parallelism` are running. */
    fillSlots: enqueueActions(({ context, enqueue }) => {
      let running = context.chunks.filter((c) => c.status === 'running').length;
      const starting = new Set<string>();
      for (const c of context.chunks) {
        if (running >= context.parallelism) break;
        if (c.status !== 'pending') continue;
        starting.add(c.id);
        running += 1;
        const spec: ChunkSpec = { id: c.id, table: c.table, estimatedRows: c.estimatedRows };
        enqueue.spawnChild('copyChunk', { id: chunkActorId(c.id), input: spec });
      }
      if (starting.size > 0) {
        enqueue.assign({
          chunks: context.chunks.map((c) => (starting.has(c.id) ? { ...c, status: 'running' as const } : c)),
        });
      }
    }),
    markChunkDone: assign(({ context }, params: { actorId: string; rows: number }) => {
      const id = chunkIdOf(params.actorId);
      const chunks = context.chunks.map((c) =>
        c.id === id ? { ...c, status: 'done' as const, rows: Math.max(0, params.rows) } : c,
      );
      return { chunks, rowsByTable: rowsByTable(chunks) };
    }),
    setChunkRows: assign(({ context }, params: { chunkId: string; rows: number }) => {
      const chunks = context.chunks.map((c) =>
        c.id === params.chunkId && c.status === 'running' ? { ...c, rows: Math.max(0, params.rows) } : c,
      );
      return { chunks, rowsByTable: rowsByTable(chunks) };
    }),
    emitChunkDone: enqueueActions(({ context, enqueue }, params: { actorId: string }) => {
      const chunk = context.chunks.find((c) => c.id === chunkIdOf(params.actorId));
      if (chunk) enqueue.emit({ type: 'chunkDone', chunkId: chunk.id, table: chunk.table, rows: chunk.rows });
    }),
    /** Emit progress, and tell the parent task machine when there is one. */
    reportProgress: enqueueActions(({ context, enqueue, self }) => {
      const p = fullSyncProgress(context);
      enqueue.emit(p);
      if (self._parent) {
        const event: TaskMachineEvent = {
          type: 'PROGRESS',
          progress: { rowsDone: p.rowsDone, rowsEstimated: p.rowsEstimated, chunksDone: p.chunksDone, chunksTotal: p.chunksTotal },
        };
        enqueue.sendParent(event);
      }
    }),
    recordFailure: assign((_, params: { error: unknown }) => ({ failure: toTributaryError(params.error) })),
    /** Stop every chunk in flight (their AbortSignals fire). */
    stopRunning: enqueueActions(({ context, enqueue }) => {
      for (const c of context.chunks) if (c.status === 'running') enqueue.stopChild(chunkActorId(c.id));
      enqueue.assign({
        chunks: context.chunks.map((c) => (c.status === 'running' ? { ...c, status: 'pending' as const } : c)),
      });
    }),
    /** The stops above run after this macrostep; the error is raised in the next one. */
    abortNextStep: ({ self }) => {
      self.send({ type: 'FULLSYNC.ABORTED' });
    },
    throwFailure: ({ context }) => {
      throw context.failure ?? new FatalError('FULL_SYNC_FAILED', 'full sync failed without an error.');
    },
  },
  guards: {
    hasPlan: ({ context }) => context.input.chunks !== undefined,
    allDone: ({ context }) => context.chunks.every((c) => c.status === 'done'),
    isChunkActor: (_, params: { actorId: string }) => chunkIdOf(params.actorId) !== null,
  },
}).createMachine({
  id: 'fullSync',
  context: ({ input }) => {
    const chunks = toChunkStates(input.chunks ?? []);
    return {
      input,
      chunks,
      parallelism: Math.max(1, Math.floor(input.parallelism ?? 4)),
      rowsByTable: rowsByTable(chunks),
      failure: null,
    };
  },
  initial: 'init',
  output: ({ context }) => {
    const p = fullSyncProgress(context);
    return { chunksDone: p.chunksDone, rowsDone: p.rowsDone, rowsByTable: p.rowsByTable };
  },
  states: {
    init: {
      always: [{ guard: 'hasPlan', target: 'copying' }, { target: 'planning' }],
    },
    planning: {
      invoke: {
        id: 'planChunks',
        src: 'planChunks',
        input: ({ context }) => context.input,
        onDone: {
          target: 'copying',
          actions: { type: 'storePlan', params: ({ event }) => ({ chunks: event.output as readonly ChunkSpec[] }) },
        },
        onError: {
          target: 'failing',
          actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) },
        },
      },
    },
    copying: {
      entry: ['reportProgress', 'fillSlots'],
      always: { guard: 'allDone', target: 'done' },
      on: {
        'xstate.done.actor.*': {
          guard: { type: 'isChunkActor', params: ({ event }) => ({ actorId: event.actorId }) },
          actions: [
            {
              type: 'markChunkDone',
              params: ({ event }) => ({ actorId: event.actorId, rows: Number(event.output?.rows ?? 0) }),
            },
            { type: 'emitChunkDone', params: ({ event }) => ({ actorId: event.actorId }) },
            'reportProgress',
            'fillSlots',
          ],
        },
        'xstate.error.actor.*': {
          guard: { type: 'isChunkActor', params: ({ event }) => ({ actorId: event.actorId }) },
          target: 'failing',
          actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) },
        },
        'CHUNK.PROGRESS': {
          actions: [
            { type: 'setChunkRows', params: ({ event }) => ({ chunkId: event.chunkId, rows: event.rows }) },
            'reportProgress',
          ],
        },
      },
    },
    failing: {
      entry: ['stopRunning', 'abortNextStep'],
      on: { 'FULLSYNC.ABORTED': 'failed' },
    },
    failed: {
      entry: 'throwFailure',
    },
    done: {
      type: 'final',
    },
  },
});

export type FullSyncMachine = typeof fullSyncMachine;

/** The state chart as plain JSON. */
export function fullSyncMachineDefinition(): unknown {
  return JSON.parse(JSON.stringify(fullSyncMachine.definition)) as unknown;
}
