/**
 * One run of one scenario in one phase, from a fresh database and topic to the accounting:
 *
 * 1. a table `public.items` with seed rows (20,000 and a throttled copy for the full phase, so the
 *    fault lands while it copies; 2,000 for the incremental phase), a 3-partition topic (keyHash);
 * 2. a runtime in a child process (faults/fixture/run-task.ts) reaching PostgreSQL and Kafka through
 *    the harness's proxies; the writer's transactions run throughout;
 * 3. the fault, during `full` (after the first chunk was checkpointed) or `incremental`;
 * 4. observation: recovered (healthy and acknowledging new writes again), failed, or stuck (neither,
 *    within the retry window and a minute), with the states and errors the task reported;
 * 5. after a failure, the operator's fix if there is one, and a restart by hand;
 * 6. the writer stops, the topic is read back and accounted for (faults/account.ts).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { account, lost, readTopic, type Accounting, type Scope } from './account.js';
import { RuntimeChild, type StatusLine, type TaskError } from './child.js';
import { FAULTS } from './config.js';
import type { FaultProxy } from './proxy.js';
import { kafka, portOpen, postgres } from './servers.js';
import { Writer, pad, type Change } from './writer.js';
import { createTestDatabase, createTopic, deleteTopics, withAdmin, withPg } from '../test/integration/support.js';

export type Phase = 'full' | 'incremental';

export const DEFAULT_RETRY = { connectionMs: 120_000, otherMs: 60_000 };

export type Requirement =
  /** The task must come back by itself (or, for a runtime killed, once started again). */
  | { kind: 'recover' }
  /** The task must end `failed` with an error matching `code` (an actionable message). */
  | { kind: 'fail'; code: RegExp; what: string }
  /** Either is acceptable: recovering, or failing with an error matching `code`. */
  | { kind: 'recover-or-fail'; code: RegExp; what: string };

export interface Scenario {
  name: string;
  /** No fault at all: the control run, for comparison. */
  control?: boolean;
  /** One line: what the fault is. */
  description: string;
  phases: Phase[];
  require: Requirement;
  /** Retry windows the runtime gets (default DEFAULT_RETRY). */
  retry?: { connectionMs: number; otherMs: number };
  /**
   * Faults that destroy history or the destination: pause the writer and wait until everything
   * written is in the topic before the fault, so what was delivered before it is known.
   */
  quiesce?: Phase[];
  /** Phases in which the writer starts only once the fault was injected. */
  writeFromFault?: Phase[];
  /**
   * What the destination must hold: `all` (every seed row and change), `afterFault` (the changes
   * committed after the fault: the fault removed the destination's earlier contents),
   * `beforeFault` (the changes committed before it: the fault removed the history of later ones,
   * which only a task that did not fail must still deliver).
   */
  scope?: 'all' | 'afterFault' | 'beforeFault';
  /**
   * Exactly-once delivery (`destination.kafka.exactlyOnce`, checkpoints in a Kafka topic): the
   * topic is read read_committed as always, and a streamed change delivered twice fails the run.
   */
  exactlyOnce?: boolean;
  /** Injects the fault; resolves when it is over. */
  inject(ctx: RunContext): Promise<void>;
  /** The operator's fix after the task failed, before the restart by hand; absent: there is none. */
  fix?(ctx: RunContext): Promise<void>;
}

export interface RunContext {
  scenario: Scenario;
  phase: Phase;
  database: string;
  topic: string;
  taskName: string;
  slot: string;
  dir: string;
  checkpointFile: string;
  seedRows: number;
  config: Record<string, unknown>;
  child: RuntimeChild;
  readonly children: RuntimeChild[];
  writer: Writer;
  proxies: { pg: FaultProxy; kafka: FaultProxy };
  retry: { connectionMs: number; otherMs: number };
  faultStart: number;
  notes: string[];
  /** Starts a runtime on the run's task (the current one must have stopped). */
  startChild(label: string): RuntimeChild;
  log(msg: string): void;
}

export interface RunResult {
  scenario: string;
  /** The commit the runtime ran from (set by the caller). */
  code?: string;
  description: string;
  phase: Phase;
  requirement: string;
  outcome: string;
  /** Met the requirement, nothing lost, nothing wrong. */
  pass: boolean;
  stateAtFault: string;
  faultSeconds: number;
  recoverSeconds: number | null;
  failedAfterSeconds: number | null;
  /** How the task ended when it did not recover: `failed` (its state) or `crashed` (the process exited). */
  ended: 'failed' | 'crashed' | 'stuck' | null;
  restartByHand: { outcome: string; seconds: number | null; error: TaskError | null } | null;
  lost: number | null;
  undelivered: number;
  wrong: number | null;
  duplicates: number | null;
  states: string[];
  errors: TaskError[];
  message: string;
  accounting: Omit<Accounting, 'lostChanges' | 'lostSeedRows'> & { lostChanges: Change[]; lostSeedRows: string[] } | null;
  writer: { transactions: number; changes: number; errors: number; uncertain: { looked: number; committed: number } };
  notes: string[];
  logTail: string[];
  /** The longest time after the fault the task reported healthy (full or incremental) while acknowledging nothing, with the writer running. */
  healthyStallSeconds: number;
  /** Per runtime: its state changes and a status every 2 s, seconds from the fault. */
  timeline: string[];
  durationSeconds: number;
}

/** A task reporting healthy while acknowledging nothing for longer than this is stuck (a row fails). */
export const HEALTHY_STALL_LIMIT_S = 45;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const RUNNING = new Set(['full', 'incremental']);
const FAILED = new Set(['failed', 'precheckFailed', 'invalid']);
const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** `prechecking → full ⇄ retrying ×3 → incremental`: retrying sub-states merged, back-and-forth cycles counted. */
export function compactStates(states: readonly string[]): string[] {
  const merged: string[] = [];
  for (const s of states) {
    const v = s.startsWith('retrying') ? 'retrying' : s === 'precheckReview' || s === 'idle' ? '' : s;
    if (v && merged.at(-1) !== v) merged.push(v);
  }
  const out: string[] = [];
  let i = 0;
  while (i < merged.length) {
    const a = merged[i];
    const b = merged[i + 1];
    let n = 0;
    while (a !== undefined && b !== undefined && merged[i + 2 * n] === a && merged[i + 2 * n + 1] === b) n += 1;
    if (n >= 2) {
      out.push(`${a} ⇄ ${b} ×${n}`);
      i += 2 * n;
    } else {
      if (a !== undefined) out.push(a);
      i += 1;
    }
  }
  return out;
}

export function describeError(e: TaskError | null | undefined): string {
  if (!e) return '';
  return `${e.code}: ${e.message}${e.fix ? ` Fix: ${e.fix}` : ''}`;
}

function requirementText(r: Requirement): string {
  return r.kind === 'recover' ? 'recover' : r.kind === 'fail' ? `fail: ${r.what}` : `recover, or fail: ${r.what}`;
}

/** The first line at or after `from` for which `pred` holds, over the given children. */
function firstLine(children: readonly RuntimeChild[], from: number, pred: (l: StatusLine, c: RuntimeChild) => boolean): StatusLine | null {
  let best: StatusLine | null = null;
  for (const c of children) for (const l of c.lines) if (l.t >= from && pred(l, c) && (!best || l.t < best.t)) best = l;
  return best;
}

/** The longest run of ticks in [from, to) reporting healthy in full or incremental with no new acknowledged event. */
function healthyStall(children: readonly RuntimeChild[], from: number, to: number): number {
  let longest = 0;
  for (const c of children) {
    let start: number | null = null;
    let events = -1;
    for (const l of c.lines) {
      if (l.kind !== 'tick' || l.t < from || l.t >= to) continue;
      const stalled = l.healthy && RUNNING.has(l.state) && l.events === events;
      if (stalled) {
        start ??= l.t;
        longest = Math.max(longest, l.t - start);
      } else start = null;
      events = l.events;
    }
  }
  return seconds(longest);
}

/** The longest run of ticks in [from, to) reporting unhealthy in full or incremental with no error at all. */
function silentUnhealthy(children: readonly RuntimeChild[], from: number, to: number): number {
  let longest = 0;
  for (const c of children) {
    let start: number | null = null;
    for (const l of c.lines) {
      if (l.kind !== 'tick' || l.t < from || l.t >= to) continue;
      if (!l.healthy && RUNNING.has(l.state) && l.error === null) {
        start ??= l.t;
        longest = Math.max(longest, l.t - start);
      } else start = null;
    }
  }
  return seconds(longest);
}

function timeline(children: readonly RuntimeChild[], zero: number): string[] {
  const out: string[] = [];
  for (const c of children) {
    out.push(`--- ${c.label}`);
    let lastTick = 0;
    for (const l of c.lines) {
      if (l.kind === 'tick' && l.t - lastTick < 2000) continue;
      if (l.kind === 'tick') lastTick = l.t;
      out.push(
        `${((l.t - zero) / 1000).toFixed(1)} s ${l.kind === 'state' ? 'STATE ' : ''}${l.state}${l.healthy ? '' : ' (unhealthy)'} events=${l.events} latency=${l.latencyMs ?? '-'}${l.kind === 'state' && l.error ? ` error=${l.error.code}` : ''}`,
      );
    }
    if (c.exit) out.push(`${((c.exit.at - zero) / 1000).toFixed(1)} s EXIT ${c.exit.signal ?? c.exit.code}${c.crashed ? ' (on its own)' : ''}`);
  }
  return out;
}

/** Events the child had acknowledged before `t` (0 for a child started after it). */
function eventsBefore(c: RuntimeChild, t: number): number {
  let n = 0;
  for (const l of c.lines) if (l.t < t) n = l.events;
  return n;
}

type Watch =
  | { kind: 'recovered'; at: number }
  | { kind: 'failed'; at: number; line: StatusLine }
  | { kind: 'crashed'; at: number; child: RuntimeChild }
  | { kind: 'stuck'; line: StatusLine | undefined };

/**
 * Waits until the task recovered after `faultEnd` (healthy in full or incremental, acknowledging
 * events it had not before, and in incremental with latency under 10 s), failed after `from`, or
 * `timeoutMs` passed (stuck).
 */
async function watch(ctx: RunContext, from: number, faultEnd: number, timeoutMs: number): Promise<Watch> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const children = ctx.children;
    const failed = firstLine(children, from, (l) => FAILED.has(l.state));
    const recovered = firstLine(
      children,
      faultEnd,
      (l, c) => l.kind === 'tick' && l.healthy && RUNNING.has(l.state) && l.events > eventsBefore(c, faultEnd) && (l.state !== 'incremental' || (l.latencyMs !== null && l.latencyMs < 10_000)),
    );
    const crashed = children.find((c) => c.crashed && (c.exit?.at ?? 0) >= from);
    const crashAt = crashed?.exit?.at ?? Infinity;
    if (recovered && (!failed || recovered.t < failed.t) && recovered.t < crashAt) return { kind: 'recovered', at: recovered.t };
    if (failed && failed.t < crashAt) return { kind: 'failed', at: failed.t, line: failed };
    if (crashed) return { kind: 'crashed', at: crashAt, child: crashed };
    if (Date.now() > end) return { kind: 'stuck', line: ctx.child.last };
    await sleep(250);
  }
}

/**
 * After a recovery during full sync: waits until the task reaches incremental sync, or fails or
 * crashes on the way (returned), or `timeoutMs` passed (stuck).
 */
async function watchToIncremental(ctx: RunContext, from: number, timeoutMs: number): Promise<Watch | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const failed = firstLine(ctx.children, from, (l) => FAILED.has(l.state));
    const crashed = ctx.children.find((c) => c.crashed && (c.exit?.at ?? 0) >= from);
    if (failed && failed.t < (crashed?.exit?.at ?? Infinity)) return { kind: 'failed', at: failed.t, line: failed };
    if (crashed) return { kind: 'crashed', at: crashed.exit?.at ?? Date.now(), child: crashed };
    // Streaming, and still healthy 5 s after it began.
    const entered = ctx.child.lines.find((l) => l.t >= from && l.state === 'incremental');
    if (entered && ctx.child.lines.some((l) => l.t >= entered.t + 5000 && l.state === 'incremental' && l.healthy)) return null;
    if (Date.now() > end) return { kind: 'stuck', line: ctx.child.last };
    await sleep(250);
  }
}

async function waitIncremental(ctx: RunContext, timeoutMs: number): Promise<boolean> {
  const l = await ctx.child.waitFor((x) => x.state === 'incremental' || FAILED.has(x.state), timeoutMs);
  return l?.state === 'incremental';
}

/** Reads the topic until every change in `log` so far is there (the writer paused), bounded. */
async function waitDelivered(ctx: RunContext, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const partitions = await readTopic(ctx.topic);
    const a = await account(ctx.database, partitions, ctx.writer.log, { seedRows: 0, keys: new Set() });
    if (a.lostChanges.length === 0) return true;
    if (Date.now() > end) {
      ctx.notes.push(`before the fault, ${a.lostChanges.length} of ${ctx.writer.log.length} changes had not arrived within ${timeoutMs / 1000} s`);
      return false;
    }
    await sleep(1000);
  }
}

/** Everything about a run that must be undone, whatever happened. */
interface Cleanup {
  drop?: () => Promise<void>;
  topic?: string;
  dir?: string;
}

async function ensureServers(log: (m: string) => void): Promise<void> {
  if (!(await portOpen(FAULTS.kafkaPort))) {
    log('the broker is down after the run: starting it');
    await kafka.up();
  }
  if (!(await portOpen(FAULTS.pgPort))) {
    log('PostgreSQL is down after the run: starting it');
    await postgres.start();
  }
}

export async function runScenario(scenario: Scenario, phase: Phase, proxies: { pg: FaultProxy; kafka: FaultProxy }, log: (m: string) => void): Promise<RunResult> {
  const started = Date.now();
  const retry = scenario.retry ?? DEFAULT_RETRY;
  const cleanup: Cleanup = {};
  const notes: string[] = [];
  const rand = randomBytes(3).toString('hex');
  const seedRows = phase === 'full' ? 20_000 : 2_000;
  let ctx: RunContext | undefined;
  try {
    const db = await createTestDatabase(`faults_${phase === 'full' ? 'f' : 'i'}`);
    cleanup.drop = db.drop;
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.items (id bigint PRIMARY KEY, rev bigint NOT NULL, pad text NOT NULL)');
      await c.query(`INSERT INTO public.items SELECT g, 0, $1 || g FROM generate_series(1, ${seedRows}) g`, [pad()]);
      await c.query('ANALYZE public.items');
    });
    const topic = `faults_${scenario.name.toLowerCase().replace(/[^a-z0-9]+/g, '_')}_${phase}_${rand}`;
    await createTopic(topic, 3);
    cleanup.topic = topic;
    const dir = await mkdtemp(join(tmpdir(), 'trib-faults-'));
    cleanup.dir = dir;
    const taskName = `f-${rand}-${phase}`;
    const slot = `faults_${rand}`;
    const config = {
      name: taskName,
      source: { type: 'postgres', host: '127.0.0.1', port: proxies.pg.port, user: 'postgres', database: db.database, slotName: slot, publication: slot },
      destination: { kafka: { brokers: [`127.0.0.1:${proxies.kafka.port}`], topic, format: 'canal-json', partitionPolicy: 'keyHash', ...(scenario.exactlyOnce ? { exactlyOnce: true } : {}) } },
      objects: [{ schema: 'public', table: 'items' }],
      checkpoints: scenario.exactlyOnce ? { store: 'kafka', topic: `${topic}_checkpoints` } : { store: 'file', dir },
      fullSync: { parallelism: 2, chunkRows: 2000 },
      ...(phase === 'full' ? { throttle: { full: { rps: 1500 } } } : {}),
    };
    const children: RuntimeChild[] = [];
    const run: RunContext = {
      scenario,
      phase,
      database: db.database,
      topic,
      taskName,
      slot,
      dir,
      checkpointFile: join(dir, `${encodeURIComponent(taskName)}.json`),
      seedRows,
      config,
      child: undefined as unknown as RuntimeChild,
      children,
      writer: new Writer(db.database, seedRows),
      proxies,
      retry,
      faultStart: 0,
      notes,
      startChild(label: string) {
        const c = new RuntimeChild(label, config, { retryConnectionMs: retry.connectionMs, retryOtherMs: retry.otherMs });
        children.push(c);
        run.child = c;
        return c;
      },
      log,
    };
    ctx = run;
    run.startChild('first start');

    // 1. Up to the moment of the fault.
    if (phase === 'full') {
      const end = Date.now() + 120_000;
      let chunks = 0;
      while (Date.now() < end && !run.child.exited) {
        const cp = JSON.parse(await readFile(run.checkpointFile, 'utf8').catch(() => '{}')) as { chunksDone?: Record<string, number> };
        chunks = Object.keys(cp.chunksDone ?? {}).length;
        if (chunks > 0 || FAILED.has(run.child.last?.state ?? '')) break;
        await sleep(100);
      }
      if (chunks === 0) throw new Error(`the full sync checkpointed no chunk within 120 s (states ${run.child.states().join(', ')}; ${describeError(run.child.errors().at(-1))}${run.child.crashed ? `; ${run.child.crashSummary()}` : ''})`);
    } else {
      const l = await run.child.waitFor((x) => (x.state === 'incremental' && x.healthy) || FAILED.has(x.state), 120_000);
      if (l?.state !== 'incremental') throw new Error(`the task did not reach incremental within 120 s (states ${run.child.states().join(', ')}; ${describeError(run.child.errors().at(-1))}${run.child.crashed ? `; ${run.child.crashSummary()}` : ''})`);
    }
    const writeLater = scenario.writeFromFault?.includes(phase) ?? false;
    if (!writeLater) {
      run.writer.start();
      await sleep(phase === 'incremental' ? 3000 : 300);
    }
    if (scenario.quiesce?.includes(phase) && !writeLater) {
      run.writer.pause();
      await sleep(200);
      await waitDelivered(run, 45_000);
    }
    const stateAtFault = run.child.last?.state ?? '?';
    if (phase === 'full' && stateAtFault !== 'full') notes.push(`the task was in ${stateAtFault}, not full, when the fault began`);

    // 2. The fault.
    run.faultStart = Date.now();
    log(`${scenario.name}/${phase}: fault (task in ${stateAtFault})`);
    await scenario.inject(run);
    const faultEnd = Date.now();
    if (writeLater) run.writer.start();
    run.writer.resume();

    // 3. What the task does about it.
    let first = await watch(run, run.faultStart, faultEnd, retry.connectionMs + 60_000);
    if (first.kind === 'recovered' && phase === 'full') {
      // The copy resumed; the task has recovered once it also starts streaming.
      const resumedAt = first.at;
      const then = await watchToIncremental(run, run.faultStart, 300_000);
      if (then !== null) {
        notes.push(`the copy resumed ${seconds(resumedAt - run.faultStart)} s after the fault, then the task ${then.kind === 'stuck' ? 'did not reach incremental within 300 s' : then.kind}`);
        first = then;
      }
    }
    let recoverSeconds: number | null = null;
    let failedAfterSeconds: number | null = null;
    let restartByHand: RunResult['restartByHand'] = null;
    let outcome: string;
    let met: boolean;
    const req = scenario.require;
    const requiredCode = req.kind === 'recover' ? null : req.code;
    const matches = (e: TaskError | null | undefined, code: RegExp) => e !== null && e !== undefined && code.test(`${e.code} ${e.message}`);
    let healthyAtEnd = false;
    let recoveredAt = 0;
    if (first.kind === 'recovered') {
      recoveredAt = first.at;
      recoverSeconds = scenario.control ? null : seconds(first.at - run.faultStart);
      outcome = scenario.control ? 'healthy throughout' : 'recovered';
      met = req.kind !== 'fail';
      healthyAtEnd = true;
    } else if (first.kind === 'failed' || first.kind === 'crashed') {
      failedAfterSeconds = seconds(first.at - run.faultStart);
      const err = first.kind === 'failed' ? first.line.error : null;
      const required = first.kind === 'failed' && req.kind !== 'recover' && matches(err, req.code);
      outcome =
        first.kind === 'crashed' ? `runtime crashed (${first.child.crashSummary()})` : required ? `failed as required (${err?.code})` : `failed (${err?.code ?? first.line.state})`;
      met = required;
      // The operator's fix, then a restart by hand.
      if (scenario.fix && first.kind === 'failed') await scenario.fix(run);
      await run.child.stop();
      const restartAt = Date.now();
      run.startChild('restart by hand');
      const second = await watch(run, restartAt, restartAt, 180_000);
      if (second.kind === 'recovered') {
        restartByHand = { outcome: 'recovered', seconds: seconds(second.at - restartAt), error: null };
        healthyAtEnd = true;
        recoveredAt = second.at;
      } else if (second.kind === 'failed') {
        const again = required && requiredCode !== null && matches(second.line.error, requiredCode);
        restartByHand = { outcome: again ? `failed again (${second.line.error?.code})` : `failed (${second.line.error?.code ?? second.line.state})`, seconds: null, error: second.line.error };
        // A restart by hand that cannot work (no fix exists) must fail the same way, never start from now.
        if (scenario.fix || !again) met = false;
      } else if (second.kind === 'crashed') {
        restartByHand = { outcome: `runtime crashed (${second.child.crashSummary()})`, seconds: null, error: null };
        met = false;
      } else {
        restartByHand = { outcome: `stuck (${second.line?.state ?? '?'}${second.line?.healthy ? ', reported healthy' : ''})`, seconds: null, error: second.line?.error ?? null };
        met = false;
      }
      outcome += `; restart by hand: ${restartByHand.outcome}${restartByHand.seconds !== null ? ` in ${restartByHand.seconds} s` : ''}`;
    } else {
      const l = first.line;
      outcome = `stuck (${l?.state ?? '?'}${l?.healthy ? ', reported healthy' : ''})`;
      met = false;
    }

    // 4. Drain: the copy finishes, more writes, then everything written must arrive.
    if (healthyAtEnd) {
      if (phase === 'full' && !(await waitIncremental(run, 240_000))) notes.push('the full sync did not finish within 240 s of the recovery');
      await sleep(3000);
    }
    const drainStart = Date.now();
    await run.writer.stop();
    const required = first.kind === 'failed' && requiredCode !== null && matches(first.line.error, requiredCode);
    const excused = required && !scenario.fix;
    const scopeKind = scenario.scope ?? 'all';
    const reachedIncremental = phase === 'incremental' || children.some((c) => c.lines.some((l) => l.state === 'incremental'));
    const scope: Scope =
      scopeKind === 'afterFault'
        ? (() => {
            const change = (c: Change) => c.t > run.faultStart;
            return { change, seedRows: 0, keys: new Set(run.writer.log.filter(change).map((c) => c.id)) };
          })()
        : scopeKind === 'beforeFault' && excused
          ? (() => {
              // Rows changed after the fault have a state the destination cannot have: left out.
              const change = (c: Change) => c.t < run.faultStart;
              const later = new Set(run.writer.log.filter((c) => !change(c)).map((c) => c.id));
              const keys = [...(reachedIncremental ? Array.from({ length: seedRows }, (_, i) => String(i + 1)) : []), ...run.writer.log.filter(change).map((c) => c.id)];
              return { change, seedRows: reachedIncremental ? seedRows : 0, keys: new Set(keys.filter((k) => !later.has(k))) };
            })()
          : { seedRows };
    let accounting: Accounting | null = null;
    let undelivered = 0;
    const drainEnd = Date.now() + (healthyAtEnd ? 90_000 : 5_000);
    for (;;) {
      const partitions = await readTopic(topic);
      accounting = await account(db.database, partitions, run.writer.log, scope);
      if ((lost(accounting) === 0 && accounting.wrong === 0) || Date.now() > drainEnd) {
        if (scope.change) {
          const all = await account(db.database, partitions, run.writer.log, { seedRows: 0, keys: new Set() });
          undelivered = all.lostChanges.length - accounting.lostChanges.length;
        }
        break;
      }
      await sleep(2000);
    }
    if (lost(accounting) > 0 || accounting.wrong > 0) met = false;
    if (scenario.exactlyOnce && accounting.streamDuplicates > 0) {
      notes.push(`exactly-once: ${accounting.streamDuplicates} streamed change(s) delivered twice (read_committed)`);
      met = false;
    }
    if (healthyAtEnd) {
      // Recovered, and it must have stayed so until the end.
      const later = firstLine([run.child], recoveredAt, (l) => FAILED.has(l.state));
      if (later) outcome += `; then failed (${later.error?.code ?? later.state}) ${seconds(later.t - run.faultStart)} s after the fault`;
      else if (run.child.crashed) outcome += `; then crashed (${run.child.crashSummary()})`;
      if (later || run.child.crashed) met = false;
    }
    const errors = children.flatMap((c) => c.errors());
    const lastError = [...children].reverse().find((c) => c.errors().length > 0)?.errors().at(-1) ?? null;
    const failureError = first.kind === 'failed' ? first.line.error : null;
    const result: RunResult = {
      scenario: scenario.name,
      description: scenario.description,
      phase,
      requirement: `${requirementText(req)}${scenario.exactlyOnce ? ', every streamed change once (read_committed)' : ''}`,
      outcome,
      pass: met,
      stateAtFault,
      faultSeconds: seconds(faultEnd - run.faultStart),
      recoverSeconds,
      failedAfterSeconds,
      ended: first.kind === 'recovered' ? null : first.kind,
      restartByHand,
      lost: lost(accounting),
      undelivered,
      wrong: accounting.wrong,
      duplicates: accounting.duplicates,
      states: children.map((c) => compactStates(c.states()).join(' → ')),
      errors,
      message: first.kind === 'crashed' ? first.child.crashSummary() : describeError(failureError ?? lastError),
      accounting: { ...accounting, lostChanges: accounting.lostChanges.slice(0, 20), lostSeedRows: accounting.lostSeedRows.slice(0, 20) },
      writer: { transactions: run.writer.writes, changes: run.writer.log.length, errors: run.writer.errors, uncertain: run.writer.uncertain },
      notes,
      logTail: children.flatMap((c) => [`--- ${c.label} (pid ${c.proc.pid}${c.exit ? `, exited ${c.exit.signal ?? c.exit.code}${c.crashed ? ' on its own' : ''}` : ''})`, ...c.logTail(25), ...(c.crashed ? ['--- stderr (not the JSON log):', ...c.crashText] : [])]),
      healthyStallSeconds: healthyStall(children, run.faultStart, drainStart),
      timeline: timeline(children, run.faultStart),
      durationSeconds: seconds(Date.now() - started),
    };
    const silent = silentUnhealthy(children, run.faultStart, drainStart);
    if (silent > 20) result.notes.push(`unhealthy for ${silent} s with no error reported`);
    if (result.healthyStallSeconds > HEALTHY_STALL_LIMIT_S) {
      // Longer than any of the runtime's own timeouts (30 s requests, 30-40 s replication silence): stuck while saying it is fine.
      result.notes.push(`reported healthy for ${result.healthyStallSeconds} s while acknowledging nothing`);
      result.pass = false;
    }
    return result;
  } catch (err) {
    return {
      scenario: scenario.name,
      description: scenario.description,
      phase,
      requirement: requirementText(scenario.require),
      outcome: `harness error: ${(err as Error).message}`,
      pass: false,
      stateAtFault: '?',
      faultSeconds: 0,
      recoverSeconds: null,
      failedAfterSeconds: null,
      ended: null,
      restartByHand: null,
      lost: null,
      undelivered: 0,
      wrong: null,
      duplicates: null,
      states: ctx?.children.map((c) => compactStates(c.states()).join(' → ')) ?? [],
      errors: ctx?.children.flatMap((c) => c.errors()) ?? [],
      message: describeError(ctx?.children.flatMap((c) => c.errors()).at(-1)),
      accounting: null,
      writer: ctx ? { transactions: ctx.writer.writes, changes: ctx.writer.log.length, errors: ctx.writer.errors, uncertain: ctx.writer.uncertain } : { transactions: 0, changes: 0, errors: 0, uncertain: { looked: 0, committed: 0 } },
      notes,
      logTail: ctx?.children.flatMap((c) => [`--- ${c.label} (pid ${c.proc.pid})`, ...c.logTail(25)]) ?? [],
      healthyStallSeconds: 0,
      timeline: ctx ? timeline(ctx.children, ctx.faultStart || started) : [],
      durationSeconds: seconds(Date.now() - started),
    };
  } finally {
    if (ctx) {
      await ctx.writer.stop().catch(() => undefined);
      for (const c of ctx.children) {
        if (c.exited) continue;
        await c.signal('SIGCONT').catch(() => undefined);
        await c.signal('SIGTERM', 15_000).catch(() => undefined);
      }
    }
    proxies.pg.restore();
    proxies.kafka.restore();
    await kafka.signal('SIGCONT').catch(() => undefined);
    await ensureServers(log).catch((e: unknown) => log(`could not restart the servers: ${(e as Error).message}`));
    if (cleanup.drop) await cleanup.drop().catch((e: unknown) => log(`dropping the run's database: ${(e as Error).message}`));
    if (cleanup.topic) {
      const topic = cleanup.topic;
      await withAdmin(async (a) => {
        // The topic's own config may have been changed by the scenario; it goes anyway.
        const topics = await a.listTopics();
        for (const t of [topic, `${topic}_checkpoints`]) if (topics.includes(t)) await deleteTopics(t);
      }).catch(() => undefined);
    }
    if (cleanup.dir) await rm(cleanup.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Helpers scenarios share. */
export const tools = {
  sleep,
  /** Until the current child reports a failure after the fault began, or `ms` passed. */
  async untilFailed(ctx: RunContext, ms: number): Promise<boolean> {
    const l = await ctx.child.waitFor((x) => x.t >= ctx.faultStart && FAILED.has(x.state), ms);
    return l !== null;
  },
  /** Drops the task's slot, terminating the walsender that holds it (again if the task reconnects). */
  async dropSlot(ctx: RunContext): Promise<void> {
    let last = '';
    for (let i = 0; i < 100; i++) {
      const gone = await withPg(ctx.database, async (c) => {
        await c.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [ctx.slot]);
        try {
          const r = await c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [ctx.slot]);
          return (r.rowCount ?? 0) > 0;
        } catch (err) {
          last = (err as Error).message;
          return false;
        }
      });
      if (gone) return;
      await sleep(50);
    }
    throw new Error(`could not drop slot ${ctx.slot}: ${last}`);
  },
  async saveCheckpoint(ctx: RunContext): Promise<string> {
    return readFile(ctx.checkpointFile, 'utf8');
  },
  /** The checkpoint file's place taken by a directory: every save fails. */
  async occupyCheckpoint(ctx: RunContext): Promise<void> {
    await rm(ctx.checkpointFile, { force: true });
    await mkdir(join(ctx.checkpointFile, 'occupied'), { recursive: true });
  },
  async restoreCheckpoint(ctx: RunContext, text: string): Promise<void> {
    await rm(ctx.checkpointFile, { recursive: true, force: true });
    await writeFile(ctx.checkpointFile, text);
  },
};
