import { Subject, type Observable } from 'rxjs';
import type { InspectionEvent } from 'xstate';
import { FileCheckpointStore, KafkaCheckpointStore, type CheckpointStore } from '../checkpoints/index.js';
import { validateTaskConfig } from '../config/load.js';
import type { TaskConfigInput, TaskOptions } from '../config/schema.js';
import type { Logger } from '../core/contracts.js';
import { FatalError } from '../core/errors.js';
import type { ThrottleUpdate } from '../../machines/index.js';
import { defaultRegistry } from './defaults.js';
import type { Registry } from './registry.js';
import { TaskRunner, type TaskDeps, type TaskStatus } from './task.js';

export interface RuntimeOptions {
  registry?: Registry;
  /** Checkpoint store for every task; default: each task's `checkpoints` setting. */
  checkpoints?: CheckpointStore;
  logger?: Logger;
  /** Receives every task machine's inspection events (XState inspector protocol). */
  inspect?: (event: InspectionEvent) => void;
  batch?: TaskDeps['batch'];
  inflight?: TaskDeps['inflight'];
  confirmIntervalMs?: number;
  /** Retry windows in ms for every task, overriding the configs' minutes (for tests). */
  retryWindowsMs?: TaskDeps['retryWindowsMs'];
}

export interface Runtime {
  /** Validates the config (all problems at once) and adds the task, idle. */
  add(config: TaskConfigInput | TaskOptions, extra?: Pick<TaskOptions, 'etlFunction'>): TaskRunner;
  get(taskId: string): TaskRunner;
  list(): TaskRunner[];
  start(taskId: string): void;
  pause(taskId: string): void;
  resume(taskId: string): void;
  stop(taskId: string): Promise<void>;
  release(taskId: string): void;
  remove(taskId: string): Promise<void>;
  /** A number sets a limit, `0` or `null` lifts it (unlimited), a field left out is kept. */
  setThrottle(taskId: string, throttle: ThrottleUpdate): void;
  /**
   * Changes a task's objects, filters, columns, mapping, compression, acks or throttles: the task
   * stops (confirming and checkpointing what was acknowledged), then continues from its checkpoint
   * under the new config; tables it did not cover before get a full sync of their own first, then
   * join the stream. Source and destination endpoints cannot change.
   */
  modify(taskId: string, config: TaskConfigInput | TaskOptions): Promise<TaskRunner>;
  /** Every status change of every task. */
  readonly status$: Observable<TaskStatus>;
  /** Stops every task, confirming and checkpointing what was acknowledged. */
  shutdown(): Promise<void>;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const registry = options.registry ?? defaultRegistry();
  const logger = options.logger ?? silentLogger;
  const tasks = new Map<string, TaskRunner>();
  const status$ = new Subject<TaskStatus>();

  const get = (taskId: string): TaskRunner => {
    const t = tasks.get(taskId);
    if (!t) throw new FatalError('UNKNOWN_TASK', `No task named '${taskId}' in this runtime.`, { object: taskId, fix: `Known tasks: ${[...tasks.keys()].join(', ') || '(none)'}.` });
    return t;
  };

  const storeFor = (cfg: TaskOptions): CheckpointStore => {
    if (options.checkpoints) return options.checkpoints;
    if (cfg.checkpoints.store === 'kafka') {
      if (!cfg.destination.kafka) throw new FatalError('CHECKPOINT_STORE', 'checkpoints.store "kafka" needs a Kafka destination.', { field: 'checkpoints.store', fix: 'Use store: file.' });
      return new KafkaCheckpointStore(cfg.destination.kafka.brokers, cfg.checkpoints.topic);
    }
    return new FileCheckpointStore(cfg.checkpoints.dir);
  };

  const build = (cfg: TaskOptions, previousSelection?: TaskDeps['previousSelection']): TaskRunner => {
      const runner = new TaskRunner(cfg, {
        ...(previousSelection ? { previousSelection } : {}),
        registry,
        checkpoints: storeFor(cfg),
        logger,
        ...(options.inspect ? { inspect: options.inspect } : {}),
        ...(options.batch ? { batch: options.batch } : {}),
        ...(options.inflight ? { inflight: options.inflight } : {}),
        ...(options.confirmIntervalMs ? { confirmIntervalMs: options.confirmIntervalMs } : {}),
        ...(options.retryWindowsMs ? { retryWindowsMs: options.retryWindowsMs } : {}),
      });
      runner.status$.subscribe((s) => status$.next(s));
      tasks.set(cfg.name, runner);
      return runner;
  };

  return {
    add(config, extra) {
      const validated = validateTaskConfig(config) as TaskOptions;
      const cfg: TaskOptions = { ...validated, ...(extra?.etlFunction ? { etlFunction: extra.etlFunction } : {}) };
      if (tasks.has(cfg.name)) throw new FatalError('TASK_EXISTS', `A task named '${cfg.name}' already exists.`, { object: cfg.name, field: 'name', fix: 'Choose another name, or remove the existing task first.' });
      return build(cfg);
    },
    async modify(taskId, config) {
      const old = get(taskId);
      const cfg = { ...(validateTaskConfig(config) as TaskOptions), ...(old.options.etlFunction ? { etlFunction: old.options.etlFunction } : {}) };
      const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
      const endpoint = (o: TaskOptions) => ({ source: { ...o.source, heartbeat: undefined }, destination: o.destination.kafka ? { brokers: o.destination.kafka.brokers } : o.destination.mongodb, checkpoints: o.checkpoints });
      if (cfg.name !== taskId || !same(endpoint(cfg), endpoint(old.options))) {
        throw new FatalError('MODIFY_ENDPOINT', `Task ${taskId}: modifying may change objects, filters, mapping, format options and throttles, not the task name, source, brokers or checkpoint store.`, {
          object: taskId,
          fix: 'Create a new task for another endpoint, or release this one first.',
        });
      }
      await old.stop();
      tasks.delete(taskId);
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
      tasks.delete(id);
    },
    setThrottle: (id, t) => get(id).setThrottle(t),
    status$: status$.asObservable(),
    async shutdown() {
      await Promise.all([...tasks.values()].map((t) => t.stop()));
    },
  };
}
