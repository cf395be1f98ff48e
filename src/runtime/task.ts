import type { Observable} from 'rxjs';
import { BehaviorSubject, concatMap, defer, interval, merge, tap, type OperatorFunction } from 'rxjs';
import { createActor, fromObservable, fromPromise, type Actor, type InspectionEvent, type SnapshotFrom } from 'xstate';
import { fullSyncMachine, taskMachine, type ChunkSpec, type ThrottleSettings, type ThrottleUpdate } from '../../machines/index.js';
import type { CheckpointStore, Checkpoint } from '../checkpoints/index.js';
import type { TaskOptions } from '../config/schema.js';
import type { Logger, PrecheckItem, Sink, SnapshotChunk, Source } from '../core/contracts.js';
import { FatalError } from '../core/errors.js';
import type { ChangeEvent } from '../core/events.js';
import { qualifiedName } from '../core/events.js';
import type { Position } from '../core/position.js';
import { AckTracker, InflightWindow, NameMapper, ObjectSelector, QueryRateLimiter, ThrottleController, applyEtl, filterRows, mapNames, selectObjects, skipThrough, type SelectionSpec } from '../operators/index.js';
import { etlProgramToFunction, compileEtl } from '../config/etl.js';
import { planObjects, type ObjectPlan } from './objects.js';
import { CheckpointManager } from './checkpointManager.js';
import { localChunkExecutor, type ChunkExecutor, type ChunkExecutorFactory } from './chunkExecutor.js';
import { checkObjectColumns } from './columnCheck.js';
import { flowControlOf, writeThrough, type AckedBatch, type BatchLimits } from './pipeline.js';
import type { Registry, SinkDescriptorCapabilities, SourceDescriptor } from './registry.js';
import type { SourceCapabilities } from '../core/plugin.js';

export interface TaskDeps {
  registry: Registry;
  checkpoints: CheckpointStore;
  logger: Logger;
  inspect?: (event: InspectionEvent) => void;
  /** Batching and in-flight limits (defaults suit 200-byte rows at 100k events/s). */
  batch?: Partial<BatchLimits>;
  inflight?: { maxEvents?: number; maxBytes?: number };
  /** How often the acked watermark is confirmed to the source and checkpointed. */
  confirmIntervalMs?: number;
  /**
   * Set when this runner replaces a running task whose objects changed: tables the previous
   * selection already covered keep streaming from the checkpoint; tables it did not cover get a
   * full sync of their own first.
   */
  previousSelection?: SelectionSpec;
  /**
   * Retry windows in milliseconds, overriding the config's minutes (tests shorten them; the
   * config's own range is 1-1440 minutes).
   */
  retryWindowsMs?: { connection?: number; other?: number };
  /** The destination acknowledging nothing for this long while writes wait makes the task unhealthy (default 30 s). */
  stallMs?: number;
  /** Who copies the full-sync chunks (default: this process; a cluster worker may share them out). */
  chunkExecutor?: ChunkExecutorFactory;
}

export { progressOfChunks, type FullSyncProgress, type RowProgress, type TaskCounters, type TaskStatus } from './statusProjection.js';
import { STALL_MS, StatusProjection, type TaskCounters, type TaskStatus } from './statusProjection.js';

function throttleOf(t: TaskOptions['throttle']): ThrottleSettings {
  const out: ThrottleSettings = {};
  if (t.full?.sourceQps) out.fullQps = t.full.sourceQps;
  if (t.full?.rps) out.fullRps = t.full.rps;
  if (t.full?.mbps) out.fullMBps = t.full.mbps;
  if (t.incremental?.rps) out.incrementalRps = t.incremental.rps;
  if (t.incremental?.mbps) out.incrementalMBps = t.incremental.mbps;
  return out;
}

/**
 * One task: its machine (lifecycle), its source and sink, the operator pipeline between them, and
 * its checkpoint. Data flows through the pipeline; the machine only learns lifecycle facts.
 * Made by `Runtime.add`, not constructed directly.
 *
 * @example
 * ```ts
 * const task = runtime.add(config);
 * task.start();
 * await task.waitFor((s) => s.phase === 'incremental', 10 * 60_000);
 * task.setThrottle({ incrementalRps: 2000 });
 * await task.stop(); // confirms and checkpoints what was acknowledged
 * ```
 */
export class TaskRunner {
  readonly id: string;
  readonly source: Source;
  readonly sink: Sink;
  /** What the source declared (its descriptor): read, never probed. */
  readonly sourceCapabilities: SourceCapabilities;
  private readonly classifySourceError: SourceDescriptor['classifyError'];
  private readonly sinkCapabilities: SinkDescriptorCapabilities;
  readonly plan: ObjectPlan;
  /** Counters, lag and progress: the status projection. */
  private readonly projection = new StatusProjection();
  private readonly actor: Actor<typeof taskMachine>;
  private readonly window: InflightWindow;
  private readonly fullThrottle = new ThrottleController();
  private readonly incrementalThrottle = new ThrottleController();
  /** `throttle.full.sourceQps`: shared by every chunk reader of this task. */
  private readonly fullQueries = new QueryRateLimiter();
  private readonly transform: OperatorFunction<ChangeEvent, ChangeEvent>;
  private readonly batch: BatchLimits;
  /** Positions, the full-sync plan and the transactional commit: the checkpoint manager. */
  private readonly checkpoints: CheckpointManager;
  private tracker: AckTracker | null = null;
  private confirmed: Position | null = null;
  private chunks = new Map<string, SnapshotChunk>();
  private readonly executor: ChunkExecutor;
  private readonly statusSubject: BehaviorSubject<TaskStatus>;
  readonly status$: Observable<TaskStatus>;

  constructor(
    readonly options: TaskOptions,
    private readonly deps: TaskDeps,
  ) {
    this.id = options.name;
    this.plan = planObjects(options);
    const selector = new ObjectSelector(this.plan.selection);
    const ctx = {
      config: options,
      plan: this.plan,
      selector,
      logger: deps.logger,
      registry: deps.registry,
      checkpoint: {
        current: () => this.checkpoints.current,
        committed: (cp: Checkpoint) => this.checkpoints.committed(cp),
      },
    };
    const sourceDescriptor = deps.registry.sourceDescriptor(options.source.type);
    this.sourceCapabilities = sourceDescriptor.capabilities;
    this.classifySourceError = sourceDescriptor.classifyError;
    this.source = deps.registry.source(options.source.type)(ctx);
    // The one configured destination section names the sink.
    const dest = Object.entries(options.destination).find(([, section]) => section !== undefined)?.[0] ?? 'kafka';
    this.sinkCapabilities = deps.registry.sinkDescriptor(dest).capabilities;
    this.sink = deps.registry.sink(dest)(ctx, this.source);
    this.executor = deps.chunkExecutor?.({ id: this.id, options, exportedSnapshot: () => this.source.exportedSnapshot?.() ?? null }) ?? localChunkExecutor;
    this.checkpoints = new CheckpointManager({ taskId: this.id, store: deps.checkpoints, sink: this.sink, logger: deps.logger });
    this.window = new InflightWindow({ maxEvents: deps.inflight?.maxEvents ?? 20_000, maxBytes: deps.inflight?.maxBytes ?? 8 * 1024 * 1024 });
    this.batch = { maxEvents: deps.batch?.maxEvents ?? 5000, maxBytes: deps.batch?.maxBytes ?? 4 * 1024 * 1024, maxWaitMs: deps.batch?.maxWaitMs ?? 10 };

    const ops: Array<OperatorFunction<ChangeEvent, ChangeEvent>> = [selectObjects(selector)];
    if (this.plan.filters.length > 0) ops.push(filterRows(this.plan.filters));
    ops.push(mapNames(new NameMapper(this.plan.mapping)));
    if (options.etl) ops.push(applyEtl(etlProgramToFunction(compileEtl(options.etl.expression))));
    if (options.etlFunction) ops.push(applyEtl(options.etlFunction));
    this.transform = (source) => ops.reduce((acc, op) => acc.pipe(op), source);

    const throttle = throttleOf(options.throttle);
    this.applyThrottle(throttle);
    const machine = taskMachine.provide({
      actors: {
        precheck: fromPromise(async () => this.precheckAndStart()),
        schemaSync: fromPromise(async () => this.syncSchema()),
        fullSync: fullSyncMachine.provide({
          actors: {
            planChunks: fromPromise(async () => this.planChunks()),
            copyChunk: fromPromise<{ rows: number }, ChunkSpec>(({ input, signal }) => this.copyChunk(input, signal)),
          },
        }),
        incrementalSync: fromObservable(() => this.incremental()),
        release: fromPromise(async () => this.releaseResources()),
      },
      actions: {
        applyThrottle: (_args, params: { throttle: ThrottleSettings }) => this.applyThrottle(params.throttle),
      },
    });
    this.actor = createActor(machine, {
      input: {
        taskId: this.id,
        syncSchema: options.syncTypes.schema,
        // A modified task copies the tables it newly covers, even when it never had a full sync.
        syncFull: options.syncTypes.full || deps.previousSelection !== undefined,
        syncIncremental: options.syncTypes.incremental,
        connectionRetryMinutes: deps.retryWindowsMs?.connection !== undefined ? deps.retryWindowsMs.connection / 60_000 : options.retry.connectionMinutes,
        otherRetryMinutes: deps.retryWindowsMs?.other !== undefined ? deps.retryWindowsMs.other / 60_000 : options.retry.otherMinutes,
        autoRestartWithinDays: options.retry.autoRestartWithinDays,
        fullSyncParallelism: this.executor.parallelism(options.fullSync.parallelism),
        throttle,
      },
      ...(deps.inspect ? { inspect: deps.inspect } : {}),
    });
    this.statusSubject = new BehaviorSubject<TaskStatus>(this.snapshotStatus(this.actor.getSnapshot()));
    this.status$ = this.statusSubject.asObservable();
    this.actor.subscribe({
      next: (snap) => {
        this.statusSubject.next(this.snapshotStatus(snap));
        // Exactly-once also on a retry: the sink's producer may be left mid-transaction, and the
        // next attempt must start from what Kafka committed (a new recover()), not from here.
        if (snap.hasTag('ended') || snap.matches('failed') || snap.matches('stopped') || snap.matches('paused') || (snap.hasTag('retrying') && this.checkpoints?.exactlyOnce)) void this.quiesce();
      },
      error: (err) => deps.logger.error('task machine error', { task: this.id, error: (err as Error).message }),
    });
    this.actor.start();
  }

  // ---- control ----------------------------------------------------------------------------

  start(): void {
    this.actor.send({ type: 'START' });
  }
  pause(): void {
    this.actor.send({ type: 'PAUSE' });
  }
  resume(): void {
    this.actor.send({ type: 'RESUME' });
  }
  ignoreAlert(itemId: string): void {
    this.actor.send({ type: 'IGNORE_ALERT', itemId });
  }
  /** This task's own connection retry window, minutes (the config's, or the runtime's override). */
  get connectionWindowMinutes(): number {
    return this.deps.retryWindowsMs?.connection !== undefined ? this.deps.retryWindowsMs.connection / 60_000 : this.options.retry.connectionMinutes;
  }
  /** The shortest window among the tasks sharing this task's source endpoint (null: not shared); the runtime sets it. */
  get sharedWindowMinutes(): number | null {
    return this.actor.getSnapshot().context.settings.sharedWindowMinutes;
  }
  setSharedWindow(minutes: number | null): void {
    this.actor.send({ type: 'SET_SHARED_WINDOW', minutes });
  }
  /** A number sets a limit, `0` or `null` lifts it, a field left out is kept. */
  setThrottle(throttle: ThrottleUpdate): void {
    this.actor.send({ type: 'SET_THROTTLE', throttle });
  }
  /** Stops the task: the pipeline ends, the acked position is confirmed and checkpointed. */
  async stop(): Promise<void> {
    this.actor.send({ type: 'STOP' });
    await this.quiesce();
  }
  /** Removes the slot, publication, helper objects and checkpoint. */
  release(): void {
    this.actor.send({ type: 'RELEASE' });
  }

  /**
   * Milliseconds the destination has acknowledged nothing while writes wait for it (0 when nothing
   * is in flight): a half-open connection or a broker that accepts and never answers shows here
   * before any error does, in full sync as in incremental sync.
   */
  stalledMs(now: number): number {
    if (this.window.inflightEvents === 0) return 0;
    return Math.max(0, now - Math.max(this.counters.lastAckAt ?? 0, this.window.busySince));
  }

  /** The in-flight window: events and bytes read and not yet acknowledged, and its limits (Infinity when unlimited). */
  get inflight(): { events: number; bytes: number; maxEvents: number; maxBytes: number } {
    return { events: this.window.inflightEvents, bytes: this.window.inflightBytes, ...this.window.limits };
  }

  /** What the destination acknowledged since the task was added. */
  get counters(): TaskCounters {
    return this.projection.counters;
  }

  /** Events and bytes acknowledged per destination table. */
  get tableCounters(): Map<string, { events: number; bytes: number }> {
    return this.projection.tableCounters;
  }

  get status(): TaskStatus {
    return this.snapshotStatus(this.actor.getSnapshot());
  }

  get machineSnapshot(): SnapshotFrom<typeof taskMachine> {
    return this.actor.getSnapshot();
  }

  /** Resolves when the machine reaches a state for which `predicate` holds. */
  waitFor(predicate: (s: TaskStatus) => boolean, timeoutMs = 60_000): Promise<TaskStatus> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error(`task ${this.id}: condition not reached within ${timeoutMs} ms (state ${this.status.state}, last error ${this.status.lastError?.message ?? 'none'})`));
      }, timeoutMs);
      const sub = this.status$.subscribe((s) => {
        if (predicate(s)) {
          clearTimeout(timer);
          queueMicrotask(() => sub.unsubscribe());
          resolve(s);
        }
      });
    });
  }

  // ---- actors -----------------------------------------------------------------------------

  private applyThrottle(t: ThrottleSettings): void {
    this.fullQueries.setRate(t.fullQps);
    this.fullThrottle.set({
      ...(t.fullRps ? { eventsPerSecond: t.fullRps } : {}),
      ...(t.fullMBps ? { bytesPerSecond: t.fullMBps * 1024 * 1024 } : {}),
    });
    this.incrementalThrottle.set({
      ...(t.incrementalRps ? { eventsPerSecond: t.incrementalRps } : {}),
      ...(t.incrementalMBps ? { bytesPerSecond: t.incrementalMBps * 1024 * 1024 } : {}),
    });
  }

  /** Runs the source's and destination's prechecks (connectivity first). Also what the machine invokes. */
  async precheck(): Promise<PrecheckItem[]> {
    // A task resuming from its checkpoint finds its own earlier output at the destination: the sink
    // is told, so it does not report it as someone else's data.
    await this.checkpoints.load().catch(() => undefined);
    const resuming = this.checkpoints.resuming;
    const [s, d] = await Promise.all([this.source.precheck(), this.sink.precheck({ resuming })]);
    // Columns the objects name, against the tables the source found (when it could connect).
    if (s.every((i) => i.group !== 'connectivity' || i.status === 'pass') && this.source.shapes) {
      const shapes = await this.source.shapes().catch(() => []);
      if (shapes.length > 0) s.push(checkObjectColumns(shapes, this.plan));
    }
    const items = [...s, ...d];
    return [...items.filter((i) => i.group === 'connectivity'), ...items.filter((i) => i.group !== 'connectivity')];
  }

  /**
   * The machine's precheck. An incremental-only task that passed every item also records its start
   * position here (creating the replication slot), so that once the task reports `incremental`
   * every later change is captured.
   */
  private async precheckAndStart(): Promise<PrecheckItem[]> {
    const items = await this.precheck();
    if (!this.options.syncTypes.full && items.every((i) => i.status === 'pass')) await this.establishStart();
    return items;
  }

  /**
   * The schema phase (`syncTypes.schema`): the destination creates the source's objects under their
   * destination names. Validation refuses the option where the source or destination has no schema.
   */
  private async syncSchema(): Promise<void> {
    await this.quiesced();
    if (!this.sinkCapabilities.createsObjects || !this.sourceCapabilities.objectDefinitions) {
      throw new FatalError('SCHEMA_SYNC_UNSUPPORTED', `Schema synchronization from ${this.source.kind} to ${this.sink.kind} is not available.`, { field: 'syncTypes.schema', fix: 'Set syncTypes.schema to false.' });
    }
    if (!this.sink.createObjects || !this.source.objectDefinitions) {
      throw new FatalError('PLUGIN_CONTRACT', `The ${this.source.kind} source or the ${this.sink.kind} sink declares schema synchronization but does not implement it.`, { fix: 'Report this: the plug-in\'s capabilities and its methods disagree.' });
    }
    const mapper = new NameMapper(this.plan.mapping);
    await this.sink.createObjects(await this.source.objectDefinitions(), (ref) => mapper.mapRef(ref));
  }

  /** Incremental only, first start: where the stream begins. */
  private async establishStart(): Promise<void> {
    await this.checkpoints.load();
    if (this.checkpoints.hasStart) return;
    const plan = await this.source.prepare({ full: false });
    await this.checkpoints.recordStreamFrom(plan.streamFrom);
  }

  private async planChunks(): Promise<ChunkSpec[]> {
    await this.quiesced();
    await this.checkpoints.load();
    const prepared = await this.source.prepare({ full: true });
    // A resumed copy runs the plan it first made: chunks recorded as copied keep their bounds.
    const plan = { chunks: await this.checkpoints.adoptPlan(prepared.streamFrom, prepared.chunks) };
    this.chunks = new Map(plan.chunks.map((c) => [c.id, c]));
    const previous = this.deps.previousSelection ? new ObjectSelector(this.deps.previousSelection) : null;
    if (previous) {
      // Tables the task already covered are up to date through the stream: only new ones are copied.
      return plan.chunks.map((c) => {
        const rows = this.checkpoints.rowsCopied(c.id);
        const done = previous.selectsTable(c.table) || rows !== undefined;
        return { id: c.id, table: qualifiedName(c.table), ...(c.estimatedRows !== undefined ? { estimatedRows: c.estimatedRows } : {}), ...(done ? { done: true, rows: rows ?? 0 } : {}) };
      });
    }
    if (this.checkpoints.fullDone) return plan.chunks.map((c) => ({ id: c.id, table: qualifiedName(c.table), done: true, rows: 0 }));
    return plan.chunks.map((c) => {
      const rows = this.checkpoints.rowsCopied(c.id);
      return { id: c.id, table: qualifiedName(c.table), ...(c.estimatedRows !== undefined ? { estimatedRows: c.estimatedRows } : {}), ...(rows !== undefined ? { done: true, rows } : {}) };
    });
  }

  /** Copies a chunk through the executor (here or elsewhere), then records it in the checkpoint. */
  private async copyChunk(spec: ChunkSpec, signal: AbortSignal): Promise<{ rows: number }> {
    const chunk = this.chunks.get(spec.id);
    if (!chunk) throw new Error(`unknown chunk ${spec.id}`);
    const done = await this.executor.copy(chunk, (s) => this.copyRows(chunk, s), signal);
    if (done.by !== undefined) this.counters.snapshotRows += done.rows;
    await this.checkpoints.chunkCopied(spec.id, done.rows);
    this.progressed();
    return { rows: done.rows };
  }

  /**
   * Copies one chunk's rows to the destination, without recording it: the task's own copy, and a
   * cluster worker's copy of a chunk for the task's owner. Resolves with the rows acknowledged;
   * never settles once `signal` aborted.
   */
  copyRows(chunk: SnapshotChunk, signal: AbortSignal): Promise<number> {
    const spec = { id: chunk.id, table: qualifiedName(chunk.table) };
    return new Promise((resolve, reject) => {
      let rows = 0;
      // Rows acknowledged so far go to the fullSync actor as CHUNK.PROGRESS, at most every 100 ms
      // per chunk; the finished chunk reports its exact count with its result.
      let reportedAt = 0;
      let report: ReturnType<typeof setTimeout> | undefined;
      const sendRows = () => {
        report = undefined;
        reportedAt = Date.now();
        this.actor.getSnapshot().children.fullSync?.send({ type: 'CHUNK.PROGRESS', chunkId: spec.id, rows });
      };
      const stopReporting = () => clearTimeout(report);
      const flow = { ...flowControlOf(this.window), beforeQuery: () => this.fullQueries.acquire() };
      const sub = writeThrough(this.source.snapshot(chunk, flow), {
        sink: this.sink,
        transform: this.transform,
        window: this.window,
        throttle: this.fullThrottle,
        batch: this.batch,
      }).subscribe({
        next: (a) => {
          rows += a.events;
          this.counted(a);
          this.counters.snapshotRows += a.events;
          report ??= setTimeout(sendRows, Math.max(0, reportedAt + 100 - Date.now()));
        },
        error: (err: unknown) => {
          stopReporting();
          reject(this.classifySourceError(err, `full sync of ${spec.table}`));
        },
        complete: () => {
          stopReporting();
          resolve(rows);
        },
      });
      signal.addEventListener(
        'abort',
        () => {
          stopReporting();
          sub.unsubscribe();
        },
        { once: true },
      );
    });
  }

  private counted(a: AckedBatch): void {
    this.projection.count(a);
  }

  /**
   * Real progress: writes acknowledged by the destination and recorded in the checkpoint (a
   * confirmed position, a copied chunk), or nothing left unacknowledged. The one thing that ends
   * a retry episode: writes that are acknowledged but cannot be checkpointed are not progress.
   */
  private progressed(): void {
    this.actor.send({ type: 'HEALTHY' });
  }

  private incremental(): Observable<unknown> {
    return defer(async () => {
      await this.quiesced();
      await this.checkpoints.load();
      await this.checkpoints.endFullSync(this.options.syncTypes.full);
      await this.establishStart();
      const from = this.source.decodePosition(this.checkpoints.streamStart());
      this.tracker = new AckTracker(1024, from);
      this.projection.lag.restart();
      this.confirmed = from;
      return from;
    }).pipe(
      concatMap((from) =>
        merge(
          writeThrough(this.source.stream(from, flowControlOf(this.window)).pipe(skipThrough(this.checkpoints.replayedThrough(from))), {
            sink: this.sink,
            transform: this.transform,
            window: this.window,
            throttle: this.incrementalThrottle,
            batch: this.batch,
            ...(this.tracker ? { tracker: this.tracker } : {}),
            lag: this.projection.lag,
          }).pipe(tap((a) => this.counted(a))),
          interval(this.deps.confirmIntervalMs ?? 1000).pipe(concatMap(() => this.confirmWatermark())),
        ),
      ),
    );
  }

  /** Confirms the contiguous acked position to the source and saves it in the checkpoint. */
  private async confirmWatermark(): Promise<void> {
    const wm = this.tracker?.watermark();
    if (!wm || (this.confirmed && wm.compare(this.confirmed) <= 0)) {
      // Idle: nothing acknowledged since the last confirm, and nothing waiting for the destination.
      if (this.tracker && !this.projection.lag.hasPending) this.progressed();
      return;
    }
    // Saved before the source is told: a position that cannot be checkpointed is not confirmed.
    await this.checkpoints.recordPosition(wm);
    await this.source.confirm(wm);
    this.deps.logger.debug('confirmed to the source', { task: this.id, position: wm.encode() });
    this.confirmed = wm;
    this.progressed();
    this.actor.send({ type: 'PROGRESS', progress: { position: this.checkpoints.position, sourceTime: this.counters.lastCommitTime, eventsApplied: this.counters.events, bytesApplied: this.counters.bytes } });
  }

  private quiescing: Promise<void> | null = null;
  /**
   * A phase that starts right after a pause or stop (RESUME, restart) waits until the previous
   * pipeline finished closing its connections, so that close cannot hit the new ones.
   */
  private async quiesced(): Promise<void> {
    while (this.quiescing) await this.quiescing;
  }
  /** After the pipeline stopped: confirm what was acked, then close connections. */
  private quiesce(): Promise<void> {
    if (this.quiescing) return this.quiescing;
    this.quiescing = (async () => {
      await this.confirmWatermark().catch((err: unknown) => this.deps.logger.warn('final confirm failed', { task: this.id, error: (err as Error).message }));
      await this.source.close().catch(() => undefined);
      await this.sink.close().catch(() => undefined);
      this.checkpoints.sinkClosed();
    })().finally(() => (this.quiescing = null));
    return this.quiescing;
  }

  private async releaseResources(): Promise<void> {
    await this.source.release();
    await this.sink.close();
    await this.checkpoints.release();
  }

  private snapshotStatus(snap: SnapshotFrom<typeof taskMachine>): TaskStatus {
    return this.projection.status(snap, { taskId: this.id, stalledMs: this.stalledMs(Date.now()), stallLimitMs: this.deps.stallMs ?? STALL_MS, position: this.checkpoints?.position ?? null });
  }
}
