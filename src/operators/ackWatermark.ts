import { Observable, type OperatorFunction } from 'rxjs';
import type { Position } from '../core/position.js';
import { AckTracker } from './AckTracker.js';

/**
 * Applied to the ordered stream of dispatched positions, with the acks (positions, any order):
 * emits the contiguous acked watermark each time it advances. Completes when the dispatched
 * stream has completed and every dispatched position is acked (or the acks end). An ack for a
 * position never dispatched fails the stream.
 */
export function ackWatermark(acks$: Observable<Position>, tracker: AckTracker = new AckTracker()): OperatorFunction<Position, Position> {
  return (dispatched$) =>
    new Observable<Position>((subscriber) => {
      let dispatchedDone = false;
      let acksDone = false;
      const maybeComplete = (): void => {
        if (dispatchedDone && (acksDone || tracker.size === 0)) subscriber.complete();
      };
      const dispatchedSub = dispatched$.subscribe({
        next(position) {
          try {
            tracker.track(position);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete() {
          dispatchedDone = true;
          maybeComplete();
        },
      });
      const acksSub = acks$.subscribe({
        next(position) {
          let moved: boolean;
          try {
            moved = tracker.ack(position);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          if (moved) subscriber.next(tracker.watermark() as Position);
          maybeComplete();
        },
        error: (err: unknown) => subscriber.error(err),
        complete() {
          acksDone = true;
          maybeComplete();
        },
      });
      return () => {
        dispatchedSub.unsubscribe();
        acksSub.unsubscribe();
      };
    });
}
