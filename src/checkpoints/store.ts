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

export interface CheckpointStore {
  load(taskId: string): Promise<Checkpoint | null>;
  save(checkpoint: Checkpoint): Promise<void>;
  delete(taskId: string): Promise<void>;
  close?(): Promise<void>;
}

export function emptyCheckpoint(taskId: string): Checkpoint {
  return { taskId, chunksDone: {}, updatedAt: Date.now() };
}
