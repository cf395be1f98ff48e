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

/** A group of items and their total bytes; the caller turns it into a Batch with its ack (see `createBatch`). */
export interface ItemGroup<T> {
  items: T[];
  bytes: number;
}

/**
 * Groups items by count, bytes and time since the batch's first item. Keeps order, never emits an
 * empty group, flushes the tail when the source completes. On error the partial group is dropped
 * (it was never acked, so it is read again after the restart).
 */
export function batchBy<T extends { bytes: number }>(limits: BatchLimits): OperatorFunction<T, ItemGroup<T>> {
  const maxEvents = limits.maxEvents !== undefined && limits.maxEvents > 0 ? limits.maxEvents : Infinity;
  const maxBytes = limits.maxBytes !== undefined && limits.maxBytes > 0 ? limits.maxBytes : Infinity;
  const maxWaitMs = limits.maxWaitMs;
  const scheduler = limits.scheduler ?? asyncScheduler;
  if (maxEvents === Infinity && maxBytes === Infinity && maxWaitMs === undefined) {
    throw new RangeError('batchBy needs at least one of maxEvents, maxBytes or maxWaitMs');
  }

  return (source) =>
    new Observable<ItemGroup<T>>((subscriber) => {
      let items: T[] = [];
      let bytes = 0;
      let timer: Subscription | null = null;

      const flush = (): void => {
        if (timer !== null) {
          timer.unsubscribe();
          timer = null;
        }
        if (items.length === 0) return;
        const group: ItemGroup<T> = { items, bytes };
        items = [];
        bytes = 0;
        subscriber.next(group);
      };

      const sub = source.subscribe({
        next(item) {
          if (items.length > 0 && bytes + item.bytes > maxBytes) flush();
          items.push(item);
          bytes += item.bytes;
          if (items.length >= maxEvents || bytes >= maxBytes) flush();
          else if (items.length === 1 && maxWaitMs !== undefined) {
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
