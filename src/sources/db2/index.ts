/**
 * The Db2 for LUW source (SQL Replication change-data tables) as a registry entry: builds the
 * source's options from the task config. `db2SourceFactory()` connects through ibm_db; tests pass
 * their own connector and rendering (a PostgreSQL database emulating the server).
 */
import type { ComponentContext, SourceFactory } from '../../runtime/registry.js';
import type { Db2Connector } from './client.js';
import type { Rendering } from './dialect.js';
import { ibmDbConnector } from './ibmdb.js';
import { Db2Source, db2Identifier } from './source.js';

export { Db2Source, db2Identifier } from './source.js';
export type { Db2SourceOptions } from './source.js';
export { Db2Position } from './position.js';
export type { Db2Client, Db2Connector, SqlParam, SqlRow } from './client.js';
export { DB2, Db2Sql, type Rendering } from './dialect.js';

/** PostgreSQL's default heartbeat schema, which the shared heartbeat settings default to: for Db2 it means the account's own schema. */
const POSTGRES_DEFAULT_SCHEMA = 'public';

export interface Db2FactoryOverrides {
  connect?: (ctx: ComponentContext) => Db2Connector;
  rendering?: Rendering;
  captureSchema?: string;
  pollIntervalMs?: number;
  pageRows?: number;
}

export function db2SourceFactory(overrides: Db2FactoryOverrides = {}): SourceFactory {
  return (ctx) => {
    const src = ctx.config.source;
    if (src.type !== 'db2') throw new Error('db2 factory called for another source');
    const mapping = ctx.plan.mapping;
    const hb = src.heartbeat;
    return new Db2Source({
      taskId: ctx.config.name,
      database: src.database,
      connect: overrides.connect
        ? overrides.connect(ctx)
        : ibmDbConnector({ host: src.host, port: src.port, database: src.database, user: src.user, password: src.password, ssl: src.encryption === 'ssl', ...(src.caCert !== undefined ? { caCert: src.caCert } : {}) }),
      ...(overrides.rendering ? { rendering: overrides.rendering } : {}),
      ...(overrides.captureSchema ? { captureSchema: overrides.captureSchema } : {}),
      select: (ref) => ctx.selector.selectsTable(ref),
      full: ctx.config.syncTypes.full,
      mapsNames:
        Object.keys(mapping.tables ?? {}).length > 0 ||
        Object.keys(mapping.schemas ?? {}).length > 0 ||
        Object.keys(mapping.databases ?? {}).length > 0 ||
        Object.values(mapping.columns ?? {}).some((c) => c.rename !== undefined && Object.keys(c.rename).length > 0),
      heartbeat: {
        enabled: hb.enabled,
        intervalMs: hb.intervalMs,
        table: db2Identifier(hb.table),
        schema: hb.schema === POSTGRES_DEFAULT_SCHEMA ? null : db2Identifier(hb.schema),
      },
      chunkRows: ctx.config.fullSync.chunkRows,
      ...(overrides.pollIntervalMs !== undefined ? { pollIntervalMs: overrides.pollIntervalMs } : {}),
      ...(overrides.pageRows !== undefined ? { pageRows: overrides.pageRows } : {}),
      logger: ctx.logger,
    });
  };
}
