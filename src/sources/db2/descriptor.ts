/** The Db2 for LUW source (SQL Replication) as a plug-in: its options, creation, errors and capabilities. */
import { classifyError } from '../../core/errors.js';
import type { SourceDescriptor } from '../../runtime/registry.js';
import { checkDb2, db2SourceSchema, type Db2SourceConfig } from './config.js';
import { db2SourceFactory } from './index.js';

export const db2Source: SourceDescriptor<Db2SourceConfig> = {
  role: 'source',
  type: 'db2',
  title: 'Db2',
  configSchema: db2SourceSchema,
  checkConfig: checkDb2,
  capabilities: {
    productName: 'DB2',
    snapshot: true,
    stream: true,
    documents: false,
    ddl: false,
    retainedLog: false,
    objectDefinitions: false,
    database: (src) => (src as { database?: string }).database,
  },
  classifyError,
  // The options are built from the task config in index.ts (tests pass their own connector there).
  create: (_src, ctx) => db2SourceFactory()(ctx),
};
