/** What a task remembers across restarts. Positions are `Position.encode()` strings. */
export interface Checkpoint {
  taskId: string;
  /** Where incremental sync starts after full sync (recorded before the copy begins). */
  streamFrom?: string;
  /** The contiguous acked position of incremental sync. */
  position?: string;
  /** Full-sync chunks already copied, with their row counts. */
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
