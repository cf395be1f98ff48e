import type { Checkpoint, CheckpointStore } from '../../../src/checkpoints/index.js';

/** Checkpoints in memory, for runtime tests that touch no disk. */
export class MemoryStore implements CheckpointStore {
  readonly saved = new Map<string, Checkpoint>();
  load(taskId: string): Promise<Checkpoint | null> {
    const c = this.saved.get(taskId);
    return Promise.resolve(c ? structuredClone(c) : null);
  }
  save(checkpoint: Checkpoint): Promise<void> {
    this.saved.set(checkpoint.taskId, structuredClone(checkpoint));
    return Promise.resolve();
  }
  delete(taskId: string): Promise<void> {
    this.saved.delete(taskId);
    return Promise.resolve();
  }
}
