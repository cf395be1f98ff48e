import { LostHistoryError, classifyError, type TributaryError } from '../../core/errors.js';

/** Server error codes meaning the requested history is gone or the token is unusable. */
const LOST_CODES = new Set([
  136, // CappedPositionLost: the oplog rolled over under a cursor
  260, // InvalidResumeToken
  280, // ChangeStreamFatalError (token can no longer be resumed)
  286, // ChangeStreamHistoryLost
]);

const FIX =
  'The saved position is older than the history the source keeps. Run a new full synchronization, or supply a new start position ' +
  '(an oplog timestamp "t:i" or a resume token) that you know is safe; consider a larger oplog (replSetResizeOplog) so this does not recur.';

export function lostHistory(what: string, position: string, cause?: unknown): LostHistoryError {
  return new LostHistoryError(`${what} (position ${position}).`, { object: position, field: 'position', fix: FIX, ...(cause === undefined ? {} : { cause }) });
}

/** Maps driver errors: lost history to LostHistoryError, the rest through classifyError. */
export function classifyMongoError(err: unknown, context: string, position: string): TributaryError {
  const e = err as { code?: unknown; codeName?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'number' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (
    (code !== undefined && LOST_CODES.has(code)) ||
    e?.codeName === 'ChangeStreamHistoryLost' ||
    /resume (of change stream was not possible|token|point)|history (was|is) lost|CappedPositionLost/i.test(message)
  ) {
    return lostHistory(`${context}: the source cannot resume from the saved position: ${message}`, position, err);
  }
  return classifyError(err, context);
}
