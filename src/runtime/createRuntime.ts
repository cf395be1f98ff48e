import { Subject, type Observable } from 'rxjs';
import type { InspectionEvent } from 'xstate';
import { checkpointStoreFor, type CheckpointStore } from '../checkpoints/index.js';
import { validateTaskConfig } from '../config/load.js';
import type { PluginTaskConfigInput, TaskConfigInput, TaskOptions } from '../config/schema.js';
import type { Logger } from '../core/contracts.js';
import { FatalError } from '../core/errors.js';
import { watchAlerts, type Alert } from '../observe/alerts.js';
import { taskLogFields, withFields } from '../observe/logger.js';
import type { ThrottleUpdate } from '../../machines/index.js';
import { defaultRegistry } from './defaults.js';
import type { Registry } from './registry.js';
import type { ChunkExecutorFactory } from './chunkExecutor.js';
import { TaskRunner, type TaskDeps, type TaskStatus } from './task.js';

/** Options of {@link createRuntime}; every one is optional. */
export interface RuntimeOptions {
  /** Sources, sinks and formats by name. Default: {@link defaultRegistry} (everything that ships). */
  registry?: Registry;
  /** Checkpoint store for every task; default: each task's `checkpoints` setting. */
  checkpoints?: CheckpointStore;
  /** Where tasks log. Default: nothing is logged (see `createLogger` for JSON logs with secrets masked). */
  logger?: Logger;
  /** Receives every task machine's inspection events (XState inspector protocol). */
  inspect?: (event: InspectionEvent) => void;
  /** Batch limits for every task (events, bytes, wait in ms); defaults suit 200-byte rows at 100k events/s. */
  batch?: TaskDeps['batch'];
  /** Most events and bytes read but not yet acknowledged by the destination, per task. */
  inflight?: TaskDeps['inflight'];
  /** How often, in ms, the acknowledged position is confirmed to the source and checkpointed. */
  confirmIntervalMs?: number;
  /** Retry windows in ms for every task, overriding the configs' minutes (for tests). */
  retryWindowsMs?: TaskDeps['retryWindowsMs'];
  /**
   * Alerts of every task (its config's `monitoring`: latency threshold, failures, webhook), logged
   * as warnings and POSTed to the webhook. `false` turns them off; `onAlert` also receives each one.
   */
  alerts?: false | { onAlert?: (alert: Alert, taskId: string) => void; checkIntervalMs?: number };
  /** Who copies every task's full-sync chunks (default: this process; a cluster worker shares them out). */
  chunkExecutor?: ChunkExecutorFactory;
}

/**
 * The source endpoint a task reads (`host:port/database`, MongoDB: its member list), so tasks
 * sharing one share the shortest retry window among them (the seeds: "the shortest value takes effect").
 */
export function sourceEndpointKey(cfg: TaskOptions): string {
  const src = cfg.source;
  if (src.type === 'mongodb') {
    if (src.hosts) return `mongodb:${[...src.hosts].sort().join(',')}`;
    const m = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(src.uri ?? '');
    return `mongodb:${(m?.[1] ?? src.uri ?? '').split(',').sort().join(',')}`;
  }
  if (src.type === 'postgres' && src.uri !== undefined) {
    try {
      const u = new URL(src.uri);
      return `postgres:${u.hostname}:${u.port || '5432'}/${src.database}`;
    } catch {
      return `postgres:${src.uri}`;
    }
  }
  return `${src.type}:${src.host ?? '127.0.0.1'}:${src.port}/${src.database}`;
}

/**
 * A set of tasks in this process, by name, made by {@link createRuntime}. The methods taking a
 * `taskId` throw a `FatalError` with code `UNKNOWN_TASK` for a name the runtime does not hold.
 *
 * @example
 * ```ts
 * const task = runtime.add(await loadTaskConfig('task.yaml'));
 * task.start();
 * runtime.status$.subscribe((s) => console.log(s.taskId, s.state));
 * runtime.setThrottle(task.id, { incrementalRps: 5000 });
 * await runtime.shutdown();
 * ```
 */
export interface Runtime {
  /**
   * Validates the config (all problems at once, as a `ConfigError` with every issue) and adds the
   * task, idle: nothing connects until `start`. Throws `TASK_EXISTS` for a name already held.
   * `extra.etlFunction` is an ETL step in TypeScript, run on every event after filters and mapping.
   */
  add(config: TaskConfigInput | TaskOptions | PluginTaskConfigInput, extra?: Pick<TaskOptions, 'etlFunction'>): TaskRunner;
  /** The task of that name. */
  get(taskId: string): TaskRunner;
  /** Every task. */
  list(): TaskRunner[];
  /** Starts a task: prechecks, then schema, full and incremental sync as its config asks. */
  start(taskId: string): void;
  /** Pauses a task; `resume` continues it in the phase it was in. */
  pause(taskId: string): void;
  /** Continues a paused task. */
  resume(taskId: string): void;
  /** Stops a task, confirming and checkpointing what was acknowledged; a later `start` continues from there. */
  stop(taskId: string): Promise<void>;
  /** Releases a task's source objects (slot, publication, helper objects) and its checkpoint. */
  release(taskId: string): void;
  /** Stops a task and forgets it (its slot and checkpoint stay; `release` first to drop them). */
  remove(taskId: string): Promise<void>;
  /** A number sets a limit, `0` or `null` lifts it (unlimited), a field left out is kept. */
  setThrottle(taskId: string, throttle: ThrottleUpdate): void;
  /**
   * Changes a task's objects, filters, columns, mapping, compression, acks or throttles: the task
   * stops (confirming and checkpointing what was acknowledged), then continues from its checkpoint
   * under the new config; tables it did not cover before get a full sync of their own first, then
   * join the stream. Source and destination endpoints cannot change.
   */
  modify(taskId: string, config: TaskConfigInput | TaskOptions | PluginTaskConfigInput): Promise<TaskRunner>;
  /** Every status change of every task. */
  readonly status$: Observable<TaskStatus>;
  /**
   * Every task machine's inspection events (XState inspector protocol) with the task's name, for
   * any number of listeners (the state-chart page subscribes here); `options.inspect` gets them too.
   */
  readonly inspection$: Observable<TaskInspectionEvent>;
  /** Stops every task, confirming and checkpointing what was acknowledged. */
  shutdown(): Promise<void>;
}

/** An inspection event of a task machine (or of an actor it invoked), with the task's name. */
export interface TaskInspectionEvent {
  taskId: string;
  event: InspectionEvent;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Makes a {@link Runtime}: the tasks of this process. Nothing connects until a task starts.
 * Sources, sinks and formats come from `options.registry` (default: {@link defaultRegistry}, what
 * ships); each task keeps its checkpoints as its config says (`checkpoints`: a file per task by
 * default) unless `options.checkpoints` gives one store for all.
 *
 * @example
 * ```ts
 * import { createRuntime, createLogger } from 'tributary';
 *
 * const runtime = createRuntime({ logger: createLogger({ level: 'info' }) });
 * const task = runtime.add({
 *   name: 'orders',
 *   source: { type: 'postgres', host: 'db', port: 5432, user: 'repl', password: process.env.PGPASSWORD, database: 'shop' },
 *   destination: { kafka: { brokers: ['kafka:9092'], topic: 'shop', format: 'canal-json' } },
 *   objects: [{ schema: 'public', table: 'orders' }],
 * });
 * task.status$.subscribe((s) => console.log(s.state, s.latencyMs));
 * task.start();
 * process.once('SIGTERM', () => void runtime.shutdown()); // confirms and checkpoints what was acknowledged
 * ```
 */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const registry = options.registry ?? defaultRegistry();
  const logger = options.logger ?? silentLogger;
  const tasks = new Map<string, TaskRunner>();
  const alertWatches = new Map<string, { stop(): void }>();

  /** Every task gets the shortest connection window among the tasks sharing its source endpoint (null alone). */
  const shareWindows = () => {
    const groups = new Map<string, TaskRunner[]>();
    for (const t of tasks.values()) {
      const k = sourceEndpointKey(t.options);
      groups.set(k, [...(groups.get(k) ?? []), t]);
    }
    for (const group of groups.values()) {
      const shared = group.length > 1 ? Math.min(...group.map((t) => t.connectionWindowMinutes)) : null;
      for (const t of group) if (t.sharedWindowMinutes !== shared) t.setSharedWindow(shared);
    }
  };
  const forget = (id: string) => {
    alertWatches.get(id)?.stop();
    alertWatches.delete(id);
    tasks.delete(id);
    shareWindows();
  };
  const status$ = new Subject<TaskStatus>();
  const inspection$ = new Subject<TaskInspectionEvent>();

  const get = (taskId: string): TaskRunner => {
    const t = tasks.get(taskId);
    if (!t) throw new FatalError('UNKNOWN_TASK', `No task named '${taskId}' in this runtime.`, { object: taskId, fix: `Known tasks: ${[...tasks.keys()].join(', ') || '(none)'}.` });
    return t;
  };

  const storeFor = (cfg: TaskOptions): CheckpointStore => {
    if (options.checkpoints) return options.checkpoints;
    return checkpointStoreFor(cfg);
  };

  const build = (cfg: TaskOptions, previousSelection?: TaskDeps['previousSelection']): TaskRunner => {
      // Every line a task logs carries its name, environment and labels.
      const taskLogger = withFields(logger, taskLogFields(cfg));
      const runner = new TaskRunner(cfg, {
        ...(previousSelection ? { previousSelection } : {}),
        registry,
        checkpoints: storeFor(cfg),
        logger: taskLogger,
        inspect: (event: InspectionEvent) => {
          options.inspect?.(event);
          if (inspection$.observed) inspection$.next({ taskId: cfg.name, event });
        },
        ...(options.batch ? { batch: options.batch } : {}),
        ...(options.inflight ? { inflight: options.inflight } : {}),
        ...(options.confirmIntervalMs ? { confirmIntervalMs: options.confirmIntervalMs } : {}),
        ...(options.retryWindowsMs ? { retryWindowsMs: options.retryWindowsMs } : {}),
        ...(options.chunkExecutor ? { chunkExecutor: options.chunkExecutor } : {}),
      });
      runner.status$.subscribe((s) => status$.next(s));
      tasks.set(cfg.name, runner);
      if (options.alerts !== false) {
        const onAlert = options.alerts?.onAlert;
        alertWatches.set(
          cfg.name,
          watchAlerts(runner, {
            ...cfg.monitoring,
            logger: taskLogger,
            ...(onAlert ? { onAlert: (a: Alert) => onAlert(a, cfg.name) } : {}),
            ...(options.alerts?.checkIntervalMs !== undefined ? { checkIntervalMs: options.alerts.checkIntervalMs } : {}),
          }),
        );
      }
      shareWindows();
      return runner;
  };

  return {
    add(config, extra) {
      const validated = validateTaskConfig(config, { schema: registry.taskSchemas().task }) as TaskOptions;
      const cfg: TaskOptions = { ...validated, ...(extra?.etlFunction ? { etlFunction: extra.etlFunction } : {}) };
      if (tasks.has(cfg.name)) throw new FatalError('TASK_EXISTS', `A task named '${cfg.name}' already exists.`, { object: cfg.name, field: 'name', fix: 'Choose another name, or remove the existing task first.' });
      return build(cfg);
    },
    async modify(taskId, config) {
      const old = get(taskId);
      const cfg = { ...(validateTaskConfig(config, { schema: registry.taskSchemas().task }) as TaskOptions), ...(old.options.etlFunction ? { etlFunction: old.options.etlFunction } : {}) };
      const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
      const endpoint = (o: TaskOptions) => ({ source: { ...o.source, heartbeat: undefined }, destination: o.destination.kafka ? { brokers: o.destination.kafka.brokers } : o.destination.mongodb, checkpoints: o.checkpoints });
      if (cfg.name !== taskId || !same(endpoint(cfg), endpoint(old.options))) {
        throw new FatalError('MODIFY_ENDPOINT', `Task ${taskId}: modifying may change objects, filters, mapping, format options and throttles, not the task name, source, brokers or checkpoint store.`, {
          object: taskId,
          fix: 'Create a new task for another endpoint, or release this one first.',
        });
      }
      await old.stop();
      forget(taskId);
      const runner = build(cfg, old.plan.selection);
      runner.start();
      return runner;
    },
    get,
    list: () => [...tasks.values()],
    start: (id) => get(id).start(),
    pause: (id) => get(id).pause(),
    resume: (id) => get(id).resume(),
    stop: (id) => get(id).stop(),
    release: (id) => get(id).release(),
    async remove(id) {
      await get(id).stop();
      forget(id);
    },
    setThrottle: (id, t) => get(id).setThrottle(t),
    status$: status$.asObservable(),
    inspection$: inspection$.asObservable(),
    async shutdown() {
      await Promise.all([...tasks.values()].map((t) => t.stop()));
      for (const w of alertWatches.values()) w.stop();
      alertWatches.clear();
    },
  };
}
