/** The MongoDB destination as a plug-in: its options, creation, errors and capabilities. */
import { NameMapper } from '../../operators/mapNames.js';
import type { SinkDescriptor } from '../../runtime/registry.js';
import { mongoClientOptions, mongoUri } from '../../sources/mongodb/connection.js';
import { MongoSource } from '../../sources/mongodb/source.js';
import { mongoDestinationSchema, type MongoDestinationConfig } from './config.js';
import { MongoSink, classifyMongoError } from './writer.js';
import type { TributaryError } from '../../core/errors.js';

export const mongoSink: SinkDescriptor<MongoDestinationConfig> = {
  role: 'sink',
  type: 'mongodb',
  title: 'MongoDB',
  configSchema: mongoDestinationSchema,
  capabilities: { transactional: false, createsObjects: true },
  classifyError: (err, context) => classifyMongoError(err, context) as TributaryError,
  create(dst, { config, plan, logger, source }) {
    const mapper = new NameMapper(plan.mapping);
    return new MongoSink({
      uri: mongoUri(dst),
      clientOptions: mongoClientOptions(dst, 'destination.mongodb.caCert'),
      conflictMode: config.conflictMode === 'ignoreAndProceed' ? 'ignoreAndProceed' : 'precheckAndReport',
      parallelism: dst.replay === 'singleThread' ? 1 : 8,
      // The destination prechecks (same-named collections, roles, versions) need what the source
      // selected, after name mapping, and the source's version.
      precheckFrom: async () => {
        const shapes = source.shapes ? await source.shapes() : [];
        const targets = shapes.map((s) => mapper.mapRef(s.ref)).filter((r) => r.table !== '').map((r) => ({ database: r.database, collection: r.table }));
        const sourceVersion = source instanceof MongoSource ? await source.serverVersion() : undefined;
        return { targets, architecture: dst.architecture, ...(sourceVersion !== undefined ? { sourceVersion } : {}) };
      },
      logger,
    });
  },
};
