import pino from 'pino';
import type { Logger } from '../core/contracts.js';
import { redactText } from '../config/redact.js';

/**
 * A logger that adds `fields` to every line (a line's own fields win). The runtime gives each task
 * one with `task`, and the config's `environment` and `labels` when set.
 */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  const add = (f?: Record<string, unknown>) => ({ ...fields, ...(f ?? {}) });
  return {
    debug: (msg, f) => logger.debug(msg, add(f)),
    info: (msg, f) => logger.info(msg, add(f)),
    warn: (msg, f) => logger.warn(msg, add(f)),
    error: (msg, f) => logger.error(msg, add(f)),
  };
}

/** The fields every log line of a task carries: its name, and its `environment` and `labels` when set. */
export function taskLogFields(cfg: { name: string; environment?: string | undefined; labels?: Readonly<Record<string, string>> | undefined }): Record<string, unknown> {
  return {
    task: cfg.name,
    ...(cfg.environment !== undefined ? { environment: cfg.environment } : {}),
    ...(cfg.labels !== undefined && Object.keys(cfg.labels).length > 0 ? { labels: { ...cfg.labels } } : {}),
  };
}

/** The least severe level written; `silent` writes nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/**
 * Structured JSON logs (pino) to stderr. Field names that hold secrets are censored, and any
 * known secret value (`secrets`) is masked wherever it appears in a message or field.
 * `destination` is any writable stream (default `process.stderr`).
 *
 * @example
 * ```ts
 * import { createLogger, createRuntime } from 'tributary';
 *
 * const logger = createLogger({ level: 'info', secrets: [process.env.PGPASSWORD ?? ''].filter(Boolean) });
 * const runtime = createRuntime({ logger });
 * logger.info('started', { tasks: runtime.list().length }); // {"level":30,"name":"tributary","tasks":0,"msg":"started",...}
 * ```
 */
export function createLogger(opts: { level?: LogLevel; secrets?: readonly string[]; destination?: NodeJS.WritableStream } = {}): Logger {
  const secrets = opts.secrets ?? [];
  const p = pino(
    {
      level: opts.level ?? 'info',
      base: { name: 'tributary' },
      redact: { paths: ['password', '*.password', '*.*.password', 'sasl.password', 'uri', '*.uri', 'caCert', '*.caCert'], censor: '****' },
    },
    (opts.destination ?? process.stderr) as pino.DestinationStream,
  );
  const clean = (msg: string) => (secrets.length > 0 ? redactText(msg, secrets) : msg);
  const cleanFields = (fields?: Record<string, unknown>) => (fields && secrets.length > 0 ? (JSON.parse(clean(JSON.stringify(fields))) as Record<string, unknown>) : (fields ?? {}));
  return {
    debug: (msg, fields) => p.debug(cleanFields(fields), clean(msg)),
    info: (msg, fields) => p.info(cleanFields(fields), clean(msg)),
    warn: (msg, fields) => p.warn(cleanFields(fields), clean(msg)),
    error: (msg, fields) => p.error(cleanFields(fields), clean(msg)),
  };
}
