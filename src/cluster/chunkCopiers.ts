/**
 * The task runners a helping worker copies other workers' chunks with: one per task, built from the
 * task's config as the configs topic holds it, never started and never recording anything (the
 * owner records the chunks). Closed after `idleMs` without a copy.
 *
 * Exactly-once tasks: the owner's transactional id is the owner's alone (taking it would fence the
 * owner), so a helper writes a chunk's rows with an idempotent, non-transactional producer. Full-sync
 * rows are at least once anyway: a chunk copied again (its helper died) is written again.
 */
import type { CheckpointStore } from '../checkpoints/store.js';
import type { TaskOptions } from '../config/schema.js';
import type { Logger } from '../core/contracts.js';
import { FatalError } from '../core/errors.js';
import type { Registry } from '../runtime/registry.js';
import { TaskRunner } from '../runtime/task.js';
import type { ChunkCopier } from './chunkHelper.js';

interface Pooled {
  runner: TaskRunner;
  config: string;
  users: number;
  idle: NodeJS.Timeout | null;
}

/** A helper's runner never records: a save reaching this store is a bug, refused loudly. */
const noCheckpoints: CheckpointStore = {
  load: async () => null,
  save: async (cp) => {
    throw new FatalError('CLUSTER_HELPER_CHECKPOINT', `A worker copying chunks of task ${cp.taskId} for its owner tried to write the task's checkpoint.`, { object: cp.taskId, fix: 'Report this: only the owner records chunks.' });
  },
  delete: async (taskId) => {
    throw new FatalError('CLUSTER_HELPER_CHECKPOINT', `A worker copying chunks of task ${taskId} for its owner tried to delete the task's checkpoint.`, { object: taskId });
  },
};

/** The task's config as a helper writes with it: no transactional id. */
export function helperConfig(cfg: TaskOptions): TaskOptions {
  const k = cfg.destination.kafka;
  return k?.exactlyOnce ? ({ ...cfg, destination: { ...cfg.destination, kafka: { ...k, exactlyOnce: false } } } as TaskOptions) : cfg;
}

export class ChunkCopiers {
  private readonly pool = new Map<string, Pooled>();

  constructor(
    private readonly deps: {
      /** The task's config as the cluster runs it, null when the task is unknown here. */
      configOf(task: string): TaskOptions | null;
      registry: Registry;
      logger: Logger;
      idleMs?: number;
    },
  ) {}

  copier(task: string): ChunkCopier | null {
    const cfg = this.deps.configOf(task);
    if (!cfg) return null;
    const json = JSON.stringify(cfg);
    let p = this.pool.get(task);
    if (p && p.config !== json && p.users === 0) {
      this.close(task, p);
      p = undefined;
    }
    if (!p) {
      p = { runner: new TaskRunner(helperConfig(cfg), { registry: this.deps.registry, checkpoints: noCheckpoints, logger: this.deps.logger }), config: json, users: 0, idle: null };
      this.pool.set(task, p);
    }
    const pooled = p;
    pooled.users += 1;
    if (pooled.idle) clearTimeout(pooled.idle);
    pooled.idle = null;
    let released = false;
    return {
      copyRows: (chunk, signal) => pooled.runner.copyRows(chunk, signal),
      release: () => {
        if (released) return;
        released = true;
        pooled.users -= 1;
        if (pooled.users === 0) pooled.idle = setTimeout(() => this.close(task, pooled), this.deps.idleMs ?? 10_000);
      },
    };
  }

  /** Closes every runner (the worker stops). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.pool].map(([task, p]) => this.close(task, p)));
  }

  private async close(task: string, p: Pooled): Promise<void> {
    if (p.idle) clearTimeout(p.idle);
    if (this.pool.get(task) === p) this.pool.delete(task);
    await p.runner.source.close().catch(() => undefined);
    await p.runner.sink.close().catch(() => undefined);
  }
}
