/**
 * The task lifecycle as an XState v5 machine.
 *
 * No I/O happens here: prechecks, schema copy, full sync, incremental sync and cleanup are actors the
 * runtime supplies with `taskMachine.provide({ actors, actions })`. The machine owns the lifecycle
 * decisions only: which phase runs next, whether an error is retried or fails the task (principle 3:
 * the guards here are the one place that decides), how long a retry episode may last, when a failed
 * task restarts by itself, and where a paused task resumes.
 *
 * Time is read from the actor system's clock when it has a `now()` (xstate's `SimulatedClock` does),
 * otherwise from `Date.now()`. Delays (retry backoff, auto-restart) go through the same clock, so a
 * test can drive days of retries in microseconds.
 */
import { and, assign, fromPromise, not, setup } from 'xstate';
import type { ActorLogic } from 'xstate';
import { FatalError, TributaryError, classifyError } from '../src/core/errors.js';
import type { ErrorKind } from '../src/core/errors.js';

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

export type SyncPhase = 'schema' | 'full' | 'incremental';
export type TaskPhase = 'prechecking' | SyncPhase;
export type RetryCause = 'connection' | 'other';

const SYNC_PHASES: readonly SyncPhase[] = ['schema', 'full', 'incremental'];
const ALL_PHASES: readonly TaskPhase[] = ['prechecking', ...SYNC_PHASES];

/** Throttle settings; every field is optional and `undefined` means "no limit". */
export interface ThrottleSettings {
  /** Full sync: queries per second against the source. */
  fullQps?: number;
  /** Full sync: rows per second. */
  fullRps?: number;
  /** Full sync: MB per second. */
  fullMBps?: number;
  /** Incremental sync: records per second. */
  incrementalRps?: number;
  /** Incremental sync: MB per second. */
  incrementalMBps?: number;
}

/**
 * A change of throttle settings: a number sets that limit, `0` or `null` lifts it (unlimited), a
 * field left out keeps its current value.
 */
export type ThrottleUpdate = { [K in keyof ThrottleSettings]?: number | null };

/** Applies an update to settings (pure). */
export function mergeThrottle(current: ThrottleSettings, update: ThrottleUpdate): ThrottleSettings {
  const out: ThrottleSettings = { ...current };
  for (const key of Object.keys(update) as Array<keyof ThrottleSettings>) {
    if (!(key in update)) continue;
    const v = update[key];
    if (v === undefined) continue;
    if (v === null || v === 0) delete out[key];
    else out[key] = v;
  }
  return out;
}

/** Precheck items are the core's (`pass` | `warn` | `fail`); ids are what IGNORE_ALERT names. */
export type { PrecheckItem } from '../src/core/contracts.js';
import type { PrecheckItem } from '../src/core/contracts.js';

/** A serializable summary of the last error (never the Error object itself). */
export interface TaskErrorInfo {
  code: string;
  kind: ErrorKind;
  message: string;
  phase: TaskPhase | null;
  at: number;
  object?: string;
  fix?: string;
}

export interface RetryInfo {
  cause: RetryCause;
  /** The phase the episode started in and that `retrying` returns to. */
  phase: SyncPhase;
  retryStartedAt: number;
  /** retryStartedAt + effective window of the cause. */
  deadline: number;
  windowMinutes: number;
  attempts: number;
  /** Clock reading of the last check against the deadline. */
  checkedAt: number;
}

export interface ProgressCounters {
  rowsDone: number;
  rowsEstimated: number;
  chunksDone: number;
  chunksTotal: number;
  eventsApplied: number;
  bytesApplied: number;
  /** Encoded position of the last acked event (Position.encode()). */
  position: string | null;
  /** Commit time of the last acked event (ms), for latency. */
  sourceTime: number | null;
  updatedAt: number | null;
}

export interface TaskSettings {
  syncSchema: boolean;
  syncFull: boolean;
  syncIncremental: boolean;
  connectionRetryMinutes: number;
  otherRetryMinutes: number;
  /** Shortest connection window among tasks sharing an endpoint; null when not shared. */
  sharedWindowMinutes: number | null;
  autoRestartWithinDays: number;
  autoRestartDelayMinutes: number;
  /** Whether a task that failed with a 'fatal' error is auto-restarted too (default false). */
  autoRestartFatal: boolean;
  /** Full-sync chunks copied at once (default 4). */
  fullSyncParallelism: number;
}

export interface TaskMachineInput {
  taskId?: string;
  syncSchema?: boolean;
  syncFull?: boolean;
  syncIncremental?: boolean;
  /** Default 720 (config range 10-1440). */
  connectionRetryMinutes?: number;
  /** Default 10 (config range 1-1440, smaller than the connection window). */
  otherRetryMinutes?: number;
  sharedWindowMinutes?: number;
  /** Default 7. */
  autoRestartWithinDays?: number;
  /** Default 10. */
  autoRestartDelayMinutes?: number;
  autoRestartFatal?: boolean;
  /** Full-sync chunks copied at once (default 4). */
  fullSyncParallelism?: number;
  throttle?: ThrottleSettings;
  /** Precheck warnings already ignored (by id). */
  ignoredAlerts?: readonly string[];
}

export interface TaskMachineContext {
  taskId: string;
  settings: TaskSettings;
  /** The phase last entered: where PAUSE/retry/auto-restart return to. */
  phase: TaskPhase | null;
  throttle: ThrottleSettings;
  progress: ProgressCounters;
  precheck: { items: PrecheckItem[] } | null;
  ignoredAlerts: string[];
  lastError: TaskErrorInfo | null;
  retry: RetryInfo | null;
  startedAt: number | null;
  failedAt: number | null;
  restarts: number;
}

export type TaskMachineEvent =
  | { type: 'START' }
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'STOP' }
  | { type: 'RELEASE' }
  | { type: 'SET_THROTTLE'; throttle: ThrottleUpdate }
  /** The shortest connection window among the tasks sharing this task's source endpoint (null: not shared); applies from the next retry episode. */
  | { type: 'SET_SHARED_WINDOW'; minutes: number | null }
  | { type: 'IGNORE_ALERT'; itemId: string }
  | { type: 'PROGRESS'; progress: Partial<ProgressCounters> }
  /**
   * The destination acknowledged writes of the running phase (changes, or heartbeats that went
   * through the destination): the one event that ends a retry episode.
   */
  | { type: 'HEALTHY' };

/** What schemaSync, fullSync and incrementalSync receive as input. */
export interface PhaseActorInput {
  taskId: string;
  phase: SyncPhase;
  /** Retry attempt in the current episode (0 on a fresh start). */
  attempt: number;
  /** How many times the task was restarted after `failed`. */
  restarts: number;
  throttle: ThrottleSettings;
  /** Last reported progress, so an actor may cross-check its checkpoint. */
  progress: ProgressCounters;
  /** Full sync: chunks copied at once. */
  parallelism: number;
}

export interface PrecheckActorInput {
  taskId: string;
  ignoredAlerts: string[];
}

export interface ReleaseActorInput {
  taskId: string;
  phase: TaskPhase | null;
}

export interface TaskMachineOutput {
  taskId: string;
  phase: TaskPhase | null;
  lastError: TaskErrorInfo | null;
  progress: ProgressCounters;
}

/**
 * Any actor logic taking `TInput`: promise, observable, callback or machine. The snapshot, event and
 * output types are left open on purpose so that the runtime can provide whichever kind fits.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any kind of logic may be provided
export type TaskActorLogic<TInput> = ActorLogic<any, any, TInput, any, any>;

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Retry backoff: 1 s, 2 s, 4 s ... capped at 60 s. */
export const RETRY_BACKOFF_MAX_MS = 60_000;

/** The clock's `now()` when it has one (SimulatedClock), else wall time. */
export function clockNow(system: { _clock?: unknown } | undefined): number {
  const clock = system?._clock as { now?: () => number } | undefined;
  return typeof clock?.now === 'function' ? clock.now() : Date.now();
}

export function emptyProgress(): ProgressCounters {
  return {
    rowsDone: 0,
    rowsEstimated: 0,
    chunksDone: 0,
    chunksTotal: 0,
    eventsApplied: 0,
    bytesApplied: 0,
    position: null,
    sourceTime: null,
    updatedAt: null,
  };
}

export function settingsFromInput(input: TaskMachineInput): TaskSettings {
  return {
    syncSchema: input.syncSchema ?? true,
    syncFull: input.syncFull ?? true,
    syncIncremental: input.syncIncremental ?? true,
    connectionRetryMinutes: input.connectionRetryMinutes ?? 720,
    otherRetryMinutes: input.otherRetryMinutes ?? 10,
    sharedWindowMinutes: input.sharedWindowMinutes ?? null,
    autoRestartWithinDays: input.autoRestartWithinDays ?? 7,
    autoRestartDelayMinutes: input.autoRestartDelayMinutes ?? 10,
    autoRestartFatal: input.autoRestartFatal ?? false,
    fullSyncParallelism: Math.max(1, Math.floor(input.fullSyncParallelism ?? 4)),
  };
}

/** The retry window of a cause: its own window, or the shared one when that is shorter. */
export function effectiveWindowMinutes(settings: TaskSettings, cause: RetryCause): number {
  const own = cause === 'connection' ? settings.connectionRetryMinutes : settings.otherRetryMinutes;
  return settings.sharedWindowMinutes === null ? own : Math.min(own, settings.sharedWindowMinutes);
}

export function retryBackoffMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempts - 1), RETRY_BACKOFF_MAX_MS);
}

/** Any thrown value → a classified TributaryError (plain `{code, kind, message}` objects are kept). */
export function toTributaryError(err: unknown): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err as { code?: unknown; kind?: unknown; message?: unknown } | null;
  if (
    e !== null &&
    typeof e === 'object' &&
    typeof e.code === 'string' &&
    typeof e.message === 'string' &&
    (e.kind === 'connection' || e.kind === 'other' || e.kind === 'fatal')
  ) {
    return new TributaryError(e.code, e.kind, e.message, { cause: err });
  }
  return classifyError(err);
}

function summarize(err: unknown, phase: TaskPhase | null, at: number): TaskErrorInfo {
  const te = toTributaryError(err);
  const info: TaskErrorInfo = { code: te.code, kind: te.kind, message: te.message, phase, at };
  if (te.object !== undefined) info.object = te.object;
  if (te.fix !== undefined) info.fix = te.fix;
  return info;
}

function unignoredWarnings(context: TaskMachineContext): PrecheckItem[] {
  const items = context.precheck?.items ?? [];
  return items.filter((i) => i.status === 'warn' && !context.ignoredAlerts.includes(i.id));
}

function notProvided(name: string) {
  return fromPromise<never, unknown>(async () => {
    throw new FatalError('ACTOR_NOT_PROVIDED', `task machine: actor '${name}' was not provided.`, {
      object: name,
      fix: `Provide it with taskMachine.provide({ actors: { ${name} } }).`,
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Transition builders (state ids are '#task.<state>')
// ---------------------------------------------------------------------------------------------

/** Next configured phase after `from` (or completed). */
function proceedFrom(from: TaskPhase) {
  const rest = from === 'prechecking' ? SYNC_PHASES : SYNC_PHASES.slice(SYNC_PHASES.indexOf(from) + 1);
  return [
    ...rest.map((phase) => ({
      guard: { type: 'phaseEnabled' as const, params: { phase } },
      target: `#task.${phase}`,
      actions: 'clearRetry' as const,
    })),
    { target: '#task.completed', actions: 'clearRetry' as const },
  ];
}

/** Back into the phase in context.phase. */
function resumePhase(actions: readonly ('clearRetry' | 'countRestart')[] = []) {
  return ALL_PHASES.map((phase) => ({
    guard: { type: 'phaseIs' as const, params: { phase } },
    target: `#task.${phase}`,
    actions,
  }));
}

// ---------------------------------------------------------------------------------------------
// The machine
// ---------------------------------------------------------------------------------------------

const phaseInput =
  (phase: SyncPhase) =>
  ({ context }: { context: TaskMachineContext }): PhaseActorInput => ({
    taskId: context.taskId,
    phase,
    attempt: context.retry?.attempts ?? 0,
    restarts: context.restarts,
    throttle: context.throttle,
    progress: context.progress,
    parallelism: context.settings.fullSyncParallelism,
  });

/** How every sync phase routes its actor's failure: the guards alone choose failed or retrying. */
const errorOf = ({ event }: { event: { error: unknown } }) => ({ error: event.error });
const phaseOnError = [
  { guard: { type: 'isFatal', params: errorOf }, target: 'failed', actions: { type: 'recordError', params: errorOf } },
  { target: 'retrying', actions: [{ type: 'recordError', params: errorOf }, 'beginRetry'] },
] as const;

/** Events every sync phase handles the same way. */
const phaseEvents = {
  PAUSE: 'paused',
  HEALTHY: { actions: 'clearRetry' },
  // Progress reports (a phase starting again reports its counters too) are not proof that the
  // destination accepts writes: they never end a retry episode. Only HEALTHY does.
  PROGRESS: {
    actions: { type: 'mergeProgress', params: ({ event }: { event: { progress: Partial<ProgressCounters> } }) => ({ progress: event.progress }) },
  },
} as const;

/**
 * The task lifecycle (XState v5): idle → prechecking → schema → full → incremental, with paused,
 * retrying (within the config's retry windows), failed (auto-restart), stopped and released. Its
 * actors do no I/O until provided: the runtime's `TaskRunner` provides them; use this machine
 * directly to test lifecycle rules or to draw the chart (`taskMachineDefinition`).
 *
 * @example
 * ```ts
 * import { createActor, fromObservable, fromPromise } from 'xstate';
 * import { NEVER } from 'rxjs';
 *
 * const machine = taskMachine.provide({
 *   actors: { precheck: fromPromise(async () => []), incrementalSync: fromObservable(() => NEVER) },
 * });
 * const actor = createActor(machine, { input: { taskId: 'orders', syncSchema: false, syncFull: false } });
 * actor.subscribe((s) => console.log(s.value)); // idle, prechecking, incremental
 * actor.start();
 * actor.send({ type: 'START' });
 * ```
 */
export const taskMachine = setup({
  types: {
    context: {} as TaskMachineContext,
    events: {} as TaskMachineEvent,
    input: {} as TaskMachineInput,
    output: {} as TaskMachineOutput,
    tags: {} as 'active' | 'running' | 'retrying' | 'ended',
  },
  actors: {
    precheck: notProvided('precheck') as unknown as TaskActorLogic<PrecheckActorInput>,
    schemaSync: notProvided('schemaSync') as unknown as TaskActorLogic<PhaseActorInput>,
    fullSync: notProvided('fullSync') as unknown as TaskActorLogic<PhaseActorInput>,
    incrementalSync: notProvided('incrementalSync') as unknown as TaskActorLogic<PhaseActorInput>,
    release: notProvided('release') as unknown as TaskActorLogic<ReleaseActorInput>,
  },
  actions: {
    /** Provided by the runtime: push new throttle settings into the running pipeline. */
    applyThrottle: (_args, _params: { throttle: ThrottleSettings }) => {},
    enterPhase: assign((_, params: { phase: TaskPhase }) => ({ phase: params.phase })),
    markStarted: assign(({ context, self }) => ({ startedAt: context.startedAt ?? clockNow(self.system) })),
    markFailed: assign(({ self }) => ({ failedAt: clockNow(self.system) })),
    countRestart: assign(({ context }) => ({ restarts: context.restarts + 1, failedAt: null })),
    clearPrecheck: assign({ precheck: null }),
    storePrecheck: assign((_, params: { items: readonly PrecheckItem[] }) => ({
      precheck: { items: [...params.items] },
    })),
    ignoreAlert: assign(({ context }, params: { itemId: string }) => {
      const item = context.precheck?.items.find((i) => i.id === params.itemId);
      if (item?.status !== 'warn' || context.ignoredAlerts.includes(params.itemId)) return {};
      return { ignoredAlerts: [...context.ignoredAlerts, params.itemId] };
    }),
    preIgnoreAlert: assign(({ context }, params: { itemId: string }) =>
      context.ignoredAlerts.includes(params.itemId) ? {} : { ignoredAlerts: [...context.ignoredAlerts, params.itemId] },
    ),
    recordError: assign(({ context, self }, params: { error: unknown }) => ({
      lastError: summarize(params.error, context.phase, clockNow(self.system)),
    })),
    /** Start a retry episode, or continue the current one (same start, window of the latest cause). */
    beginRetry: assign(({ context, self }) => {
      const now = clockNow(self.system);
      const cause: RetryCause = context.lastError?.kind === 'connection' ? 'connection' : 'other';
      const windowMinutes = effectiveWindowMinutes(context.settings, cause);
      const prev = context.retry;
      const retryStartedAt = prev?.retryStartedAt ?? now;
      const phase: SyncPhase =
        context.phase === null || context.phase === 'prechecking' ? 'schema' : context.phase;
      return {
        retry: {
          cause,
          phase,
          retryStartedAt,
          windowMinutes,
          deadline: retryStartedAt + windowMinutes * MINUTE,
          attempts: (prev?.attempts ?? 0) + 1,
          checkedAt: now,
        },
      };
    }),
    stampRetryClock: assign(({ context, self }) =>
      context.retry === null ? {} : { retry: { ...context.retry, checkedAt: clockNow(self.system) } },
    ),
    clearRetry: assign({ retry: null }),
    mergeProgress: assign(({ context, self }, params: { progress: Partial<ProgressCounters> }) => ({
      progress: { ...context.progress, ...params.progress, updatedAt: clockNow(self.system) },
    })),
    storeSharedWindow: assign(({ context }, params: { minutes: number | null }) => ({
      settings: { ...context.settings, sharedWindowMinutes: params.minutes },
    })),
    storeThrottle: assign(({ context }, params: { throttle: ThrottleUpdate }) => ({
      throttle: mergeThrottle(context.throttle, params.throttle),
    })),
  },
  guards: {
    phaseEnabled: ({ context }, params: { phase: SyncPhase }) =>
      params.phase === 'schema'
        ? context.settings.syncSchema
        : params.phase === 'full'
          ? context.settings.syncFull
          : context.settings.syncIncremental,
    phaseIs: ({ context }, params: { phase: TaskPhase }) => context.phase === params.phase,
    isFatal: (_, params: { error: unknown }) => toTributaryError(params.error).kind === 'fatal',
    precheckHasFailures: ({ context }) => (context.precheck?.items ?? []).some((i) => i.status === 'fail'),
    hasUnignoredWarnings: ({ context }) => unignoredWarnings(context).length > 0,
    retryExpired: ({ context }) => context.retry !== null && context.retry.checkedAt > context.retry.deadline,
    autoRestartAllowed: ({ context }) =>
      context.startedAt !== null &&
      context.failedAt !== null &&
      context.failedAt - context.startedAt < context.settings.autoRestartWithinDays * DAY &&
      (context.lastError?.kind !== 'fatal' || context.settings.autoRestartFatal),
  },
  delays: {
    retryBackoff: ({ context }) => retryBackoffMs(context.retry?.attempts ?? 1),
    autoRestartDelay: ({ context }) => context.settings.autoRestartDelayMinutes * MINUTE,
  },
}).createMachine({
  id: 'task',
  context: ({ input }) => ({
    taskId: input.taskId ?? 'task',
    settings: settingsFromInput(input),
    phase: null,
    throttle: { ...(input.throttle ?? {}) },
    progress: emptyProgress(),
    precheck: null,
    ignoredAlerts: [...(input.ignoredAlerts ?? [])],
    lastError: null,
    retry: null,
    startedAt: null,
    failedAt: null,
    restarts: 0,
  }),
  initial: 'idle',
  output: ({ context }) => ({
    taskId: context.taskId,
    phase: context.phase,
    lastError: context.lastError,
    progress: context.progress,
  }),
  on: {
    STOP: { target: '.stopped' },
    RELEASE: { target: '.releasing' },
    SET_THROTTLE: {
      actions: [
        { type: 'storeThrottle', params: ({ event }) => ({ throttle: event.throttle }) },
        { type: 'applyThrottle', params: ({ context }) => ({ throttle: context.throttle }) },
      ],
    },
    PROGRESS: { actions: { type: 'mergeProgress', params: ({ event }) => ({ progress: event.progress }) } },
    SET_SHARED_WINDOW: { actions: { type: 'storeSharedWindow', params: ({ event }) => ({ minutes: event.minutes }) } },
  },
  states: {
    idle: {
      on: {
        START: { target: 'prechecking', actions: 'markStarted' },
        // Ignored before the precheck ran (`tributary run --ignore id`): kept, and applied to the
        // warnings of that id once they appear. Failures are never ignorable.
        IGNORE_ALERT: { actions: { type: 'preIgnoreAlert', params: ({ event }) => ({ itemId: event.itemId }) } },
      },
    },

    prechecking: {
      tags: ['active', 'running'],
      entry: [{ type: 'enterPhase', params: { phase: 'prechecking' } }, 'clearPrecheck'],
      invoke: {
        id: 'precheck',
        src: 'precheck',
        input: ({ context }) => ({ taskId: context.taskId, ignoredAlerts: context.ignoredAlerts }),
        onDone: {
          target: 'precheckReview',
          actions: { type: 'storePrecheck', params: ({ event }) => ({ items: event.output as PrecheckItem[] }) },
        },
        onError: {
          target: 'precheckFailed',
          actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
        },
      },
      on: { PAUSE: 'paused' },
    },

    /** Transient: routes on the stored precheck result. */
    precheckReview: {
      always: [
        { guard: 'precheckHasFailures', target: 'precheckFailed' },
        { guard: 'hasUnignoredWarnings', target: 'awaitingAlertIgnore' },
        ...proceedFrom('prechecking'),
      ],
    },

    precheckFailed: {
      on: { START: 'prechecking' },
    },

    awaitingAlertIgnore: {
      tags: ['active'],
      always: { guard: not('hasUnignoredWarnings'), target: 'precheckReview' },
      on: {
        IGNORE_ALERT: { actions: { type: 'ignoreAlert', params: ({ event }) => ({ itemId: event.itemId }) } },
      },
    },

    schema: {
      tags: ['active', 'running'],
      entry: { type: 'enterPhase', params: { phase: 'schema' } },
      invoke: {
        id: 'schemaSync',
        src: 'schemaSync',
        input: phaseInput('schema'),
        onDone: proceedFrom('schema'),
        onError: phaseOnError,
      },
      on: phaseEvents,
    },

    full: {
      tags: ['active', 'running'],
      entry: { type: 'enterPhase', params: { phase: 'full' } },
      invoke: {
        id: 'fullSync',
        src: 'fullSync',
        input: phaseInput('full'),
        onDone: proceedFrom('full'),
        onError: phaseOnError,
      },
      on: phaseEvents,
    },

    incremental: {
      tags: ['active', 'running'],
      entry: { type: 'enterPhase', params: { phase: 'incremental' } },
      invoke: {
        id: 'incrementalSync',
        src: 'incrementalSync',
        input: phaseInput('incremental'),
        // Incremental sync runs until stopped; an actor that ends on its own completes the task.
        onDone: { target: 'completed', actions: 'clearRetry' },
        onError: phaseOnError,
      },
      on: phaseEvents,
    },

    retrying: {
      tags: ['active', 'retrying'],
      initial: 'waiting',
      states: {
        waiting: {
          always: { guard: 'retryExpired', target: '#task.failed' },
          after: { retryBackoff: 'checking' },
        },
        checking: {
          entry: 'stampRetryClock',
          always: [{ guard: 'retryExpired', target: '#task.failed' }, ...resumePhase()],
        },
      },
      on: { PAUSE: 'paused' },
    },

    paused: {
      on: {
        RESUME: resumePhase(['clearRetry']),
      },
    },

    failed: {
      entry: 'markFailed',
      after: {
        autoRestartDelay: resumePhase(['clearRetry', 'countRestart']).map((t) => ({
          ...t,
          guard: and(['autoRestartAllowed', t.guard]),
        })),
      },
      on: {
        // Manual restart into the phase that failed.
        START: resumePhase(['clearRetry', 'countRestart']),
      },
    },

    completed: {
      tags: ['ended'],
      on: { STOP: {} },
    },

    /** Stopped by the user: START runs the task again (prechecks first, then from its checkpoint). */
    stopped: {
      tags: ['ended'],
      on: { STOP: {}, START: { target: 'prechecking', actions: 'clearRetry' } },
    },

    releasing: {
      invoke: {
        id: 'release',
        src: 'release',
        input: ({ context }) => ({ taskId: context.taskId, phase: context.phase }),
        onDone: 'released',
        onError: {
          target: 'releaseFailed',
          actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
        },
      },
      on: { STOP: {}, RELEASE: {} },
    },

    /** Cleanup failed (e.g. the slot could not be dropped): RELEASE tries again. */
    releaseFailed: {
      on: { STOP: {} },
    },

    released: {
      tags: ['ended'],
      type: 'final',
    },
  },
});

export type TaskMachine = typeof taskMachine;

/** The state chart as plain JSON (for `tributary inspect` and visualizers). */
export function taskMachineDefinition(): unknown {
  return JSON.parse(JSON.stringify(taskMachine.definition)) as unknown;
}
