import { map, type OperatorFunction } from 'rxjs';
import { batchInto, type BatchLimits } from './batchInto.js';

export type { BatchLimits } from './batchInto.js';

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
  const fill = batchInto<T, T[]>({ open: () => [], add: (items, item) => void items.push(item) }, limits);
  return (source) => fill(source).pipe(map(({ batch, bytes }) => ({ items: batch, bytes })));
}
