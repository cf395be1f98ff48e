import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock, createActor, fromPromise } from 'xstate';
import { ConnectionError, FatalError, TransientError } from '../../../src/core/errors.js';
import {
  effectiveWindowMinutes,
  retryBackoffMs,
  settingsFromInput,
  taskMachine,
  taskMachineDefinition,
} from '../../../machines/index.js';
import type {
  PhaseActorInput,
  PrecheckActorInput,
  PrecheckItem,
  ReleaseActorInput,
  TaskMachineInput,
  ThrottleSettings,
} from '../../../machines/index.js';

const SEC = 1000;
const MIN = 60 * SEC;
const DAY = 24 * 60 * MIN;

/** Lets promise callbacks (actor done/error) run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Call<TInput, TOutput> {
  input: TInput;
  signal: AbortSignal;
  resolve: (value: TOutput) => void;
  reject: (err: unknown) => void;
}

/** A promise actor whose every invocation the test settles by hand. */
function controllable<TInput, TOutput = void>() {
  const calls: Call<TInput, TOutput>[] = [];
  const logic = fromPromise<TOutput, TInput>(
    ({ input, signal }) =>
      new Promise<TOutput>((resolve, reject) => {
        calls.push({ input, signal, resolve, reject });
      }),
  );
  const last = (): Call<TInput, TOutput> => {
    const c = calls.at(-1);
    if (!c) throw new Error('actor was never invoked');
    return c;
  };
  return { logic, calls, last };
}

function harness(input: TaskMachineInput = {}) {
  const clock = new SimulatedClock();
  const precheck = controllable<PrecheckActorInput, PrecheckItem[]>();
  const schema = controllable<PhaseActorInput>();
  const full = controllable<PhaseActorInput>();
  const incremental = controllable<PhaseActorInput>();
  const release = controllable<ReleaseActorInput>();
  const applyThrottle = vi.fn<(throttle: ThrottleSettings) => void>();
  const machine = taskMachine.provide({
    actors: {
      precheck: precheck.logic,
      schemaSync: schema.logic,
      fullSync: full.logic,
      incrementalSync: incremental.logic,
      release: release.logic,
    },
    actions: { applyThrottle: (_, params) => applyThrottle(params.throttle) },
  });
  const actor = createActor(machine, {
    input: { syncSchema: true, syncFull: true, syncIncremental: true, ...input },
    clock,
  });
  actor.start();
  const snap = () => actor.getSnapshot();
  return { actor, clock, precheck, schema, full, incremental, release, applyThrottle, snap };
}
type Harness = ReturnType<typeof harness>;

/** Advance the simulated clock and let the actors react. */
async function advance(h: Harness, ms: number) {
  h.clock.increment(ms);
  await flush();
}

async function startAndPass(h: Harness, items: PrecheckItem[] = []) {
  h.actor.send({ type: 'START' });
  h.precheck.last().resolve(items);
  await flush();
}

/** Drive a task to a given phase. */
async function reach(h: Harness, state: 'schema' | 'full' | 'incremental') {
  await startAndPass(h);
  if (state === 'schema') return;
  if (h.snap().value === 'schema') {
    h.schema.last().resolve();
    await flush();
  }
  if (state === 'full') return;
  if (h.snap().value === 'full') {
    h.full.last().resolve();
    await flush();
  }
}

const conn = () => new ConnectionError('ECONNREFUSED', 'source: connect ECONNREFUSED 127.0.0.1:5432');
const other = () => new TransientError('LOCK_TIMEOUT', 'destination: lock timeout');
const fatal = () => new FatalError('LOST_HISTORY', 'slot tributary_1 was dropped', { fix: 'Re-run full sync.' });

/** Make the phase actor fail on every invocation from now on, while time passes in `step`s. */
async function failUntilSettled(h: Harness, phase: 'schema' | 'full' | 'incremental', makeErr: () => Error, upTo: number, step = MIN) {
  let elapsed = 0;
  const ctl = h[phase];
  let seen = 0;
  while (elapsed <= upTo && !h.snap().matches('failed')) {
    if (ctl.calls.length > seen && h.snap().matches(phase)) {
      seen = ctl.calls.length;
      ctl.last().reject(makeErr());
      await flush();
    }
    await advance(h, step);
    elapsed += step;
  }
  return elapsed;
}

describe('taskMachine: start and prechecks', () => {
  it('starts idle, START runs the precheck actor and stamps startedAt from the clock', async () => {
    const h = harness({ taskId: 't1', ignoredAlerts: ['a0'] });
    expect(h.snap().value).toBe('idle');
    await advance(h, 5 * SEC);
    h.actor.send({ type: 'START' });
    expect(h.snap().value).toBe('prechecking');
    expect(h.snap().context.startedAt).toBe(5 * SEC);
    expect(h.snap().context.phase).toBe('prechecking');
    expect(h.precheck.last().input).toEqual({ taskId: 't1', ignoredAlerts: ['a0'] });
    expect(h.snap().hasTag('running')).toBe(true);
  });

  it('a failed precheck item → precheckFailed; START runs the precheck again', async () => {
    const h = harness();
    await startAndPass(h, [
      { id: 'conn', group: 'source', title: 't', status: 'pass' },
      { id: 'wal_level', group: 'source', title: 't', status: 'fail', detail: 'wal_level is replica', fix: 'set wal_level=logical' },
      { id: 'warn', group: 'source', title: 't', status: 'warn' },
    ]);
    expect(h.snap().value).toBe('precheckFailed');
    expect(h.snap().context.precheck?.items.map((i) => i.id)).toEqual(['conn', 'wal_level', 'warn']);
    expect(h.schema.calls).toHaveLength(0);
    h.actor.send({ type: 'START' });
    expect(h.snap().value).toBe('prechecking');
    expect(h.snap().context.precheck).toBeNull();
    expect(h.precheck.calls).toHaveLength(2);
    h.precheck.last().resolve([{ id: 'wal_level', group: 'source', title: 't', status: 'pass' }]);
    await flush();
    expect(h.snap().value).toBe('schema');
  });

  it('a precheck actor error → precheckFailed with a serializable lastError', async () => {
    const h = harness();
    h.actor.send({ type: 'START' });
    h.precheck.last().reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await flush();
    expect(h.snap().value).toBe('precheckFailed');
    expect(h.snap().context.lastError).toMatchObject({ code: 'ECONNREFUSED', kind: 'connection', phase: 'prechecking' });
    expect(JSON.parse(JSON.stringify(h.snap().context.lastError))).toEqual(h.snap().context.lastError);
  });

  it('unignored warnings → awaitingAlertIgnore; IGNORE_ALERT clears them one by one, then the task proceeds', async () => {
    const h = harness();
    await startAndPass(h, [
      { id: 'w1', group: 'source', title: 't', status: 'warn' },
      { id: 'w2', group: 'source', title: 't', status: 'warn' },
      { id: 'ok', group: 'source', title: 't', status: 'pass' },
    ]);
    expect(h.snap().value).toBe('awaitingAlertIgnore');
    h.actor.send({ type: 'IGNORE_ALERT', itemId: 'ok' }); // not a warning: no effect
    h.actor.send({ type: 'IGNORE_ALERT', itemId: 'nope' });
    h.actor.send({ type: 'IGNORE_ALERT', itemId: 'w1' });
    expect(h.snap().value).toBe('awaitingAlertIgnore');
    expect(h.snap().context.ignoredAlerts).toEqual(['w1']);
    h.actor.send({ type: 'IGNORE_ALERT', itemId: 'w2' });
    expect(h.snap().value).toBe('schema');
    expect(h.snap().context.ignoredAlerts).toEqual(['w1', 'w2']);
  });

  it('warnings ignored up front (input.ignoredAlerts) do not stop the task', async () => {
    const h = harness({ ignoredAlerts: ['w1'] });
    await startAndPass(h, [{ id: 'w1', group: 'source', title: 't', status: 'warn' }]);
    expect(h.snap().value).toBe('schema');
  });

  it('warnings ignored before the start (IGNORE_ALERT while idle, as `run --ignore` does) do not stop the task; failures still do', async () => {
    const h = harness();
    h.actor.send({ type: 'IGNORE_ALERT', itemId: 'w1' });
    h.actor.send({ type: 'IGNORE_ALERT', itemId: 'f1' });
    await startAndPass(h, [{ id: 'w1', group: 'source', title: 't', status: 'warn' }]);
    expect(h.snap().value).toBe('schema');

    const g = harness();
    g.actor.send({ type: 'IGNORE_ALERT', itemId: 'f1' });
    await startAndPass(g, [{ id: 'f1', group: 'source', title: 't', status: 'fail' }]);
    expect(g.snap().value).toBe('precheckFailed');
  });

  it('a missing actor fails the precheck with ACTOR_NOT_PROVIDED (fatal)', async () => {
    const actor = createActor(taskMachine, { input: {}, clock: new SimulatedClock() }).start();
    actor.send({ type: 'START' });
    await flush();
    expect(actor.getSnapshot().value).toBe('precheckFailed');
    expect(actor.getSnapshot().context.lastError).toMatchObject({ code: 'ACTOR_NOT_PROVIDED', kind: 'fatal' });
  });
});

describe('taskMachine: phases', () => {
  it('schema → full → incremental, passing phase inputs; incremental runs until stopped', async () => {
    const h = harness({ taskId: 'orders', throttle: { fullRps: 100 }, fullSyncParallelism: 2 });
    await startAndPass(h);
    expect(h.snap().value).toBe('schema');
    expect(h.schema.last().input).toMatchObject({ taskId: 'orders', phase: 'schema', attempt: 0, restarts: 0, throttle: { fullRps: 100 }, parallelism: 2 });
    h.schema.last().resolve();
    await flush();
    expect(h.snap().value).toBe('full');
    expect(h.snap().context.phase).toBe('full');
    expect(h.full.last().input.phase).toBe('full');
    h.full.last().resolve();
    await flush();
    expect(h.snap().value).toBe('incremental');
    expect(h.incremental.last().input.phase).toBe('incremental');
    await advance(h, 30 * DAY);
    expect(h.snap().value).toBe('incremental');
    h.actor.send({ type: 'STOP' });
    expect(h.snap().value).toBe('stopped');
    expect(h.incremental.last().signal.aborted).toBe(true);
  });

  it('a full-only task ends in completed, which accepts RELEASE but not STOP', async () => {
    const h = harness({ syncSchema: false, syncIncremental: false });
    await startAndPass(h);
    expect(h.snap().value).toBe('full');
    h.full.last().resolve();
    await flush();
    expect(h.snap().value).toBe('completed');
    expect(h.snap().hasTag('ended')).toBe(true);
    h.actor.send({ type: 'STOP' });
    expect(h.snap().value).toBe('completed');
    h.actor.send({ type: 'RELEASE' });
    expect(h.snap().value).toBe('releasing');
  });

  it('schema + full (no incremental) completes after full', async () => {
    const h = harness({ syncIncremental: false });
    await reach(h, 'full');
    h.full.last().resolve();
    await flush();
    expect(h.snap().value).toBe('completed');
  });

  it('incremental-only goes straight from precheck to incremental; an incremental actor that ends completes', async () => {
    const h = harness({ syncSchema: false, syncFull: false });
    await startAndPass(h);
    expect(h.snap().value).toBe('incremental');
    expect(h.schema.calls).toHaveLength(0);
    expect(h.full.calls).toHaveLength(0);
    h.incremental.last().resolve();
    await flush();
    expect(h.snap().value).toBe('completed');
  });

  it('a task with no phase enabled completes right after the precheck', async () => {
    const h = harness({ syncSchema: false, syncFull: false, syncIncremental: false });
    await startAndPass(h);
    expect(h.snap().value).toBe('completed');
  });

  it('PROGRESS merges counters (stamped with the clock); PROGRESS outside a phase only merges', async () => {
    const h = harness();
    await reach(h, 'full');
    await advance(h, 7 * SEC);
    h.actor.send({ type: 'PROGRESS', progress: { rowsDone: 10, rowsEstimated: 100 } });
    h.actor.send({ type: 'PROGRESS', progress: { rowsDone: 25, chunksDone: 1 } });
    expect(h.snap().context.progress).toMatchObject({ rowsDone: 25, rowsEstimated: 100, chunksDone: 1, eventsApplied: 0, updatedAt: 7 * SEC });
    h.actor.send({ type: 'PAUSE' });
    h.actor.send({ type: 'PROGRESS', progress: { rowsDone: 30 } });
    expect(h.snap().value).toBe('paused');
    expect(h.snap().context.progress.rowsDone).toBe(30);
  });
});

describe('taskMachine: retries', () => {
  it.each(['schema', 'full', 'incremental'] as const)(
    'a connection error during %s retries with backoff and resumes the same phase; only HEALTHY ends the episode',
    async (phase) => {
      const h = harness();
      await reach(h, phase);
      await advance(h, 3 * SEC);
      const now = 3 * SEC;
      h[phase].last().reject(conn());
      await flush();
      expect(h.snap().matches('retrying')).toBe(true);
      expect(h.snap().hasTag('retrying')).toBe(true);
      expect(h.snap().context.lastError).toMatchObject({ code: 'ECONNREFUSED', kind: 'connection', phase });
      expect(h.snap().context.retry).toEqual({
        cause: 'connection',
        phase,
        retryStartedAt: now,
        windowMinutes: 720,
        deadline: now + 720 * MIN,
        attempts: 1,
        checkedAt: now,
      });
      expect(h[phase].last().signal.aborted).toBe(false); // already settled, not aborted
      await advance(h, 999);
      expect(h.snap().matches('retrying')).toBe(true);
      expect(h[phase].calls).toHaveLength(1);
      await advance(h, 1);
      expect(h.snap().value).toBe(phase);
      expect(h[phase].calls).toHaveLength(2);
      expect(h[phase].last().input.attempt).toBe(1);
      // second failure in the same episode: 2 s backoff, same start
      h[phase].last().reject(conn());
      await flush();
      expect(h.snap().context.retry).toMatchObject({ attempts: 2, retryStartedAt: now });
      await advance(h, 1999);
      expect(h.snap().matches('retrying')).toBe(true);
      await advance(h, 1);
      expect(h.snap().value).toBe(phase);
      // a phase that starts again reports its counters: that is not progress at the destination
      h.actor.send({ type: 'PROGRESS', progress: { eventsApplied: 1 } });
      expect(h.snap().context.retry).toMatchObject({ attempts: 2, retryStartedAt: now });
      h.actor.send({ type: 'HEALTHY' });
      expect(h.snap().context.retry).toBeNull();
      // a later error starts a new episode
      await advance(h, MIN);
      h[phase].last().reject(conn());
      await flush();
      expect(h.snap().context.retry).toMatchObject({ attempts: 1, retryStartedAt: now + 3 * SEC + MIN });
    },
  );

  it('HEALTHY after a retry resets the episode', async () => {
    const h = harness();
    await reach(h, 'incremental');
    h.incremental.last().reject(other());
    await flush();
    await advance(h, SEC);
    expect(h.snap().value).toBe('incremental');
    expect(h.snap().context.retry).not.toBeNull();
    h.actor.send({ type: 'HEALTHY' });
    expect(h.snap().context.retry).toBeNull();
    expect(h.snap().context.lastError?.code).toBe('LOCK_TIMEOUT'); // kept for display
  });

  it.each(['full', 'incremental'] as const)(
    'an episode in %s whose phase restarts, reports progress and looks healthy between failures still fails when its window runs out',
    async (phase) => {
      const h = harness({ connectionRetryMinutes: 10 });
      await reach(h, phase);
      h[phase].last().reject(conn());
      await flush();
      const deadline = h.snap().context.retry?.deadline ?? -1;
      expect(deadline).toBe(10 * MIN);
      let healthyStretches = 0;
      while (!h.snap().matches('failed') && h.clock.now() < 30 * MIN) {
        if (h.snap().value === phase) {
          // back in the phase: it reports its counters (as the full-sync planner and the
          // incremental reader do on every start), stays up a little, then fails again
          healthyStretches++;
          h.actor.send({ type: 'PROGRESS', progress: { rowsDone: 100, eventsApplied: 5 } });
          await advance(h, 2 * SEC);
          expect(h.snap().value).toBe(phase);
          h[phase].last().reject(conn());
          await flush();
        }
        await advance(h, 5 * SEC);
      }
      expect(healthyStretches).toBeGreaterThan(5);
      expect(h.snap().value).toBe('failed');
      expect(h.clock.now()).toBeGreaterThan(deadline);
      expect(h.clock.now()).toBeLessThanOrEqual(deadline + 70 * SEC);
    },
  );

  it('backoff doubles and is capped at 60 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(retryBackoffMs)).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000,
    ]);
  });

  it('a connection retry that never recovers fails after its window (10 min), not before', async () => {
    const h = harness({ connectionRetryMinutes: 10 });
    await reach(h, 'full');
    h.full.last().reject(conn());
    await flush();
    const deadline = h.snap().context.retry?.deadline ?? -1;
    expect(deadline).toBe(10 * MIN);
    // keep failing every attempt, 10 s at a time
    while (h.clock.now() < deadline - 10 * SEC) {
      if (h.snap().value === 'full') {
        h.full.last().reject(conn());
        await flush();
      }
      await advance(h, 10 * SEC);
    }
    expect(h.snap().matches('failed')).toBe(false);
    await failUntilSettled(h, 'full', conn, 5 * MIN, 10 * SEC);
    expect(h.snap().value).toBe('failed');
    expect(h.clock.now()).toBeGreaterThan(deadline);
    expect(h.clock.now()).toBeLessThanOrEqual(deadline + 70 * SEC);
    expect(h.snap().context.lastError).toMatchObject({ kind: 'connection', phase: 'full' });
    expect(h.snap().context.failedAt).toBe(h.clock.now());
    expect(h.full.calls.length).toBeGreaterThan(10);
  });

  it('connection and other errors have separate windows (720 vs 10 min by default)', async () => {
    const a = harness();
    await reach(a, 'incremental');
    a.incremental.last().reject(other());
    await flush();
    expect(a.snap().context.retry).toMatchObject({ cause: 'other', windowMinutes: 10, deadline: 10 * MIN });
    await failUntilSettled(a, 'incremental', other, 30 * MIN);
    expect(a.snap().value).toBe('failed');
    expect(a.clock.now()).toBeLessThanOrEqual(12 * MIN);

    const b = harness();
    await reach(b, 'incremental');
    b.incremental.last().reject(conn());
    await flush();
    await failUntilSettled(b, 'incremental', conn, 30 * MIN);
    expect(b.snap().matches('failed')).toBe(false);
    expect(b.snap().context.retry).toMatchObject({ cause: 'connection', deadline: 720 * MIN });
  });

  it('a change of cause keeps the episode start and takes the new cause window', async () => {
    const h = harness({ connectionRetryMinutes: 60, otherRetryMinutes: 5 });
    await reach(h, 'full');
    h.full.last().reject(conn());
    await flush();
    await advance(h, SEC);
    h.full.last().reject(other());
    await flush();
    expect(h.snap().context.retry).toMatchObject({ cause: 'other', retryStartedAt: 0, deadline: 5 * MIN, attempts: 2 });
  });

  it('a shared endpoint window shorter than the own window wins', async () => {
    expect(effectiveWindowMinutes(settingsFromInput({ sharedWindowMinutes: 30 }), 'connection')).toBe(30);
    expect(effectiveWindowMinutes(settingsFromInput({ sharedWindowMinutes: 30 }), 'other')).toBe(10);
    expect(effectiveWindowMinutes(settingsFromInput({ connectionRetryMinutes: 20, sharedWindowMinutes: 30 }), 'connection')).toBe(20);

    const h = harness({ connectionRetryMinutes: 720, sharedWindowMinutes: 15 });
    await reach(h, 'full');
    h.full.last().reject(conn());
    await flush();
    expect(h.snap().context.retry).toMatchObject({ windowMinutes: 15, deadline: 15 * MIN });
    await failUntilSettled(h, 'full', conn, 60 * MIN);
    expect(h.snap().value).toBe('failed');
    expect(h.clock.now()).toBeGreaterThan(15 * MIN);
    expect(h.clock.now()).toBeLessThanOrEqual(17 * MIN);
  });

  it.each(['schema', 'full', 'incremental'] as const)('a fatal error during %s fails at once, without retrying', async (phase) => {
    const h = harness();
    await reach(h, phase);
    h[phase].last().reject(fatal());
    await flush();
    expect(h.snap().value).toBe('failed');
    expect(h.snap().context.retry).toBeNull();
    expect(h.snap().context.lastError).toMatchObject({ code: 'LOST_HISTORY', kind: 'fatal', phase, fix: 'Re-run full sync.' });
  });

  it('unclassified errors are classified by the error tree (plain Error → other; retriable:false → fatal)', async () => {
    const h = harness();
    await reach(h, 'full');
    h.full.last().reject(new Error('boom'));
    await flush();
    expect(h.snap().context.retry?.cause).toBe('other');
    await advance(h, SEC);
    h.full.last().reject(Object.assign(new Error('bad type'), { retriable: false }));
    await flush();
    expect(h.snap().value).toBe('failed');
  });
});

describe('taskMachine: pause and resume', () => {
  it.each(['prechecking', 'schema', 'full', 'incremental'] as const)('PAUSE in %s stops its actor; RESUME re-enters it', async (phase) => {
    const h = harness();
    if (phase === 'prechecking') h.actor.send({ type: 'START' });
    else await reach(h, phase);
    const ctl = phase === 'prechecking' ? h.precheck : h[phase];
    expect(h.snap().value).toBe(phase);
    h.actor.send({ type: 'PAUSE' });
    expect(h.snap().value).toBe('paused');
    expect(h.snap().context.phase).toBe(phase);
    expect(ctl.last().signal.aborted).toBe(true);
    await advance(h, DAY);
    expect(h.snap().value).toBe('paused');
    h.actor.send({ type: 'RESUME' });
    expect(h.snap().value).toBe(phase);
    expect(ctl.calls).toHaveLength(2);
  });

  it('PAUSE while retrying cancels the backoff; RESUME returns to the phase with a fresh episode', async () => {
    const h = harness();
    await reach(h, 'full');
    h.full.last().reject(conn());
    await flush();
    h.actor.send({ type: 'PAUSE' });
    expect(h.snap().value).toBe('paused');
    await advance(h, MIN);
    expect(h.snap().value).toBe('paused');
    expect(h.full.calls).toHaveLength(1);
    h.actor.send({ type: 'RESUME' });
    expect(h.snap().value).toBe('full');
    expect(h.snap().context.retry).toBeNull();
    expect(h.full.calls).toHaveLength(2);
  });

  it('PAUSE is ignored where nothing runs (idle, awaitingAlertIgnore, failed)', async () => {
    const h = harness();
    h.actor.send({ type: 'PAUSE' });
    expect(h.snap().value).toBe('idle');
    await startAndPass(h, [{ id: 'w', group: 'source', title: 't', status: 'warn' }]);
    h.actor.send({ type: 'PAUSE' });
    expect(h.snap().value).toBe('awaitingAlertIgnore');
  });
});

describe('taskMachine: stop', () => {
  const setups: Record<string, (h: Harness) => Promise<void>> = {
    idle: async () => {},
    prechecking: async (h) => {
      h.actor.send({ type: 'START' });
    },
    precheckFailed: async (h) => startAndPass(h, [{ id: 'x', group: 'source', title: 't', status: 'fail' }]),
    awaitingAlertIgnore: async (h) => startAndPass(h, [{ id: 'x', group: 'source', title: 't', status: 'warn' }]),
    schema: async (h) => reach(h, 'schema'),
    full: async (h) => reach(h, 'full'),
    incremental: async (h) => reach(h, 'incremental'),
    retrying: async (h) => {
      await reach(h, 'full');
      h.full.last().reject(conn());
      await flush();
    },
    paused: async (h) => {
      await reach(h, 'full');
      h.actor.send({ type: 'PAUSE' });
    },
    failed: async (h) => {
      await reach(h, 'full');
      h.full.last().reject(fatal());
      await flush();
    },
  };
  it.each(Object.keys(setups))('STOP from %s → stopped (no timers left behind)', async (name) => {
    const h = harness();
    await setups[name]!(h);
    expect(h.snap().matches(name as never)).toBe(true);
    h.actor.send({ type: 'STOP' });
    expect(h.snap().value).toBe('stopped');
    expect(h.snap().hasTag('ended')).toBe(true);
    const invocations = h.schema.calls.length + h.full.calls.length + h.incremental.calls.length;
    await advance(h, 8 * DAY);
    expect(h.snap().value).toBe('stopped');
    expect(h.schema.calls.length + h.full.calls.length + h.incremental.calls.length).toBe(invocations);
    h.actor.send({ type: 'RESUME' });
    expect(h.snap().value).toBe('stopped');
    h.actor.send({ type: 'STOP' });
    expect(h.snap().value).toBe('stopped');
  });

  it('START after STOP runs the task again: prechecks, then the configured phases', async () => {
    const h = harness();
    await reach(h, 'incremental');
    h.actor.send({ type: 'STOP' });
    expect(h.snap().value).toBe('stopped');
    const prechecks = h.precheck.calls.length;
    h.actor.send({ type: 'START' });
    expect(h.snap().value).toBe('prechecking');
    expect(h.precheck.calls).toHaveLength(prechecks + 1);
    h.precheck.last().resolve([{ id: 'source.connect', group: 'connectivity', title: 'ok', status: 'pass' }]);
    await flush();
    expect(h.snap().value).toBe('schema');
    expect(h.snap().hasTag('ended')).toBe(false);
  });
});

describe('taskMachine: throttle', () => {
  it('SET_THROTTLE merges settings, calls applyThrottle, and the next phase actor gets them', async () => {
    const h = harness({ throttle: { fullQps: 50 } });
    await reach(h, 'full');
    h.actor.send({ type: 'SET_THROTTLE', throttle: { fullRps: 1000 } });
    expect(h.snap().context.throttle).toEqual({ fullQps: 50, fullRps: 1000 });
    expect(h.applyThrottle).toHaveBeenCalledTimes(1);
    expect(h.applyThrottle).toHaveBeenLastCalledWith({ fullQps: 50, fullRps: 1000 });
    expect(h.snap().value).toBe('full');
    h.actor.send({ type: 'PAUSE' });
    h.actor.send({ type: 'SET_THROTTLE', throttle: { incrementalMBps: 5 } });
    expect(h.applyThrottle).toHaveBeenCalledTimes(2);
    h.actor.send({ type: 'RESUME' });
    h.full.last().resolve();
    await flush();
    expect(h.incremental.last().input.throttle).toEqual({ fullQps: 50, fullRps: 1000, incrementalMBps: 5 });
    h.actor.send({ type: 'SET_THROTTLE', throttle: { incrementalRps: 10 } });
    expect(h.applyThrottle).toHaveBeenCalledTimes(3);
    expect(h.snap().value).toBe('incremental');
  });

  it('0 and null lift a limit (unlimited); a field left out keeps its value', async () => {
    const h = harness({ throttle: { fullQps: 50, fullRps: 1000, incrementalRps: 10, incrementalMBps: 5 } });
    await reach(h, 'incremental');
    h.actor.send({ type: 'SET_THROTTLE', throttle: { incrementalRps: 0, fullRps: null } });
    expect(h.snap().context.throttle).toEqual({ fullQps: 50, incrementalMBps: 5 });
    expect(h.applyThrottle).toHaveBeenLastCalledWith({ fullQps: 50, incrementalMBps: 5 });
    h.actor.send({ type: 'SET_THROTTLE', throttle: { incrementalMBps: null, fullQps: 20 } });
    expect(h.snap().context.throttle).toEqual({ fullQps: 20 });
  });
});

describe('taskMachine: failed and auto-restart', () => {
  /** Fail `full` by exhausting a 1-minute 'other' window. */
  async function failFull(h: Harness) {
    await reach(h, 'full');
    h.full.last().reject(other());
    await flush();
    await failUntilSettled(h, 'full', other, 10 * MIN, 10 * SEC);
    expect(h.snap().value).toBe('failed');
  }

  it('a task that failed within 7 days of starting restarts by itself after the delay, into the failed phase', async () => {
    const h = harness({ otherRetryMinutes: 1 });
    await failFull(h);
    const failedAt = h.clock.now();
    const calls = h.full.calls.length;
    await advance(h, 10 * MIN - 1);
    expect(h.snap().value).toBe('failed');
    await advance(h, 1);
    expect(h.snap().value).toBe('full');
    expect(h.full.calls).toHaveLength(calls + 1);
    expect(h.full.last().input).toMatchObject({ restarts: 1, attempt: 0 });
    expect(h.snap().context).toMatchObject({ restarts: 1, retry: null, failedAt: null, startedAt: 0 });
    expect(failedAt).toBeGreaterThan(0);
  });

  it('auto-restart delay and window are configurable', async () => {
    const h = harness({ otherRetryMinutes: 1, autoRestartDelayMinutes: 2, autoRestartWithinDays: 1 });
    await failFull(h);
    await advance(h, 2 * MIN);
    expect(h.snap().value).toBe('full');
  });

  it('a task that failed 7 days or more after it started stays failed', async () => {
    const h = harness({ otherRetryMinutes: 1, syncIncremental: true });
    await reach(h, 'incremental');
    await advance(h, 7 * DAY);
    h.incremental.last().reject(other());
    await flush();
    await failUntilSettled(h, 'incremental', other, 10 * MIN, 10 * SEC);
    expect(h.snap().value).toBe('failed');
    await advance(h, DAY);
    expect(h.snap().value).toBe('failed');
    // a manual START still restarts it
    h.actor.send({ type: 'START' });
    expect(h.snap().value).toBe('incremental');
    expect(h.snap().context.restarts).toBe(1);
  });

  it('fatal failures are not auto-restarted unless autoRestartFatal is set', async () => {
    const a = harness();
    await reach(a, 'full');
    a.full.last().reject(fatal());
    await flush();
    await advance(a, DAY);
    expect(a.snap().value).toBe('failed');

    const b = harness({ autoRestartFatal: true });
    await reach(b, 'full');
    b.full.last().reject(fatal());
    await flush();
    await advance(b, 10 * MIN);
    expect(b.snap().value).toBe('full');
  });
});

describe('taskMachine: release', () => {
  it('RELEASE from failed invokes the release actor, then ends in released (final) with output', async () => {
    const h = harness({ taskId: 'orders' });
    await reach(h, 'full');
    h.full.last().reject(fatal());
    await flush();
    h.actor.send({ type: 'RELEASE' });
    expect(h.snap().value).toBe('releasing');
    expect(h.release.last().input).toEqual({ taskId: 'orders', phase: 'full' });
    h.actor.send({ type: 'STOP' }); // cannot interrupt cleanup
    h.actor.send({ type: 'RELEASE' });
    expect(h.snap().value).toBe('releasing');
    expect(h.release.calls).toHaveLength(1);
    h.release.last().resolve();
    await flush();
    expect(h.snap().value).toBe('released');
    expect(h.snap().status).toBe('done');
    expect(h.snap().output).toMatchObject({ taskId: 'orders', phase: 'full', lastError: { code: 'LOST_HISTORY' } });
  });

  it('RELEASE from a running phase stops its actor first; a release error → releaseFailed, RELEASE retries', async () => {
    const h = harness();
    await reach(h, 'incremental');
    h.actor.send({ type: 'RELEASE' });
    expect(h.incremental.last().signal.aborted).toBe(true);
    h.release.last().reject(conn());
    await flush();
    expect(h.snap().value).toBe('releaseFailed');
    expect(h.snap().context.lastError?.code).toBe('ECONNREFUSED');
    h.actor.send({ type: 'STOP' });
    expect(h.snap().value).toBe('releaseFailed');
    h.actor.send({ type: 'RELEASE' });
    expect(h.release.calls).toHaveLength(2);
    h.release.last().resolve();
    await flush();
    expect(h.snap().value).toBe('released');
  });

  it.each(['idle', 'stopped', 'paused'] as const)('RELEASE from %s releases too', async (state) => {
    const h = harness();
    if (state !== 'idle') await reach(h, 'full');
    if (state === 'stopped') h.actor.send({ type: 'STOP' });
    if (state === 'paused') h.actor.send({ type: 'PAUSE' });
    expect(h.snap().value).toBe(state);
    h.actor.send({ type: 'RELEASE' });
    h.release.last().resolve();
    await flush();
    expect(h.snap().value).toBe('released');
  });
});

describe('taskMachine: inspection and persistence', () => {
  it('the state chart serializes to JSON', () => {
    const def = taskMachineDefinition() as { id: string; states: Record<string, unknown> };
    expect(def.id).toBe('task');
    expect(Object.keys(def.states).sort()).toEqual(
      [
        'awaitingAlertIgnore',
        'completed',
        'failed',
        'full',
        'idle',
        'incremental',
        'paused',
        'precheckFailed',
        'precheckReview',
        'prechecking',
        'releaseFailed',
        'released',
        'releasing',
        'retrying',
        'schema',
        'stopped',
      ].sort(),
    );
    expect(JSON.stringify(taskMachine.toJSON())).toContain('"retrying"');
  });

  it('a retrying task snapshot persists as JSON and restores into the same state', async () => {
    const h = harness();
    await reach(h, 'full');
    h.full.last().reject(conn());
    await flush();
    const persisted = JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot())) as ReturnType<typeof h.actor.getPersistedSnapshot>;
    const restored = createActor(taskMachine, { snapshot: persisted, input: {}, clock: new SimulatedClock() });
    expect(restored.getSnapshot().matches('retrying')).toBe(true);
    expect(restored.getSnapshot().context.retry).toEqual(h.snap().context.retry);
  });
});
