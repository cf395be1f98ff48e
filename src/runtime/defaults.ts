import type { ClientConfig } from 'pg';
import { registerCodecs } from '../codecs/index.js';
import { formats } from '../formats/index.js';
import { KafkaSink } from '../sinks/kafka/sink.js';
import { pemOf } from '../sinks/kafka/clientConfig.js';
import { SchemaRegistryFramer } from '../sinks/kafka/schemaRegistry.js';
import { DTS_RECORD_SCHEMA } from '../formats/index.js';
import { PostgresSource } from '../sources/postgres/source.js';
import { MongoSource } from '../sources/mongodb/source.js';
import { db2SourceFactory } from '../sources/db2/index.js';
import { MongoSink } from '../sinks/mongodb/writer.js';
import { mongoClientOptions, mongoUri } from '../sources/mongodb/connection.js';
import { Registry } from './registry.js';
import { refKey } from './objects.js';
import { NameMapper } from '../operators/mapNames.js';

/** A MongoDB connection string (see src/sources/mongodb/connection.ts). */
export { mongoUri };

/** Everything Tributary ships, registered explicitly. Also plugs the LZ4 and Snappy codecs into kafkajs. */
export function defaultRegistry(): Registry {
  registerCodecs();
  const registry = new Registry();
  for (const [name, factory] of Object.entries(formats)) registry.registerFormat(name, factory);

  registry.registerSource('postgres', ({ config, selector, plan, logger }) => {
    const src = config.source;
    if (src.type !== 'postgres') throw new Error('postgres factory called for another source');
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
      captureDdl: src.captureDdl ?? src.flavour !== 'analyticdb',
      chunkRows: config.fullSync.chunkRows,
      exactlyOnce: config.destination.kafka?.exactlyOnce ?? false,
      logger,
    });
  });

  registry.registerSource('mongodb', ({ config, selector, plan, logger }) => {
    const src = config.source;
    if (src.type !== 'mongodb') throw new Error('mongodb factory called for another source');
    return new MongoSource({
      taskId: config.name,
      uri: mongoUri(src),
      clientOptions: mongoClientOptions(src, 'source.caCert'),
      method: src.method,
      architecture: src.architecture,
      fullDocument: src.fullDocument === 'updateLookup',
      select: (ref) => selector.selectsTable(ref),
      chunkSize: config.fullSync.chunkRows,
      mapsNames: Object.keys(plan.mapping.tables ?? {}).length > 0 || Object.keys(plan.mapping.databases ?? {}).length > 0,
      logger,
    });
  });

  // Db2 for LUW through SQL Replication: the options are built from the config in src/sources/db2/index.ts.
  registry.registerSource('db2', db2SourceFactory());

  registry.registerSink('mongodb', ({ config, plan, logger }, source) => {
    const dst = config.destination.mongodb;
    if (!dst) throw new Error('mongodb sink factory called without destination.mongodb');
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
  });

  registry.registerSink('kafka', ({ config, plan, registry: reg, logger, checkpoint }, source) => {
    const k = config.destination.kafka;
    if (!k) throw new Error('kafka factory called without destination.kafka');
    return new KafkaSink({
      brokers: k.brokers,
      clientId: k.clientId,
      topic: k.topic,
      ...(k.ddlTopic ? { ddlTopic: k.ddlTopic } : {}),
      format: reg.format(k.format),
      sourceKind: config.source.type,
      database: config.source.type === 'mongodb' ? '' : config.source.database,
      compression: k.compression,
      acks: k.acks,
      partitionPolicy: k.partitionPolicy,
      routeFor: (ref) => plan.routes.get(refKey(ref)),
      maxMessageBytes: k.maxMessageBytes,
      createTopics: k.createTopics,
      partitionsFor: (topic) => plan.partitions.get(topic),
      conflictMode: config.conflictMode,
      ...(k.sasl ? { sasl: k.sasl } : {}),
      ...(k.tls?.enabled ? { tls: k.tls.caCert ? { caCert: k.tls.caCert } : {} } : {}),
      tables: () => plan.tables,
      ...(k.exactlyOnce && checkpoint && config.checkpoints.store === 'kafka'
        ? {
            exactlyOnce: {
              transactionalId: `tributary-${config.name}`,
              checkpointTopic: config.checkpoints.topic,
              taskId: config.name,
              checkpoint: checkpoint.current,
              onCommitted: checkpoint.committed,
            },
          }
        : {}),
      ...(k.schemaRegistry && k.format === 'dts-avro' ? { valueFramer: new SchemaRegistryFramer({ url: k.schemaRegistry.url, schema: DTS_RECORD_SCHEMA }) } : {}),
      logger,
    });
    void source;
  });
  return registry;
}
