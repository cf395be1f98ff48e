import { FatalError, LostHistoryError, classifyError, type TributaryError } from '../../core/errors.js';

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

/**
 * The saved position names an oplog entry that is gone although older entries remain: the source
 * rolled it back after a failover (or the position was never an entry of this oplog). Resuming
 * would skip or duplicate changes, so the task fails.
 */
export function rolledBack(what: string, position: string): FatalError {
  return new FatalError('SOURCE_ROLLED_BACK', `${what}: no oplog entry at the saved position ${position} although older entries remain: the source rolled back writes after a primary switchover, and changes delivered up to that position may not exist at the source.`, {
    object: position,
    field: 'position',
    fix: 'Run a new full synchronization (the destination may hold rolled-back writes). If the position was given by hand, give the ts of an existing oplog entry.',
  });
}

/**
 * A primary switchover seen while reading (an entry written in a newer election term). Seed 001: the
 * task fails rather than read on across a failover; entries are read up to the majority commit
 * point where the server reports one, so what was delivered was not rolled back.
 */
export function switchedOver(what: string, from: number, to: number, lastDelivered: string): FatalError {
  return new FatalError('SOURCE_SWITCHOVER', `${what}: the primary changed (election term ${from} → ${to}); the task stops at the switchover. Every change up to ${lastDelivered} was read from the old primary.`, {
    object: what,
    fix: 'Restart the task: it resumes from its checkpoint on the new primary, and fails with SOURCE_ROLLED_BACK if that position was rolled back (then run a new full synchronization).',
  });
}
