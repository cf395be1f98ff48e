import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import type { ChangeEvent } from '../core/events.js';
import type { Position } from '../core/position.js';

/**
 * Drops events at or before `position` (the position of the last event a committed transaction
 * wrote), passing everything after it. With no position everything passes. Once an event after
 * the position went through, later events are not compared any more: positions of one source are
 * totally ordered, and each incremental event has its own (PostgreSQL: commit LSN + rank in the
 * transaction), so this drops exactly the committed prefix of a replay. Snapshot events pass
 * untouched (full sync is resumed by chunk, not by position).
 */
export function skipThrough(position: Position | null | undefined): MonoTypeOperatorFunction<ChangeEvent> {
  if (!position) return (source) => source;
  return (source) => {
    let passed = false;
    return source.pipe(
      filter((e) => {
        if (passed || e.snapshot) return true;
        if (e.op === 'heartbeat') return e.position.compare(position) > 0;
        if (e.position.compare(position) > 0) {
          passed = true;
          return true;
        }
        return false;
      }),
    );
  };
}
