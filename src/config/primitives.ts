/**
 * The zod building blocks every config schema uses (the task's own and each plug-in's): numbers and
 * booleans that may arrive as strings from `${ENV}` interpolation, secrets, ports, host lists, CA
 * certificates and the heartbeat table. One definition each, so every plug-in validates alike.
 */
import { z } from 'zod';

/** Kafka's default port, added to broker addresses given without one. */
export const KAFKA_DEFAULT_PORT = 9092;
export const MONGO_DEFAULT_PORT = 27017;

/** Values interpolated from the environment arrive as strings; accept `"42"` where a number is expected. */
function numeric(v: unknown): unknown {
  return typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
}
function booleanish(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  return s === 'true' ? true : s === 'false' ? false : v;
}
export const num = <T extends z.ZodNumber>(s: T) => z.preprocess(numeric, s);
export const bool = () => z.preprocess(booleanish, z.boolean());
export const int = (min: number, max: number) => num(z.number().int().min(min).max(max));
// Finite: a YAML `1e400` parses as Infinity, which is no limit a user meant.
export const positive = () => num(z.number().positive().finite());
export const nonEmpty = () => z.string().trim().min(1);
export const secret = (what: string) => z.string().min(1).describe(`${what} (secret: masked in logs and errors).`);
export const port = () => int(1, 65535);

function withDefaultPort(address: string, defaultPort: number): string {
  const a = address.trim();
  if (a.startsWith('[')) return /\]:\d+$/.test(a) ? a : `${a}:${defaultPort}`;
  return /:\d+$/.test(a) ? a : `${a}:${defaultPort}`;
}
function splitList(v: unknown): unknown {
  return typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : v;
}
/** The port of a `host:port` address, or null when it has none. */
function addressPort(address: string): number | null {
  const m = /:(\d+)$/.exec(address);
  return m ? Number(m[1]) : null;
}
export const hostList = (defaultPort: number) =>
  z.preprocess(
    splitList,
    z
      .array(
        nonEmpty()
          .refine((h) => {
            const p = addressPort(h);
            return p === null || (p >= 1 && p <= 65535);
          }, { message: 'the port must be between 1 and 65535', params: { fix: 'Write the address as host:port with a port from 1 to 65535, or leave the port out for the default.' } })
          .transform((h) => withDefaultPort(h, defaultPort)),
      )
      .min(1),
  );

export const caCert = () =>
  z.string().min(1).optional().describe('CA certificate used to verify the server: PEM text, or a path to a PEM file.');

export const heartbeatSchema = (defaultTable: string) =>
  z
    .strictObject({
      enabled: bool().default(true).describe('Write a heartbeat row periodically so latency stays accurate and an idle slot keeps moving.'),
      intervalMs: int(100, 3_600_000).default(1000).describe('Milliseconds between heartbeat writes.'),
      table: nonEmpty()
        .refine((v) => new TextEncoder().encode(v).length <= 63, { message: 'is not a valid table name: PostgreSQL keeps at most 63 bytes of a name', params: { fix: 'Shorten it to 63 bytes or fewer.' } })
        .default(defaultTable)
        .describe('Heartbeat table name (created by the task in the source database, in `heartbeat.schema`).'),
      schema: nonEmpty().default('public').describe('Schema of the heartbeat table (PostgreSQL: also holds the DDL capture table; Db2: `public` means the account\'s own schema).'),
    })
    .describe('Heartbeat table in the source.');
export const heartbeatDefault = { enabled: true, intervalMs: 1000, table: 'dts_postgres_heartbeat', schema: 'public' };

/** Where a cross-field rule reports a problem: the option's path, what is wrong, what to do. */
export type ConfigPath = (string | number)[];
export type ConfigReport = (path: ConfigPath, message: string, fix: string) => void;

/** A view of a value that may be partly invalid: every field optional, checked before use. */
export type Loose<T> = T extends readonly (infer U)[] ? readonly Loose<U>[] | undefined : T extends object ? { readonly [K in keyof T]?: Loose<T[K]> } : T | undefined;
