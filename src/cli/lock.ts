import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TaskConfig } from '../config/schema.js';
import { TributaryError } from '../core/errors.js';

/**
 * Who holds a task: the `tributary run` (or `offsets --set`) process that may write its checkpoint.
 * The lock is a small JSON file created atomically (a hard link of a complete file, so a reader never
 * sees half of it) beside the file checkpoint, `<dir>/<task>.lock`; for a Kafka checkpoint store,
 * in the machine's temporary directory, named after the brokers, topic and task. A holder that died
 * without removing it (SIGKILL, power loss) is recognised on the same host: its process id is gone,
 * or now belongs to a process that started at another time.
 */
export interface LockHolder {
  pid: number;
  host: string;
  /** The process's start time as the kernel reports it (Linux), to tell a reused pid apart. */
  procStart?: string;
  command: string;
  startedAt: string;
  /** The management API of the holder, when it serves one. */
  url?: string;
}

export interface TaskLock {
  readonly path: string;
  /** Records the holder's management API in the lock. */
  setUrl(url: string): Promise<void>;
  /** Removes the lock if it is still ours. */
  release(): Promise<void>;
}

export function lockPath(cfg: TaskConfig): string {
  const name = `${encodeURIComponent(cfg.name)}.lock`;
  if (cfg.checkpoints.store === 'file') return join(cfg.checkpoints.dir, name);
  const where = createHash('sha256')
    .update(`${[...(cfg.destination.kafka?.brokers ?? [])].sort().join(',')}/${cfg.checkpoints.topic}`)
    .digest('hex')
    .slice(0, 12);
  return join(tmpdir(), 'tributary-locks', `kafka-${where}-${name}`);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined off Linux. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** False only when the holder is known to be gone. */
export function holderAlive(h: LockHolder): boolean {
  if (h.host !== hostname()) return true;
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = processStart(h.pid);
  return h.procStart === undefined || now === undefined || now === h.procStart;
}

async function readHolder(path: string): Promise<LockHolder | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') return h as LockHolder;
  } catch {
    // Not ours or damaged: nobody can be holding the task through it.
  }
  return { pid: -1, host: hostname(), command: 'unreadable lock', startedAt: '' };
}

/** The live holder of the task's lock, if any. */
export async function lockHolder(cfg: TaskConfig): Promise<LockHolder | null> {
  const h = await readHolder(lockPath(cfg));
  return h && h.pid > 0 && holderAlive(h) ? h : null;
}

export function describeHolder(h: LockHolder): string {
  return `${h.command} (pid ${h.pid} on ${h.host}, since ${h.startedAt}${h.url ? `, API ${h.url}` : ''})`;
}

function heldError(cfg: TaskConfig, h: LockHolder, path: string): TributaryError {
  return new TributaryError('TASK_RUNNING', 'other', `Task ${cfg.name} is running: ${describeHolder(h)} holds ${path}.`, {
    object: cfg.name,
    fix: `Stop that process first (Ctrl-C or SIGTERM). If it no longer exists, delete ${path}.`,
  });
}

/** Takes the task's lock for this process, or throws TASK_RUNNING naming the live holder. */
export async function acquireTaskLock(cfg: TaskConfig, command: string): Promise<TaskLock> {
  const path = lockPath(cfg);
  const self: LockHolder = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
  const start = processStart(process.pid);
  if (start !== undefined) self.procStart = start;
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const write = async (h: LockHolder) => {
    await writeFile(tmp, JSON.stringify(h));
    return tmp;
  };
  const mine = async () => (await readHolder(path))?.pid === process.pid;
  const lock: TaskLock = {
    path,
    async setUrl(url) {
      self.url = url;
      if (await mine()) await rename(await write(self), path);
    },
    async release() {
      if (await mine()) await rm(path, { force: true });
    },
  };
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(await write(self), path);
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = await readHolder(path);
      if (held && held.pid > 0 && holderAlive(held)) throw heldError(cfg, held, path);
      // A stale lock: move it aside, then make sure what was moved is the stale one and not the lock
      // of a process that replaced it in the meantime.
      const aside = `${path}.${process.pid}.stale`;
      try {
        await rename(path, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const moved = await readHolder(aside);
      if (moved && moved.pid > 0 && holderAlive(moved)) {
        await link(aside, path).catch(() => undefined);
        await rm(aside, { force: true });
        throw heldError(cfg, moved, path);
      }
      await rm(aside, { force: true });
    }
    const h = await readHolder(path);
    throw h ? heldError(cfg, h, path) : new TributaryError('TASK_LOCK', 'other', `Could not take ${path}.`, { object: cfg.name });
  } finally {
    await rm(tmp, { force: true });
  }
}
