import { asyncScheduler, BehaviorSubject, isObservable, Observable, of, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

/** Rate limits; undefined or 0 means unlimited. */
export interface ThrottleLimits {
  eventsPerSecond?: number;
  bytesPerSecond?: number;
}

const EPSILON = 1e-9;

/** A token bucket measured in scheduler milliseconds. Rate 0 is unlimited. */
class TokenBucket {
  private rate = 0;
  private capacity = 0;
  private tokens = 0;
  private last = 0;

  setRate(rate: number | undefined, now: number, burstMs: number): void {
    this.refill(now);
    const r = rate !== undefined && rate > 0 && Number.isFinite(rate) ? rate : 0;
    const wasUnlimited = this.rate === 0;
    this.rate = r;
    this.capacity = Math.max(1, (r * burstMs) / 1000);
    this.tokens = wasUnlimited ? this.capacity : Math.min(this.tokens, this.capacity);
    this.last = now;
  }

  refill(now: number): void {
    if (this.rate > 0 && now > this.last) this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }

  /** Milliseconds until `cost` can be taken (0: now). A cost above the bucket size waits for a full bucket. */
  wait(cost: number): number {
    if (this.rate === 0) return 0;
    const need = Math.min(cost, this.capacity);
    const missing = need - this.tokens;
    return missing <= EPSILON ? 0 : (missing * 1000) / this.rate;
  }

  take(cost: number): void {
    if (this.rate > 0) this.tokens -= cost;
  }

  get unlimited(): boolean {
    return this.rate === 0;
  }
}

/**
 * Holds the current limits of a running throttle; `set()` changes them while it runs. Every
 * pipeline throttled by one controller draws from the same buckets: the limit is for all of them
 * together (a task's full sync runs several chunk readers at once under one rows/s limit).
 */
export class ThrottleController {
  private readonly subject: BehaviorSubject<ThrottleLimits>;
  /** Shared by every `throttleRate` that uses this controller. */
  readonly buckets = { events: new TokenBucket(), bytes: new TokenBucket() };
  readonly changes$: Observable<ThrottleLimits>;

  constructor(initial: ThrottleLimits = {}) {
    this.subject = new BehaviorSubject<ThrottleLimits>(initial);
    this.changes$ = this.subject.asObservable();
  }

  get limits(): ThrottleLimits {
    return this.subject.getValue();
  }

  /** Replaces the limits; pending events are rescheduled at the new rate. */
  set(limits: ThrottleLimits): void {
    this.subject.next(limits);
  }
}

export interface ThrottleOptions {
  /** Defaults to asyncScheduler. */
  scheduler?: SchedulerLike;
  /** Bucket size as time at the configured rate (at least one event / one event's bytes). Default 100 ms. */
  burstMs?: number;
}

/**
 * Delays events so that at most `eventsPerSecond` events and `bytesPerSecond` bytes (each event's
 * `bytes`) pass per second. Never drops and keeps order. Limits come as a fixed value, an
 * Observable, or a ThrottleController, and may change while running. Queued events are bounded by
 * the in-flight window upstream (the reader pauses), not here. Errors pass through at once;
 * completion waits for the queue to drain.
 */
export function throttleRate<T extends { bytes: number }>(
  limits: ThrottleLimits | Observable<ThrottleLimits> | ThrottleController,
  options: ThrottleOptions = {},
): MonoTypeOperatorFunction<T> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const burstMs = options.burstMs ?? 100;
  const limits$ = limits instanceof ThrottleController ? limits.changes$ : isObservable(limits) ? limits : of(limits);

  return (source) =>
    new Observable<T>((subscriber) => {
      // A controller's buckets are shared by every pipeline it throttles; fixed limits get their own.
      const shared = limits instanceof ThrottleController ? limits.buckets : null;
      const events = shared?.events ?? new TokenBucket();
      const bytes = shared?.bytes ?? new TokenBucket();
      let queue: (T | undefined)[] = [];
      let head = 0;
      let timer: Subscription | null = null;
      let draining = false;
      let sourceDone = false;
      /** Both limits off: events pass straight through while nothing is queued. */
      let unlimited = false;

      const drain = (): void => {
        timer = null;
        draining = true;
        const now = scheduler.now();
        events.refill(now);
        bytes.refill(now);
        while (head < queue.length) {
          const item = queue[head] as T;
          const wait = Math.max(events.wait(1), bytes.wait(item.bytes));
          if (wait > 0) {
            draining = false;
            timer = scheduler.schedule(drain, Math.max(1, Math.ceil(wait - 1e-6)));
            return;
          }
          events.take(1);
          bytes.take(item.bytes);
          queue[head++] = undefined;
          subscriber.next(item);
          if (subscriber.closed) return;
        }
        queue = [];
        head = 0;
        draining = false;
        if (sourceDone) subscriber.complete();
      };

      const limitsSub = limits$.subscribe({
        next(l) {
          const now = scheduler.now();
          events.setRate(l.eventsPerSecond, now, burstMs);
          bytes.setRate(l.bytesPerSecond, now, burstMs);
          unlimited = events.unlimited && bytes.unlimited;
          if (timer !== null) {
            timer.unsubscribe();
            timer = null;
          }
          if (!draining && head < queue.length) drain();
        },
        error: (err: unknown) => subscriber.error(err),
      });

      const sourceSub = source.subscribe({
        next(item) {
          if (unlimited && head === queue.length && timer === null && !draining) {
            subscriber.next(item);
            return;
          }
          if (head === queue.length && timer === null && !draining) {
            const now = scheduler.now();
            events.refill(now);
            bytes.refill(now);
            if (events.wait(1) === 0 && bytes.wait(item.bytes) === 0) {
              events.take(1);
              bytes.take(item.bytes);
              subscriber.next(item);
              return;
            }
          }
          queue.push(item);
          if (timer === null && !draining) drain();
        },
        error: (err: unknown) => subscriber.error(err),
        complete() {
          sourceDone = true;
          if (head === queue.length && !draining) subscriber.complete();
        },
      });

      return () => {
        timer?.unsubscribe();
        limitsSub.unsubscribe();
        sourceSub.unsubscribe();
      };
    });
}
