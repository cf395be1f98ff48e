import type { SnapshotChunk } from '../core/contracts.js';

/** What a task remembers across restarts. Positions are `Position.encode()` strings. */
export interface Checkpoint {
  taskId: string;
  /** Where incremental sync starts after full sync (recorded before the copy begins). */
  streamFrom?: string;
  /** The contiguous acked position of incremental sync. */
  position?: string;
  /**
   * The full-sync plan as first made (chunks with their bounds), kept until full sync finished: a
   * copy resumed after a crash covers exactly what the first plan covered, whatever the table
   * statistics or the data say now.
   */
  plan?: SnapshotChunk[];
  /** Full-sync chunks already copied (by chunk id of `plan`), with their row counts. */
  chunksDone: Record<string, number>;
  /** True once full sync finished. */
  fullDone?: boolean;
  updatedAt: number;
}

/**
 * Where tasks keep their {@link Checkpoint}, one per task id. Shipped: `FileCheckpointStore`
 * (a JSON file per task, the default) and `KafkaCheckpointStore` (a compacted topic); pass
 * another to `createRuntime({ checkpoints })`. `save` must be durable when it resolves.
 *
 * @example
 * ```ts
 * const memory = new Map<string, Checkpoint>();
 * const checkpoints: CheckpointStore = {
 *   load: async (taskId) => memory.get(taskId) ?? null,
 *   save: async (cp) => void memory.set(cp.taskId, structuredClone(cp)),
 *   delete: async (taskId) => void memory.delete(taskId),
 * };
 * const runtime = createRuntime({ checkpoints });
 * ```
 */
export interface CheckpointStore {
  load(taskId: string): Promise<Checkpoint | null>;
  save(checkpoint: Checkpoint): Promise<void>;
  delete(taskId: string): Promise<void>;
  close?(): Promise<void>;
}

export function emptyCheckpoint(taskId: string): Checkpoint {
  return { taskId, chunksDone: {}, updatedAt: Date.now() };
}
