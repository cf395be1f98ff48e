import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint, CheckpointStore } from './store.js';

/**
 * The embedded default: one JSON file per task, replaced atomically (write a temporary file,
 * fsync it, rename over the old one, fsync the directory), so a crash leaves either the old or
 * the new checkpoint, never a torn one.
 */
export class FileCheckpointStore implements CheckpointStore {
  /** Saves run one after another, so the last save issued is the one that stays. */
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;

  constructor(readonly dir: string) {}

  private path(taskId: string): string {
    return join(this.dir, `${encodeURIComponent(taskId)}.json`);
  }

  async load(taskId: string): Promise<Checkpoint | null> {
    try {
      return JSON.parse(await readFile(this.path(taskId), 'utf8')) as Checkpoint;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  save(checkpoint: Checkpoint): Promise<void> {
    const text = JSON.stringify(checkpoint);
    const run = this.queue.then(() => this.write(checkpoint.taskId, text));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(taskId: string, text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.path(taskId);
    const tmp = `${target}.${process.pid}.${++this.seq}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  async delete(taskId: string): Promise<void> {
    await rm(this.path(taskId), { force: true });
  }
}
