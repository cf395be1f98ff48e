/** The Db2 for LUW source's options (`source` with `type: db2`) and the rules between them. */
import { z } from 'zod';
import type { ConfigReport } from '../../core/plugin.js';
import { caCert, heartbeatDefault, heartbeatSchema, nonEmpty, port, secret } from '../../config/primitives.js';

const db2HeartbeatDefault = { ...heartbeatDefault, table: 'dts_db2_heartbeat' };

export const db2SourceSchema = z.strictObject({
  type: z.literal('db2').describe('Source kind.'),
  host: nonEmpty().describe('Db2 for LUW server host.'),
  port: port().default(50000).describe('Server port.'),
  user: nonEmpty().describe('Account for SQL Replication CDC.'),
  password: secret('Password of the account'),
  database: nonEmpty().describe('Database name.'),
  encryption: z.enum(['none', 'ssl']).default('none').describe('Connection encryption.'),
  caCert: caCert(),
  heartbeat: heartbeatSchema(db2HeartbeatDefault.table)
    .default(db2HeartbeatDefault)
    .describe('Heartbeat table, updated every second so latency stays accurate when a whole database is selected.'),
});

export type Db2SourceConfig = z.output<typeof db2SourceSchema>;

/** Rules between the Db2 source's options. */
export function checkDb2(value: unknown, report: ConfigReport): void {
  const src = value as Partial<Record<keyof Db2SourceConfig, unknown>>;
  if (src.encryption === 'none' && src.caCert !== undefined) {
    report(['source', 'caCert'], 'a CA certificate is set but encryption is "none"', 'Set source.encryption to "ssl", or remove source.caCert.');
  }
}
