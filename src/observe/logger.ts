import pino from 'pino';
import type { Logger } from '../core/contracts.js';
import { redactText } from '../config/redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/**
 * Structured JSON logs (pino) to stderr. Field names that hold secrets are censored, and any
 * known secret value (`secrets`) is masked wherever it appears in a message or field.
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
