import { Observable, type OperatorFunction } from 'rxjs';
import type { ChangeEvent } from '../core/events.js';
import { qualifiedName } from '../core/events.js';
import { FatalError, TributaryError } from '../core/errors.js';

/** What an ETL function returns: the event (changed or not), null/undefined to drop it, or several events. */
export type EtlResult = ChangeEvent | null | undefined | readonly ChangeEvent[];
export type EtlFunction = (event: ChangeEvent) => EtlResult;

/**
 * Runs a user ETL function on every data event (heartbeats pass untouched). A thrown error fails
 * the stream with a FatalError (code ETL_FAILED) naming the table, with the original as `cause`.
 */
export function applyEtl(fn: EtlFunction): OperatorFunction<ChangeEvent, ChangeEvent> {
  return (source) =>
    new Observable<ChangeEvent>((subscriber) =>
      source.subscribe({
        next(event) {
          if (event.op === 'heartbeat') {
            subscriber.next(event);
            return;
          }
          let out: EtlResult;
          try {
            out = fn(event);
          } catch (err) {
            const object = qualifiedName(event.shape.ref);
            const reason = err instanceof Error ? err.message : String(err);
            subscriber.error(
              err instanceof TributaryError
                ? err
                : new FatalError('ETL_FAILED', `ETL function failed on ${object} (${event.op} at ${event.position.encode()}): ${reason}`, {
                    object,
                    cause: err,
                    fix: 'fix the ETL function or filter out the rows it cannot handle',
                  }),
            );
            return;
          }
          if (out === null || out === undefined) return;
          if (Array.isArray(out)) {
            for (const e of out as readonly ChangeEvent[]) subscriber.next(e);
          } else subscriber.next(out as ChangeEvent);
        },
        error(err) {
          subscriber.error(err);
        },
        complete() {
          subscriber.complete();
        },
      }),
    );
}
