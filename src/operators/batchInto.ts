import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

export interface BatchLimits {
  /** Flush when the batch holds this many items. */
  maxEvents?: number;
  /** Flush before an item would take the batch above this many bytes (an item larger than this travels alone). */
  maxBytes?: number;
  /** Flush this long after the first item of the batch arrived. */
  maxWaitMs?: number;
  /** Defaults to asyncScheduler. */
  scheduler?: SchedulerLike;
}

/** How `batchInto` fills a batch: a new one at a batch's first item, each item added to it. */
export interface BatchFiller<T, B> {
  open(): B;
  add(batch: B, item: T): void;
}

/** A batch as `batchInto` emits it: what the filler made, with its item count and total bytes. */
export interface FilledBatch<B> {
  batch: B;
  count: number;
  bytes: number;
}

/**
 * Groups items by count, bytes and time since the batch's first item, handing each item to the
 * batch being filled as it arrives (`filler.add`) instead of holding it until the batch is full.
 * Keeps order, never emits an empty batch, flushes the tail when the source completes. On error
 * the partial batch is dropped (it was never acked, so it is read again after the restart).
 */
export function batchInto<T extends { bytes: number }, B>(filler: BatchFiller<T, B>, limits: BatchLimits): OperatorFunction<T, FilledBatch<B>> {
  const maxEvents = limits.maxEvents !== undefined && limits.maxEvents > 0 ? limits.maxEvents : Infinity;
  const maxBytes = limits.maxBytes !== undefined && limits.maxBytes > 0 ? limits.maxBytes : Infinity;
  const maxWaitMs = limits.maxWaitMs;
  const scheduler = limits.scheduler ?? asyncScheduler;
  if (maxEvents === Infinity && maxBytes === Infinity && maxWaitMs === undefined) {
    throw new RangeError('batching needs at least one of maxEvents, maxBytes or maxWaitMs');
  }

  return (source) =>
    new Observable<FilledBatch<B>>((subscriber) => {
      let batch: B | null = null;
      let count = 0;
      let bytes = 0;
      let timer: Subscription | null = null;

      const flush = (): void => {
        if (timer !== null) {
          timer.unsubscribe();
          timer = null;
        }
        if (batch === null) return;
        const filled: FilledBatch<B> = { batch, count, bytes };
        batch = null;
        count = 0;
        bytes = 0;
        subscriber.next(filled);
      };

      const sub = source.subscribe({
        next(item) {
          if (batch !== null && bytes + item.bytes > maxBytes) flush();
          batch ??= filler.open();
          filler.add(batch, item);
          count += 1;
          bytes += item.bytes;
          if (count >= maxEvents || bytes >= maxBytes) flush();
          else if (count === 1 && maxWaitMs !== undefined) {
            timer = scheduler.schedule(() => {
              timer = null;
              flush();
            }, maxWaitMs);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete() {
          flush();
          subscriber.complete();
        },
      });

      return () => {
        timer?.unsubscribe();
        sub.unsubscribe();
      };
    });
}
