/** The MongoDB source as a plug-in: its options, creation, errors and capabilities. */
import type { TributaryError } from '../../core/errors.js';
import type { SourceDescriptor } from '../../runtime/registry.js';
import { checkMongoSource, mongoSourceSchema, type MongoSourceConfig } from './config.js';
import { mongoClientOptions, mongoUri } from './connection.js';
import { classifyMongoError } from './errors.js';
import { MongoSource } from './source.js';
import { shardAccessOf } from './shards.js';

export const mongoSource: SourceDescriptor<MongoSourceConfig> = {
  role: 'source',
  type: 'mongodb',
  title: 'MongoDB',
  configSchema: mongoSourceSchema,
  checkConfig: checkMongoSource,
  capabilities: { productName: 'MongoDB', snapshot: true, stream: true, documents: true, ddl: true, retainedLog: false, objectDefinitions: true },
  classifyError: (err: unknown, context: string): TributaryError => classifyMongoError(err, context, 'the saved position'),
  create: (src, { config, selector, plan, logger }) =>
    new MongoSource({
      taskId: config.name,
      uri: mongoUri(src),
      clientOptions: mongoClientOptions(src, 'source.caCert'),
      method: src.method,
      architecture: src.architecture,
      ...shardAccessOf(src),
      fullDocument: src.fullDocument === 'updateLookup',
      select: (ref) => selector.selectsTable(ref),
      chunkSize: config.fullSync.chunkRows,
      mapsNames: Object.keys(plan.mapping.tables ?? {}).length > 0 || Object.keys(plan.mapping.databases ?? {}).length > 0,
      logger,
    }),
};
