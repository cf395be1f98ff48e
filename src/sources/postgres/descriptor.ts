/** The PostgreSQL source as a plug-in: its options, how it is created, its errors, what it can do. */
import type { ClientConfig } from 'pg';
import { pemOf } from '../../sinks/kafka/clientConfig.js';
import type { SourceDescriptor } from '../../runtime/registry.js';
import { checkPostgres, postgresSourceSchema, postgresTitle, type PostgresSourceConfig } from './config.js';
import { classifyPgError } from './errors.js';
import { PostgresSource } from './source.js';

export const postgresSource: SourceDescriptor<PostgresSourceConfig> = {
  role: 'source',
  type: 'postgres',
  title: 'PostgreSQL',
  titleOf: (src) => postgresTitle((src as { flavour?: unknown }).flavour),
  configSchema: postgresSourceSchema,
  checkConfig: checkPostgres,
  capabilities: {
    productName: 'PostgreSQL',
    snapshot: true,
    stream: true,
    documents: false,
    ddl: true,
    retainedLog: true,
    objectDefinitions: false,
    database: (src) => (src as { database?: string }).database,
  },
  classifyError: classifyPgError,
  create(src, { config, selector, plan, logger }) {
    const connection: ClientConfig & { database: string } = src.uri
      ? { connectionString: src.uri, database: src.database }
      : { host: src.host ?? '127.0.0.1', port: src.port, database: src.database, ...(src.user ? { user: src.user } : {}), ...(src.password ? { password: src.password } : {}) };
    // `caCert` is PEM text or the path of a PEM file (read here, so an unreadable file fails naming the option).
    if (src.encryption === 'ssl') connection.ssl = src.caCert ? { ca: pemOf(src.caCert, 'source.caCert') } : { rejectUnauthorized: true };
    return new PostgresSource({
      taskId: config.name,
      ...(src.slotName !== undefined ? { slotName: src.slotName } : {}),
      ...(src.publication !== undefined ? { publication: src.publication } : {}),
      connection,
      flavour: src.flavour,
      select: (ref) => selector.selectsTable(ref),
      named: plan.selection.include.flatMap((r) => (r.table !== undefined && !r.table.includes('*') && (r.schema === undefined || !r.schema.includes('*')) ? [{ table: r.table, ...(r.schema !== undefined ? { schema: r.schema } : {}) }] : [])),
      wholeSchemas: [...new Set(plan.selection.include.flatMap((r) => (r.table === undefined && r.schema !== undefined && !r.schema.includes('*') ? [r.schema] : [])))],
      heartbeat: { enabled: src.heartbeat.enabled, intervalMs: src.heartbeat.intervalMs, schema: src.heartbeat.schema, table: src.heartbeat.table },
      captureDdl: src.captureDdl,
      chunkRows: config.fullSync.chunkRows,
      exactlyOnce: config.destination.kafka?.exactlyOnce ?? false,
      logger,
    });
  },
};
