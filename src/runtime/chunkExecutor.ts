/**
 * The seam through which a task's full-sync chunks are copied. By default every chunk is copied in
 * this process ({@link localChunkExecutor}); a cluster worker supplies one that may have another
 * worker copy a chunk (src/cluster/chunkSpread.ts). Either way the task records the chunk in its
 * checkpoint once `copy` resolves, exactly as for a chunk it copied itself.
 */
import type { TaskOptions } from '../config/schema.js';
import type { SnapshotChunk } from '../core/contracts.js';

/** What an executor knows of the task whose chunks it copies. */
export interface ChunkTask {
  readonly id: string;
  readonly options: TaskOptions;
  /** The source's shareable read view (`Source.exportedSnapshot`), null when there is none now. */
  exportedSnapshot(): string | null;
}

/** A copied chunk: its rows, and who copied it when it was not this process. */
export interface ChunkCopied {
  rows: number;
  /** The worker that copied it, when another one did. */
  by?: string;
}

export interface ChunkExecutor {
  /** Chunks the full-sync machine keeps in flight, given the config's `fullSync.parallelism`. */
  parallelism(configured: number): number;
  /**
   * Copies one chunk. `local` copies it in this process (resolving with its rows; it never settles
   * once `signal` aborted). Rejects when the chunk could not be copied.
   */
  copy(chunk: SnapshotChunk, local: (signal: AbortSignal) => Promise<number>, signal: AbortSignal): Promise<ChunkCopied>;
}

/** Makes the executor of one task (called once per task runner). */
export type ChunkExecutorFactory = (task: ChunkTask) => ChunkExecutor;

/** Every chunk copied here, `fullSync.parallelism` at a time. */
export const localChunkExecutor: ChunkExecutor = {
  parallelism: (configured) => configured,
  copy: async (_chunk, local, signal) => ({ rows: await local(signal) }),
};
