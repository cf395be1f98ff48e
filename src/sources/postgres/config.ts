/** The PostgreSQL source's options (`source` with `type: postgres`) and the rules between them. */
import { z } from 'zod';
import type { ConfigReport } from '../../core/plugin.js';
import { bool, caCert, heartbeatDefault, heartbeatSchema, nonEmpty, port, secret } from '../../config/primitives.js';

export const POSTGRES_FLAVOURS = ['postgres', 'analyticdb', 'polardb'] as const;
/** What PostgreSQL accepts as a replication slot name (the same rule as the Postgres source's). */
export const REPLICATION_SLOT_NAME = /^[a-z0-9_]{1,63}$/;

export const postgresSourceSchema = z.strictObject({
  type: z.literal('postgres').describe('Source kind.'),
  flavour: z
    .enum(POSTGRES_FLAVOURS)
    .default('postgres')
    .describe('PostgreSQL flavour: plain `postgres`, `analyticdb` (AnalyticDB for PostgreSQL: no DDL capture, 5,000-table limit) or `polardb` (PolarDB for PostgreSQL: DDL captured, 1,000-table limit).'),
  host: nonEmpty().optional().describe('Server host name or address. Required unless `uri` is given.'),
  port: port().default(5432).describe('Server port.'),
  uri: z.string().min(1).optional().describe('Connection URI (`postgres://user:password@host:port/db`); replaces host/port/user/password. Secret: its password is masked.'),
  user: nonEmpty().optional().describe('Database account with replication permission.'),
  password: secret('Password of the database account').optional(),
  database: z
    .string({ error: (iss) => (Array.isArray(iss.input) ? 'a PostgreSQL task reads exactly one database, not a list' : undefined) })
    .min(1)
    .describe('The one database this task reads. Its name cannot contain a hyphen (-).'),
  encryption: z.enum(['none', 'ssl']).default('none').describe('Connection encryption.'),
  caCert: caCert(),
  slotName: nonEmpty()
    .refine((v) => REPLICATION_SLOT_NAME.test(v), {
      message: 'is not a valid replication slot name: PostgreSQL takes 1-63 characters, only lowercase letters, digits and "_"',
      params: { fix: 'Rename it, for example "orders_slot" (a name with "-" or capitals is refused by PostgreSQL).' },
    })
    .optional()
    .describe(
      'Logical replication slot (pgoutput) the task reads, used verbatim: 1-63 lowercase letters, digits and `_`. Created by the task when absent; an existing one must be a pgoutput slot of this database that no other connection reads. Default: `tributary_<task name>`, with `-` written `_` (a name past 63 characters keeps its first 54 and ends with `_` and 8 hex digits of a hash of the task name).',
    ),
  publication: nonEmpty()
    .refine((v) => new TextEncoder().encode(v).length <= 63, {
      message: 'is not a valid publication name: PostgreSQL keeps at most 63 bytes of a name',
      params: { fix: 'Shorten it to 63 bytes or fewer.' },
    })
    .optional()
    .describe(
      'Publication the task reads through, used verbatim (case-sensitive). When absent, the task creates it over the selected tables and its helper tables, keeps its table list equal to the selection, and drops it on release. An existing publication the task did not create is read as it is, never altered or dropped: the precheck fails when it lacks a selected table, an operation (insert, update, delete) or `publish_via_partition_root` for a partitioned table, and warns when it lacks the heartbeat or DDL helper table. Default: `tributary_<task name>`, named as the slot.',
    ),
  heartbeat: heartbeatSchema(heartbeatDefault.table).default(heartbeatDefault),
  captureDdl: bool().optional().describe('Capture DDL through the helper event trigger and `dts_ddl_command` table. Default: true for `postgres` and `polardb`; `analyticdb` does not synchronize DDL.'),
});

type Parsed = z.output<typeof postgresSourceSchema>;
/** A validated PostgreSQL source config, `captureDdl` filled from the flavour. */
export type PostgresSourceConfig = Omit<Parsed, 'captureDdl'> & { captureDdl: boolean };

/** How messages name the source: the flavour's product name. */
export function postgresTitle(flavour: unknown): string {
  return flavour === 'analyticdb' ? 'AnalyticDB for PostgreSQL' : flavour === 'polardb' ? 'PolarDB for PostgreSQL' : 'PostgreSQL';
}

/** `captureDdl` defaults from the flavour (AnalyticDB does not synchronize DDL). */
export function finalizePostgres(src: Parsed): PostgresSourceConfig {
  return { ...src, captureDdl: src.captureDdl ?? src.flavour !== 'analyticdb' };
}

/** Rules between the PostgreSQL source's options. */
export function checkPostgres(value: unknown, report: ConfigReport): void {
  const src = value as Partial<Record<keyof Parsed, unknown>>;
  const flavour = src.flavour ?? 'postgres';
  if (src.host === undefined && src.uri === undefined) {
    report(['source', 'host'], 'a PostgreSQL source needs `host` or `uri`', 'Set source.host (and port), or source.uri.');
  }
  if (typeof src.uri === 'string' && !/^postgres(ql)?:\/\//.test(src.uri)) {
    report(['source', 'uri'], 'is not a PostgreSQL connection URI', 'Use the form postgres://user:password@host:5432/database.');
  }
  if (typeof src.database === 'string' && src.database.includes('-')) {
    report(['source', 'database'], `database name "${src.database}" contains a hyphen (-), which is not supported`, 'Rename the database to one without "-" (for example with "_"), then point the task at it.');
  }
  if (flavour === 'analyticdb' && src.captureDdl === true) {
    report(['source', 'captureDdl'], 'AnalyticDB for PostgreSQL does not synchronize DDL', 'Remove captureDdl or set it to false; create a new task for tables created later.');
  }
  if (src.encryption === 'none' && src.caCert !== undefined) {
    report(['source', 'caCert'], 'a CA certificate is set but encryption is "none"', 'Set source.encryption to "ssl", or remove source.caCert.');
  }
}
