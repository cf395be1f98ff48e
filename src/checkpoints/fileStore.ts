import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FatalError, TransientError } from '../core/errors.js';
import type { Checkpoint, CheckpointStore } from './store.js';

/** What to do about a failed checkpoint write, by errno. */
const WRITE_FIXES: Record<string, string> = {
  EROFS: 'The file system is read-only: remount it read-write, or point checkpoints.dir at a writable directory.',
  EACCES: "Give the runtime's user write permission on the directory, or point checkpoints.dir elsewhere.",
  EPERM: "Give the runtime's user write permission on the directory, or point checkpoints.dir elsewhere.",
  ENOSPC: 'The disk is full: free space on it, or point checkpoints.dir at another disk.',
  EDQUOT: 'The disk quota is exhausted: free space, or point checkpoints.dir at another disk.',
  ENOTDIR: 'A file stands where a directory of checkpoints.dir should be: move it away, or point checkpoints.dir elsewhere.',
  EEXIST: 'A file stands where the checkpoint directory should be: move it away, or point checkpoints.dir elsewhere.',
  EISDIR: 'A directory stands where the checkpoint file should be: move it away.',
};

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
    const file = this.path(taskId);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT') return null;
      throw new TransientError('CHECKPOINT_READ_FAILED', `Cannot read the checkpoint of task ${taskId} from ${file}: ${code} (${(err as Error).message}).`, {
        object: file,
        field: 'checkpoints.dir',
        cause: err,
        fix: WRITE_FIXES[code] ?? `Check that ${file} is readable by the runtime's user.`,
      });
    }
    try {
      return JSON.parse(text) as Checkpoint;
    } catch (err) {
      throw new FatalError('CHECKPOINT_CORRUPT', `The checkpoint of task ${taskId} in ${file} is not valid JSON (${text.length} bytes): ${(err as Error).message}.`, {
        object: file,
        field: 'checkpoints.dir',
        cause: err,
        fix: `Restore ${file} from a backup, or set the position by hand with \`tributary offsets --set\`; removing it restarts the task from scratch.`,
      });
    }
  }

  save(checkpoint: Checkpoint): Promise<void> {
    const text = JSON.stringify(checkpoint);
    const run = this.queue.then(() =>
      this.write(checkpoint.taskId, text).catch((err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
        throw new TransientError('CHECKPOINT_WRITE_FAILED', `Cannot write the checkpoint of task ${checkpoint.taskId} to ${this.path(checkpoint.taskId)}: ${code} (${(err as Error).message}). Positions are not confirmed to the source until it can be written.`, {
          object: this.path(checkpoint.taskId),
          field: 'checkpoints.dir',
          cause: err,
          fix: WRITE_FIXES[code] ?? `Check that ${this.dir} exists and is writable by the runtime's user.`,
        });
      }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(taskId: string, text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.path(taskId);
    const tmp = `${target}.${process.pid}.${++this.seq}.tmp`;
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
    } catch (err) {
      // Never leave a torn or empty temporary file behind.
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
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
