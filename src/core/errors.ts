/**
 * The one error tree. Every error Tributary raises is a TributaryError with a stable `code`,
 * a `retriable` flag and a `kind` that the task machine's guards use to choose a retry window.
 * Messages name the object, the field and the fix; they never contain secrets.
 */
export type ErrorKind =
  /** The source or destination could not be reached or dropped the connection. */
  | 'connection'
  /** Anything else that may pass with time (a lock, a leader election, a full disk). */
  | 'other'
  /** Bad input that retrying cannot fix: config, oversized record, unsupported type, lost history. */
  | 'fatal';

/** What a {@link TributaryError} is about, beyond its message. */
export interface ErrorDetails {
  /** What the error is about: a table, topic, config path, slot name. */
  object?: string;
  /** The field or option at fault. */
  field?: string;
  /** What the user should do. */
  fix?: string;
  /** The underlying error (a driver's), kept as the standard `Error.cause`. */
  cause?: unknown;
}

/**
 * The base of every error Tributary raises: a stable `code` (e.g. `CONFIG_INVALID`, `LOST_HISTORY`,
 * `UNKNOWN_TASK`), a `kind` that decides retrying, and the object, field and fix it is about.
 * Subclasses: {@link ConnectionError}, {@link TransientError}, {@link FatalError} (and its
 * {@link ConfigError}, {@link LostHistoryError}, {@link OversizedRecordError}).
 *
 * @example
 * ```ts
 * try {
 *   runtime.add(config);
 * } catch (err) {
 *   if (err instanceof ConfigError) for (const i of err.issues) console.error(`${i.path}: ${i.message}`);
 *   else if (err instanceof TributaryError) console.error(err.code, err.describe());
 *   else throw err;
 * }
 * ```
 */
export class TributaryError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly object: string | undefined;
  readonly field: string | undefined;
  readonly fix: string | undefined;

  constructor(code: string, kind: ErrorKind, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = kind;
    this.object = details.object;
    this.field = details.field;
    this.fix = details.fix;
  }

  /** True unless the kind is `fatal`. */
  get retriable(): boolean {
    return this.kind !== 'fatal';
  }

  /** A single human-readable line: message, then the fix. */
  describe(): string {
    return this.fix ? `${this.message} Fix: ${this.fix}` : this.message;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, kind: this.kind, message: this.message, object: this.object, field: this.field, fix: this.fix };
  }
}

/** The source or destination is unreachable, refused the connection, or dropped it. */
export class ConnectionError extends TributaryError {
  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(code, 'connection', message, details);
  }
}

/** A transient problem that is not about connectivity. */
export class TransientError extends TributaryError {
  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(code, 'other', message, details);
  }
}

/** A problem retrying cannot fix. */
export class FatalError extends TributaryError {
  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(code, 'fatal', message, details);
  }
}

/** One problem in a config file, with its path. */
export interface ConfigIssue {
  path: string;
  message: string;
  fix?: string;
}

/** A config that failed validation: every issue at once. */
export class ConfigError extends FatalError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], source = 'task config') {
    const lines = issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}${i.fix ? ` Fix: ${i.fix}` : ''}`);
    super('CONFIG_INVALID', `${source} has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${lines.join('\n')}`, {
      object: source,
    });
    this.issues = issues;
  }
}

/** Replication history the task needs is gone (slot dropped, WAL removed, oplog rolled over, bad resume token). */
export class LostHistoryError extends FatalError {
  constructor(message: string, details: ErrorDetails) {
    super('LOST_HISTORY', message, details);
  }
}

/** A single record exceeds a limit of the destination or of the runtime. */
export class OversizedRecordError extends FatalError {
  constructor(message: string, details: ErrorDetails) {
    super('RECORD_TOO_LARGE', message, details);
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);

const CONNECTION_NAMES = /KafkaJSConnectionError|KafkaJSConnectionClosedError|KafkaJSRequestTimeoutError|KafkaJSNumberOfRetriesExceeded|KafkaJSBrokerNotFound|KafkaJSGroupCoordinatorNotFound|MongoNetworkError|MongoNetworkTimeoutError|MongoServerSelectionError/;
const CONNECTION_MESSAGES = /Connection terminated|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|socket hang up|Closed connection|Connection error|Connection timeout|Request timed out|broker .*not connected|read ECONNRESET|Failed to find group coordinator/i;

/**
 * True when the error, or any error it wraps (`cause`, kafkajs' `originalError`), says the
 * connection failed: refused, reset, timed out, closed. Such failures are retried in the
 * connection window, however deep the client library wrapped them.
 */
function isConnectionFailure(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; originalError?: unknown };
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && CONNECTION_NAMES.test(e.name)) return true;
  if (typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message)) return true;
  return isConnectionFailure(e.cause, depth + 1) || isConnectionFailure(e.originalError, depth + 1);
}

/**
 * Turns anything thrown by a client library into a TributaryError, keeping the original as `cause`.
 * Errors already in the tree pass through unchanged.
 */
export function classifyError(err: unknown, context = 'task'): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err as { code?: unknown; message?: unknown; retriable?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (isConnectionFailure(err)) {
    return new ConnectionError(code ?? 'CONNECTION', `${context}: ${message}`, { cause: err });
  }
  if (e?.retriable === false) return new FatalError(code ?? 'FATAL', `${context}: ${message}`, { cause: err });
  return new TransientError(code ?? 'UNKNOWN', `${context}: ${message}`, { cause: err });
}
