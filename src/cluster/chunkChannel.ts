/**
 * What the full-sync spreading modules (chunkSpread.ts on a task's owner, chunkHelper.ts on the
 * other workers) share: the chunk board fed from the chunks topic, a way to write to that topic,
 * the group's membership; and two small waiting tools.
 */
import type { Logger } from '../core/contracts.js';
import type { ChunkBoard, ChunkRecord } from './chunkOffers.js';

export interface ChunkChannel {
  readonly workerId: string;
  readonly board: ChunkBoard;
  /** Writes records to the chunks topic (acks=all), in order. */
  publish(records: readonly ChunkRecord[]): Promise<void>;
  /** Deletes records from the chunks topic (tombstones). */
  remove(keys: readonly string[]): Promise<void>;
  /** True while `workerId` is a member of the group (by the latest assignment). */
  member(workerId: string): boolean;
  /** Workers in the group by the latest assignment. */
  workers(): number;
  readonly logger: Logger;
}

/** Raised when a wait is aborted. */
export class Aborted extends Error {
  constructor() {
    super('aborted');
  }
}

/**
 * Resolves with `check()`'s first defined value, checked now, after every board change and every
 * `pollMs` (deadlines); rejects with {@link Aborted} when `signal` aborts.
 */
export function until<T>(board: ChunkBoard, check: () => T | undefined, signal: AbortSignal, pollMs = 250): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new Aborted());
    const test = () => {
      const v = check();
      if (v === undefined) return;
      done();
      resolve(v);
    };
    const stop = board.onChange(test);
    const timer = setInterval(test, pollMs);
    const onAbort = () => {
      done();
      reject(new Aborted());
    };
    const done = () => {
      stop();
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    test();
  });
}

/** A taken slot; `release` is idempotent. */
export interface Slot {
  release(): void;
}

/** At most `size` holders at a time; waiters are served in order. */
export class Slots {
  private used = 0;
  private readonly waiting: Array<(s: Slot) => void> = [];
  constructor(private readonly size: number) {}

  /** A slot now, or null when all are taken. */
  tryTake(): Slot | null {
    if (this.used >= this.size) return null;
    this.used += 1;
    return this.slot();
  }

  /** A slot when one frees; rejects with {@link Aborted} when `signal` aborts first (nothing taken). */
  take(signal: AbortSignal): Promise<Slot> {
    const now = this.tryTake();
    if (now) return Promise.resolve(now);
    return new Promise<Slot>((resolve, reject) => {
      if (signal.aborted) return reject(new Aborted());
      const waiter = (s: Slot) => {
        signal.removeEventListener('abort', onAbort);
        resolve(s);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new Aborted());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private slot(): Slot {
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        const next = this.waiting.shift();
        if (next) next(this.slot());
        else this.used -= 1;
      },
    };
  }
}

/** `work`, or a rejection with {@link Aborted} as soon as `signal` aborts (work that never settles then is left behind). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
