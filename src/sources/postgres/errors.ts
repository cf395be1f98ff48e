import { ConnectionError, FatalError, TransientError, TributaryError, classifyError } from '../../core/errors.js';

/**
 * PostgreSQL's own knowledge of which errors pass with time, by SQLSTATE class (the server's
 * error codes): a lost or refused connection is retried in the connection window; a deadlock, a
 * lock or resource shortage, a cancelled statement in the other-issues window; anything the
 * server says about the request itself (syntax, privilege, data, internal error) fails the task at
 * once, because retrying cannot change the answer.
 */
const CONNECTION = /^(08|57P0[1-3])/;
const TRANSIENT = /^(40|53|55P03|55006|57014|58030|HV00C)/;
const FATAL = /^(0A|22|23|25|26|28|2B|2D|34|38|39|3B|3D|3F|42|44|P0|XX|F0|72)/;

/** Turns an error from the PostgreSQL client into the error tree, with PostgreSQL's knowledge. */
export function classifyPgError(err: unknown, context: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  const message = `${context}: ${typeof e?.message === 'string' ? e.message : String(err)}`;
  if (code !== undefined) {
    if (CONNECTION.test(code)) return new ConnectionError(code, message, { cause: err });
    if (TRANSIENT.test(code)) return new TransientError(code, message, { cause: err });
    if (FATAL.test(code)) return new FatalError(code, message, { cause: err, fix: 'See the PostgreSQL error above: retrying cannot change it; correct the cause, then start the task again.' });
  }
  return classifyError(err, context);
}

/** A broken invariant of the replication protocol: never retried, the task fails with what was seen. */
export function protocolError(what: string): FatalError {
  return new FatalError('PGOUTPUT_PROTOCOL', `pgoutput: ${what}`, {
    fix: 'This is a protocol invariant Tributary relies on; report it with the server version. Restarting the task from its checkpoint replays the same stream.',
  });
}
