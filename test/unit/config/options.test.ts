/**
 * Every option does what it says, or validation refuses it with the reason (issue 15).
 *
 * This test walks every leaf of the composed task schema (the rows of the configuration
 * reference) and fails for any option that is not in OPTIONS below. Each entry names the tests that
 * change the option and observe its effect (`proven`: file and test title, checked to exist), and
 * where the option does not apply, the config validation refuses with its reason (`refused`: run
 * here). A new option without a proof or a refusal fails the build.
 *
 * OWED_* list options read by the code but not proven yet; both are empty, and the test keeps them so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeOptions } from '../../../src/config/docs.js';
import { validateTaskConfig } from '../../../src/config/load.js';
import { issuesOf, mongoTask, pgTask } from './helpers.js';

interface Proof {
  file: string;
  test: string;
}
interface Refusal {
  /** Where the option does not apply, in words. */
  where: string;
  config: Record<string, unknown>;
  path: string;
  message: RegExp;
}
interface Entry {
  proven?: Proof[];
  refused?: Refusal[];
}

const db2 = { type: 'db2', host: 'h', user: 'u', password: 'db2-Secret-1', database: 'D' };
const mongoDst = { mongodb: { hosts: ['d1'] } };

const IT = 'test/integration/';
const UNIT = 'test/unit/';
const p = (file: string, test: string): Proof => ({ file, test });

const pgKafka = p(`${IT}postgres-kafka.test.ts`, 'copies every row, streams the writes made during and after the copy');
const db2Kafka = p(`${IT}db2-kafka.test.ts`, 'copies the tables and streams every change made during and after the copy');
const db2ConnString = p(`${UNIT}sources/db2/ibmdb.test.ts`, 'builds a CLI connection string, bracing values with separators');
const opts = (test: string) => p(`${IT}options.test.ts`, test);
const objs = (test: string) => p(`${UNIT}runtime/objectOptions.test.ts`, test);
const rtOpts = (test: string) => p(`${UNIT}runtime/runtimeOptions.test.ts`, test);
const machine = (test: string) => p(`${UNIT}machines/task.machine.test.ts`, test);
const kafkaSink = (test: string) => p(`${IT}kafka-sink.test.ts`, test);

const mongoRt = (test: string) => p(`${IT}mongodb-runtime.test.ts`, test);
const mongoOpts = (test: string) => p(`${IT}mongodb-options.test.ts`, test);
const conn = (test: string) => p(`${UNIT}sources/mongodb/connection.test.ts`, test);
const noShard: Refusal = {
  where: 'a source read without shard oplogs (change streams, or a replica set)',
  config: mongoTask({ source: { type: 'mongodb', hosts: ['m'], architecture: 'shardedCluster', method: 'changeStreams', shard: { user: 'shard-reader', password: 'shard-Secret-1', endpoints: ['s1'] } } }),
  path: 'source.shard',
  message: /a shard account is used only to read each shard's oplog/,
};
const sharded = (test: string) => p(`${IT}mongodb-sharded.test.ts`, test);
const SHARDED_KILL = 'two shards by oplog into Kafka: every document equals the source after a SIGKILL, migration entries skipped';
const shardAccount = p(`${UNIT}sources/mongodb/shards.test.ts`, 'the shard account replaces the source account on shard endpoints');
/** A MongoDB connection option the `uri` contradicts: the uri wins, so the option is refused. */
const uriSays = (side: 'source' | 'destination', k: string, uri: string, value: string, message: RegExp): Refusal =>
  side === 'source'
    ? { where: `a uri that says otherwise`, config: mongoTask({ source: { type: 'mongodb', uri, [k]: value } }), path: `source.${k}`, message }
    : { where: `a uri that says otherwise`, config: mongoTask({ destination: { mongodb: { uri, [k]: value } } }), path: `destination.mongodb.${k}`, message };

const onlyKafka = (k: string, value: unknown): Refusal => ({
  where: 'a MongoDB destination',
  config: mongoTask({ destination: mongoDst, objects: [{ database: 'app', collection: 'events', [k]: value }] }),
  path: `objects[0].${k}`,
  message: /applies only to a Kafka destination/,
});
const tableLevel = (k: string, value: unknown, message = /applies to a single table/): Refusal => ({
  where: 'a whole schema or database',
  config: pgTask({ destination: { kafka: { brokers: ['k1'], topic: 't', partitionPolicy: 'keyHash' } }, objects: [{ schema: 'public', [k]: value }] }),
  path: `objects[0].${k}`,
  message,
});
const mongoOnlyOnRelational = (k: string): Refusal => ({
  where: 'relational sources',
  config: pgTask({ objects: [{ schema: 'public', table: 'orders', [k]: 'x' }] }),
  path: `objects[0].${k}`,
  message: /objects are tables/,
});

export const OPTIONS: Record<string, Entry> = {
  name: { proven: [p(`${IT}postgres-slot-publication.test.ts`, 'without slotName and publication, names both tributary_<task name>')] },
  environment: { proven: [rtOpts('logged with environment and labels'), rtOpts('a task without environment or labels logs neither field')] },
  labels: { proven: [rtOpts('logged with environment and labels'), rtOpts('a task without environment or labels logs neither field')] },

  // --- PostgreSQL source ---
  'source.type @ postgres': { proven: [pgKafka] },
  'source.flavour @ postgres': { proven: [p(`${IT}postgres-ddl.test.ts`, 'AnalyticDB for PostgreSQL does not synchronize DDL: no trigger, no helper table')] },
  'source.host @ postgres': { proven: [pgKafka, opts('source.uri replaces host, port and user')] },
  'source.port @ postgres': { proven: [pgKafka, opts('source.uri replaces host, port and user')] },
  'source.uri @ postgres': { proven: [opts('source.uri replaces host, port and user')] },
  'source.user @ postgres': { proven: [p(`${IT}postgres-bad-inputs.test.ts`, 'an account without REPLICATION, and one without SELECT, fail the precheck with the GRANT to run')] },
  'source.password @ postgres': { proven: [p(`${IT}postgres-bad-inputs.test.ts`, 'an account without REPLICATION, and one without SELECT, fail the precheck with the GRANT to run')] },
  'source.database @ postgres': { proven: [pgKafka] },
  'source.encryption @ postgres': { proven: [opts('source.encryption: "ssl" asks the server for TLS')] },
  'source.caCert @ postgres': {
    proven: [opts('source.caCert is read as PEM text or a file')],
    refused: [{ where: 'encryption "none"', config: pgTask({ source: { type: 'postgres', host: 'h', database: 'd', caCert: 'x' } }), path: 'source.caCert', message: /encryption is "none"/ }],
  },
  'source.slotName @ postgres': { proven: [p(`${IT}postgres-slot-publication.test.ts`, 'creates exactly the configured slot and publication')] },
  'source.publication @ postgres': { proven: [p(`${IT}postgres-slot-publication.test.ts`, 'creates exactly the configured slot and publication')] },
  'source.heartbeat.enabled @ postgres': { proven: [opts('source.heartbeat.enabled, intervalMs and schema')] },
  'source.heartbeat.intervalMs @ postgres': { proven: [opts('source.heartbeat.enabled, intervalMs and schema')] },
  'source.heartbeat.table @ postgres': { proven: [opts('source.heartbeat.table: heartbeats go to the named table')] },
  'source.heartbeat.schema @ postgres': { proven: [opts('source.heartbeat.enabled, intervalMs and schema')] },
  'source.captureDdl @ postgres': {
    proven: [p(`${IT}postgres-ddl.test.ts`, 'AnalyticDB for PostgreSQL does not synchronize DDL'), p(`${IT}postgres-ddl.test.ts`, 'emits supported DDL in stream order to the DDL topic')],
    refused: [{ where: 'AnalyticDB for PostgreSQL', config: pgTask({ source: { type: 'postgres', flavour: 'analyticdb', host: 'h', database: 'd', captureDdl: true } }), path: 'source.captureDdl', message: /does not synchronize DDL/ }],
  },

  // --- Db2 source (tests run against the Db2 stand-in; connection options are checked on the connection string) ---
  'source.type @ db2': { proven: [db2Kafka] },
  'source.host @ db2': { proven: [db2ConnString] },
  'source.port @ db2': { proven: [db2ConnString] },
  'source.user @ db2': { proven: [db2ConnString] },
  'source.password @ db2': { proven: [db2ConnString] },
  'source.database @ db2': { proven: [db2ConnString] },
  'source.encryption @ db2': { proven: [db2ConnString] },
  'source.caCert @ db2': {
    proven: [db2ConnString],
    refused: [{ where: 'encryption "none"', config: pgTask({ source: { ...db2, caCert: 'x' } }), path: 'source.caCert', message: /encryption is "none"/ }],
  },
  'source.heartbeat.enabled @ db2': { proven: [p(`${IT}db2-prechecks.test.ts`, 'fail with a fix when tables are not registered or not active')] },
  'source.heartbeat.table @ db2': { proven: [p(`${IT}db2-prechecks.test.ts`, 'fail with a fix when tables are not registered or not active'), p(`${IT}db2-heartbeat.test.ts`, 'beats into the named schema and table at the configured interval')] },
  'source.heartbeat.intervalMs @ db2': { proven: [p(`${IT}db2-heartbeat.test.ts`, 'beats into the named schema and table at the configured interval')] },
  'source.heartbeat.schema @ db2': { proven: [p(`${IT}db2-heartbeat.test.ts`, 'beats into the named schema and table at the configured interval')] },

  // --- MongoDB source (the substitutes of docs/mongo-servers.md; connection strings checked as the driver reads them) ---
  'source.type @ mongodb': { proven: [mongoRt('MongoDB → Kafka (change streams): full + incremental, last Canal JSON message per _id equals the document')] },
  'source.uri @ mongodb': {
    proven: [mongoRt('MongoDB → Kafka (change streams): full + incremental'), mongoOpts('source.uri without replicaSet takes source.replicaSet')],
    refused: [{ where: 'together with hosts', config: mongoTask({ source: { type: 'mongodb', uri: 'mongodb://h', hosts: ['h'] } }), path: 'source.uri', message: /either `uri` or `hosts`, not both/ }],
  },
  'source.hosts @ mongodb': { proven: [mongoOpts('source.hosts with replicaSet connects to the replica set the options name'), conn('builds the URI from hosts, user, password, authDatabase, replicaSet and encryption')] },
  'source.user @ mongodb': { proven: [mongoOpts('source.user and password reach the driver'), conn('user, password and authDatabase become its credentials')] },
  'source.password @ mongodb': { proven: [conn('user, password and authDatabase become its credentials')] },
  'source.authDatabase @ mongodb': {
    proven: [conn('user, password and authDatabase become its credentials'), conn('adds authDatabase, replicaSet and encryption to a uri that does not say them')],
    refused: [uriSays('source', 'authDatabase', 'mongodb://u:p@h/?authSource=x', 'y', /authenticates against "x"/)],
  },
  'source.architecture @ mongodb': {
    proven: [mongoOpts('source.architecture: "shardedCluster" against a replica set fails the precheck'), sharded(SHARDED_KILL)],
    refused: [{ where: 'a sharded cluster read by oplog with SSL', config: mongoTask({ source: { type: 'mongodb', hosts: ['m'], architecture: 'shardedCluster', method: 'oplog', encryption: 'ssl' } }), path: 'source.encryption', message: /SSL is not available for a sharded cluster read by oplog/ }],
  },
  'source.shard.user @ mongodb': { proven: [shardAccount], refused: [noShard] },
  'source.shard.password @ mongodb': { proven: [shardAccount], refused: [noShard] },
  'source.shard.endpoints @ mongodb': { proven: [sharded(SHARDED_KILL), sharded('prechecks: shards discovered from config.shards')], refused: [noShard] },
  'source.method @ mongodb': {
    proven: [
      p(`${IT}mongodb-source.test.ts`, 'full sync with concurrent writes, then incremental: every document ends as stored'),
      mongoRt('MongoDB → Kafka (change streams)'),
      mongoRt('MongoDB → MongoDB (oplog)'),
    ],
  },
  'source.fullDocument @ mongodb': {
    proven: [p(`${UNIT}sources/mongodb/changeStream.test.ts`, "update with fullDocument: 'updateLookup' uses the document as after"), p(`${UNIT}sources/mongodb/changeStream.test.ts`, 'update without fullDocument: patch from updateDescription')],
    refused: [{ where: 'method oplog', config: mongoTask({ source: { type: 'mongodb', hosts: ['m'], fullDocument: 'updateLookup' } }), path: 'source.fullDocument', message: /applies only to change streams/ }],
  },
  'source.encryption @ mongodb': {
    proven: [conn('replicaSet and encryption its options'), conn('makes the driver trust the server certificate')],
    refused: [uriSays('source', 'encryption', 'mongodb://h/?tls=false', 'ssl', /the uri turns it off/)],
  },
  'source.caCert @ mongodb': {
    proven: [conn('makes the driver trust the server certificate: the TLS handshake completes only with it'), conn('is read from a path (not passed on as PEM text)'), mongoOpts('source.caCert and destination.mongodb.caCert given as a path reach the driver')],
    refused: [{ where: 'encryption "none"', config: mongoTask({ source: { type: 'mongodb', hosts: ['m'], caCert: 'x' } }), path: 'source.caCert', message: /encryption is "none"/ }],
  },
  'source.replicaSet @ mongodb': {
    proven: [mongoOpts('source.hosts with replicaSet connects to the replica set the options name'), mongoOpts('source.uri without replicaSet takes source.replicaSet')],
    refused: [uriSays('source', 'replicaSet', 'mongodb://h/?replicaSet=a', 'b', /names replica set "a"/)],
  },

  // --- MongoDB destination (the same connection code as the source: src/sources/mongodb/connection.ts) ---
  'destination.mongodb.uri': {
    proven: [mongoRt('MongoDB → MongoDB (oplog): full + incremental while writes continue')],
    refused: [{ where: 'together with hosts', config: mongoTask({ destination: { mongodb: { uri: 'mongodb://h', hosts: ['h'] } } }), path: 'destination.mongodb.uri', message: /either `uri` or `hosts`, not both/ }],
  },
  'destination.mongodb.hosts': { proven: [mongoOpts('destination.mongodb.hosts connects to the destination'), conn('builds the URI from hosts, user, password, authDatabase, replicaSet and encryption')] },
  'destination.mongodb.user': { proven: [mongoOpts('destination.mongodb.hosts connects to the destination; user and password reach its driver'), conn('user, password and authDatabase become its credentials')] },
  'destination.mongodb.password': { proven: [conn('user, password and authDatabase become its credentials')] },
  'destination.mongodb.authDatabase': {
    proven: [conn('user, password and authDatabase become its credentials')],
    refused: [uriSays('destination', 'authDatabase', 'mongodb://u:p@h/?authSource=x', 'y', /authenticates against "x"/)],
  },
  'destination.mongodb.architecture': { proven: [mongoOpts('destination.mongodb.architecture: "shardedCluster" against a server that is not mongos fails the destination precheck')] },
  'destination.mongodb.encryption': {
    proven: [conn('replicaSet and encryption its options')],
    refused: [uriSays('destination', 'encryption', 'mongodb://h/?tls=false', 'ssl', /the uri turns it off/)],
  },
  'destination.mongodb.caCert': {
    proven: [conn('makes the driver trust the server certificate: the TLS handshake completes only with it'), conn('is read from a path (not passed on as PEM text)'), mongoOpts('source.caCert and destination.mongodb.caCert given as a path reach the driver')],
    refused: [{ where: 'encryption "none"', config: mongoTask({ destination: { mongodb: { hosts: ['d1'], caCert: 'x' } } }), path: 'destination.mongodb.caCert', message: /encryption is "none"/ }],
  },
  'destination.mongodb.replay': {
    proven: [mongoOpts('destination.mongodb.replay: "singleThread" replays through one lane'), p(`${IT}mongodb-sink.test.ts`, 'collections with a unique index go through one ordered lane')],
  },

  // --- Kafka destination ---
  'destination.kafka.brokers': { proven: [pgKafka] },
  'destination.kafka.topic': { proven: [pgKafka] },
  'destination.kafka.ddlTopic': { proven: [p(`${IT}postgres-ddl.test.ts`, 'emits supported DDL in stream order to the DDL topic')] },
  'destination.kafka.format': {
    proven: [kafkaSink('registers <topic>-value and writes Confluent-framed DTS Avro that decodes back'), pgKafka],
    refused: [{ where: 'MongoDB sources (canal-json only)', config: mongoTask({ destination: { kafka: { brokers: ['k'], topic: 't', format: 'dts-avro' } } }), path: 'destination.kafka.format', message: /support only the canal-json format/ }],
  },
  'destination.kafka.compression': { proven: [p(`${IT}kafka-codecs.test.ts`, 'kafkajs writes batches the broker stores as that codec')] },
  'destination.kafka.partitionPolicy': { proven: [kafkaSink('partition0 puts everything in partition 0'), kafkaSink('tableHash puts each table in one partition'), kafkaSink('keyHash keeps a key in one partition')] },
  'destination.kafka.acks': { proven: [p(`${UNIT}sinks/kafka/sink.test.ts`, 'maps none/leader/all to acks 0/1/-1')] },
  'destination.kafka.createTopics': { proven: [kafkaSink('per-table topics created on the fly learn their partition count before routing')] },
  'destination.kafka.clientId': { proven: [objs('names the kafkajs client of every connection the sink makes')] },
  'destination.kafka.sasl.mechanism': { proven: [p(`${IT}postgres-kafka-eos.test.ts`, 'a read_committed consumer sees every change exactly once')] },
  'destination.kafka.sasl.username': { proven: [p(`${IT}postgres-kafka-eos.test.ts`, 'a read_committed consumer sees every change exactly once')] },
  'destination.kafka.sasl.password': { proven: [p(`${IT}postgres-kafka-eos.test.ts`, 'a read_committed consumer sees every change exactly once')] },
  'destination.kafka.tls.enabled': { proven: [opts('destination.kafka.tls: enabled speaks TLS to the brokers')] },
  'destination.kafka.tls.caCert': { proven: [opts('destination.kafka.tls: enabled speaks TLS to the brokers')] },
  'destination.kafka.maxMessageBytes': { proven: [kafkaSink('a record over maxMessageBytes fails naming table, key and size')] },
  'destination.kafka.exactlyOnce': {
    proven: [p(`${IT}postgres-kafka-eos.test.ts`, 'a read_committed consumer sees every change exactly once')],
    refused: [{ where: 'checkpoints outside Kafka', config: pgTask({ destination: { kafka: { brokers: ['k'], topic: 't', exactlyOnce: true } } }), path: 'destination.kafka.exactlyOnce', message: /checkpoints must live in Kafka/ }],
  },
  'destination.kafka.schemaRegistry.url': {
    proven: [kafkaSink('registers <topic>-value and writes Confluent-framed DTS Avro that decodes back')],
    refused: [{ where: 'formats other than dts-avro', config: pgTask({ destination: { kafka: { brokers: ['k'], topic: 't', format: 'canal-json', schemaRegistry: { url: 'http://r' } } } }), path: 'destination.kafka.schemaRegistry', message: /only with the dts-avro format/ }],
  },

  // --- what is synchronized ---
  'syncTypes.schema': {
    proven: [p(`${IT}mongodb-schema-sync.test.ts`, 'creates the collections (the empty one too) and their indexes, TTL without its expiry, under the mapped database')],
    refused: [
      { where: 'PostgreSQL-family and Db2 to Kafka', config: pgTask({ syncTypes: { schema: true } }), path: 'syncTypes.schema', message: /nothing to create for PostgreSQL to Kafka/ },
      { where: 'MongoDB to Kafka', config: mongoTask({ syncTypes: { schema: true } }), path: 'syncTypes.schema', message: /not available for MongoDB to Kafka/ },
    ],
  },
  'syncTypes.full': { proven: [machine('incremental-only goes straight from precheck to incremental'), opts('source.heartbeat.table: heartbeats go to the named table')] },
  'syncTypes.incremental': {
    proven: [machine('a full-only task ends in completed')],
    refused: [{ where: 'PolarDB and MongoDB to Kafka (always on)', config: pgTask({ source: { type: 'postgres', flavour: 'polardb', host: 'h', database: 'd' }, syncTypes: { incremental: false } }), path: 'syncTypes.incremental', message: /always on/ }],
  },
  conflictMode: {
    proven: [kafkaSink('precheckAndReport fails when a target topic already holds messages')],
    refused: [{ where: 'clearDestination with a Kafka destination', config: pgTask({ conflictMode: 'clearDestination' }), path: 'conflictMode', message: /not available for a Kafka destination/ }],
  },
  nameCase: { proven: [objs('nameCase changes the capitalization of destination names')] },

  // --- objects ---
  'objects[].database': {
    proven: [objs('objects[].schema and objects[].table select what is synchronized')],
    refused: [{ where: 'a database other than the task\'s (PostgreSQL, Db2)', config: pgTask({ objects: [{ database: 'other', schema: 'public', table: 'orders' }] }), path: 'objects[0].database', message: /reads database "shop" only/ }],
  },
  'objects[].schema': {
    proven: [objs('objects[].schema and objects[].table select what is synchronized'), opts('a whole selected schema on PostgreSQL 15')],
    refused: [{ where: 'MongoDB', config: mongoTask({ objects: [{ database: 'app', schema: 's' }] }), path: 'objects[0].schema', message: /mongodb has no schemas/i }],
  },
  'objects[].table': {
    proven: [objs('objects[].schema and objects[].table select what is synchronized')],
    refused: [{ where: 'MongoDB', config: mongoTask({ objects: [{ database: 'app', table: 't' }] }), path: 'objects[0].table', message: /mongodb objects are collections/i }],
  },
  'objects[].collection': { refused: [mongoOnlyOnRelational('collection')] },
  'objects[].columns': { proven: [objs('objects[].columns and objects[].columnRename select and rename columns')], refused: [tableLevel('columns', ['id'])] },
  'objects[].ops': {
    proven: [objs('objects[].ops keeps only the listed operations')],
    refused: [{ where: '"ddl" on AnalyticDB and Db2', config: pgTask({ source: db2, objects: [{ table: 'T', ops: ['insert', 'ddl'] }] }), path: 'objects[0].ops', message: /do not synchronize DDL/ }],
  },
  'objects[].filter': { proven: [objs('objects[].filter drops rows that do not match')], refused: [tableLevel('filter', 'a > 1')] },
  'objects[].rename.database': { proven: [objs('objects[].rename.table, rename.schema and rename.database rename the destination object')] },
  'objects[].rename.schema': {
    proven: [objs('objects[].rename.table, rename.schema and rename.database rename the destination object')],
    refused: [{ where: 'MongoDB', config: mongoTask({ objects: [{ database: 'app', collection: 'events', rename: { schema: 's' } }] }), path: 'objects[0].rename.schema', message: /mongodb has no schemas/i }],
  },
  'objects[].rename.table': {
    proven: [objs('objects[].rename.table, rename.schema and rename.database rename the destination object')],
    refused: [{ where: 'MongoDB', config: mongoTask({ objects: [{ database: 'app', collection: 'events', rename: { table: 't' } }] }), path: 'objects[0].rename.table', message: /a table name is never used/ }],
  },
  'objects[].rename.collection': {
    refused: [{ where: 'relational sources', config: pgTask({ objects: [{ schema: 'public', table: 'orders', rename: { collection: 'c' } }] }), path: 'objects[0].rename.collection', message: /a collection name is never used/ }],
  },
  'objects[].columnRename': {
    proven: [objs('objects[].columns and objects[].columnRename select and rename columns')],
    refused: [tableLevel('columnRename', { a: 'b' }), { where: 'MongoDB', config: mongoTask({ objects: [{ database: 'app', collection: 'events', columnRename: { a: 'b' } }] }), path: 'objects[0].columnRename', message: /relational sources only/ }],
  },
  'objects[].topic': { proven: [kafkaSink('per-table topics created on the fly learn their partition count before routing')], refused: [tableLevel('topic', 'x', /is not routed/), onlyKafka('topic', 'x')] },
  'objects[].partitions': {
    proven: [kafkaSink('per-table topics created on the fly learn their partition count before routing')],
    refused: [
      tableLevel('partitions', 3, /is not routed/),
      onlyKafka('partitions', 3),
      { where: 'an object without its own topic', config: pgTask({ objects: [{ schema: 'public', table: 'orders', partitions: 3 }] }), path: 'objects[0].partitions', message: /this object has none/ },
    ],
  },
  'objects[].partitionKey': {
    proven: [kafkaSink('keyHash with per-table partitionKey columns routes by those columns')],
    refused: [{ where: 'partitionPolicy other than keyHash', config: pgTask({ objects: [{ schema: 'public', table: 'orders', partitionKey: ['id'] }] }), path: 'objects[0].partitionKey', message: /only with partitionPolicy "keyHash"/ }],
  },
  'exclude[].database': { proven: [objs('exclude[].database, exclude[].schema and exclude[].table leave objects out')] },
  'exclude[].schema': { proven: [objs('exclude[].database, exclude[].schema and exclude[].table leave objects out')] },
  'exclude[].table': {
    proven: [objs('exclude[].database, exclude[].schema and exclude[].table leave objects out')],
    refused: [{ where: 'MongoDB', config: mongoTask({ exclude: [{ table: 't' }] }), path: 'exclude[0].table', message: /mongodb objects are collections/i }],
  },
  'exclude[].collection': { refused: [{ where: 'relational sources', config: pgTask({ exclude: [{ collection: 'c' }] }), path: 'exclude[0].collection', message: /objects are tables/ }] },

  // --- throttles, retries, ETL, monitoring ---
  'throttle.full.sourceQps': {
    proven: [opts('throttle.full.sourceQps: the full-sync queries')],
    refused: [{ where: 'MongoDB sources', config: mongoTask({ throttle: { full: { sourceQps: 5 } } }), path: 'throttle.full.sourceQps', message: /does not rate its queries/ }],
  },
  'throttle.full.rps': {
    proven: [p(`${UNIT}operators/throttleRate.test.ts`, 'achieves the configured events/s within 5% over 10 s'), machine('SET_THROTTLE merges settings, calls applyThrottle')],
    refused: [{ where: 'full synchronization off', config: pgTask({ syncTypes: { full: false }, throttle: { full: { rps: 5 } } }), path: 'throttle.full', message: /full synchronization is off/ }],
  },
  'throttle.full.mbps': { proven: [p(`${UNIT}operators/throttleRate.test.ts`, 'achieves the configured bytes/s within 5% over 10 s')] },
  'throttle.incremental.rps': {
    proven: [p(`${UNIT}operators/throttleRate.test.ts`, 'achieves the configured events/s within 5% over 10 s')],
    refused: [{ where: 'incremental synchronization off', config: pgTask({ syncTypes: { incremental: false }, throttle: { incremental: { rps: 5 } } }), path: 'throttle.incremental', message: /incremental synchronization is off/ }],
  },
  'throttle.incremental.mbps': { proven: [p(`${UNIT}operators/throttleRate.test.ts`, 'achieves the configured bytes/s within 5% over 10 s')] },
  'retry.connectionMinutes': { proven: [machine('connection and other errors have separate windows'), rtOpts('is set on every task of the endpoint, and follows tasks being added and removed')] },
  'retry.otherMinutes': {
    proven: [machine('connection and other errors have separate windows')],
    refused: [{ where: 'not below connectionMinutes', config: pgTask({ retry: { connectionMinutes: 30, otherMinutes: 30 } }), path: 'retry.otherMinutes', message: /must be smaller than retry.connectionMinutes/ }],
  },
  'retry.autoRestartWithinDays': { proven: [machine('auto-restart delay and window are configurable'), machine('a task that failed 7 days or more after it started stays failed')] },
  'etl.expression': { proven: [objs('etl.expression transforms rows')] },
  'monitoring.latencyThresholdSeconds': { proven: [opts('monitoring.latencyThresholdSeconds and monitoring.webhookUrl')] },
  'monitoring.alertOnFailure': { proven: [rtOpts('raises the failure alert of monitoring.alertOnFailure'), rtOpts('monitoring.alertOnFailure: false raises none')] },
  'monitoring.webhookUrl': { proven: [opts('monitoring.latencyThresholdSeconds and monitoring.webhookUrl')] },

  // --- checkpoints and full-sync tuning ---
  'checkpoints.store @ file': { proven: [p(`${UNIT}checkpoints/fileStore.test.ts`, 'saves and loads; a missing checkpoint is null')] },
  'checkpoints.dir @ file': { proven: [p(`${UNIT}checkpoints/fileStore.test.ts`, 'a file where the directory should be')] },
  'checkpoints.store @ kafka': { proven: [p(`${IT}postgres-kafka-eos.test.ts`, 'a read_committed consumer sees every change exactly once')] },
  'checkpoints.topic @ kafka': { proven: [p(`${IT}postgres-kafka-eos.test.ts`, 'a read_committed consumer sees every change exactly once')] },
  'fullSync.parallelism': { proven: [p(`${UNIT}machines/fullSync.machine.test.ts`, 'parallelism defaults to 4 and is at least 1')] },
  'fullSync.chunkRows': { proven: [opts('throttle.full.sourceQps: the full-sync queries')] },
  'fullSync.onlyOneIdType': {
    refused: [{ where: 'sources other than MongoDB', config: pgTask({ fullSync: { onlyOneIdType: true } }), path: 'fullSync.onlyOneIdType', message: /applies only to MongoDB sources/ }],
  },
};

/**
 * Options read by the code but not yet proven by a test that changes them, each with who owes the
 * proof. Nothing else may be listed here; an entry moves to OPTIONS once proven (or refused).
 */
export const OWED_OTHER: Record<string, string> = {};

/**
 * MongoDB-only options owed by the MongoDB part of issue 15 (driver options the source and sink
 * must wire or refuse). Nothing else may be listed here; an entry moves to OPTIONS once proven.
 */
export const OWED_MONGODB: string[] = [];

/** Every leaf option of the schema, as `path` or `path @ variant`. */
function leafKeys(): string[] {
  const rows = describeOptions();
  const key = (r: { path: string; variant?: string }) => (r.variant === undefined ? r.path : `${r.path} @ ${r.variant.split(' = ')[1] ?? r.variant}`);
  return rows
    .filter((r) => !rows.some((o) => o.path.startsWith(`${r.path}.`) || o.path.startsWith(`${r.path}[]`)))
    .map(key);
}

describe('every option does what it says, or validation refuses it with the reason', () => {
  const leaves = leafKeys();

  it('every leaf of the task schema is listed with its proof or refusal (a new option without one fails here)', () => {
    const missing = leaves.filter((k) => !(k in OPTIONS) && !OWED_MONGODB.includes(k) && !(k in OWED_OTHER));
    expect(missing, 'options with no proven effect and no refusal').toEqual([]);
    const stale = [...Object.keys(OPTIONS), ...OWED_MONGODB, ...Object.keys(OWED_OTHER)].filter((k) => !leaves.includes(k));
    expect(stale, 'listed options the schema no longer has').toEqual([]);
  });

  it('owes nothing', () => {
    for (const k of OWED_MONGODB) expect(k, k).toMatch(/@ mongodb$|^destination\.mongodb\./);
    expect(Object.keys(OWED_OTHER)).toEqual([]);
    expect(OWED_MONGODB).toEqual([]);
    for (const k of [...OWED_MONGODB, ...Object.keys(OWED_OTHER)]) expect(OPTIONS, k).not.toHaveProperty([k]);
  });

  it('every entry has a proof or a refusal, and every proof names an existing test', () => {
    const files = new Map<string, string>();
    for (const [k, e] of Object.entries(OPTIONS)) {
      expect((e.proven?.length ?? 0) + (e.refused?.length ?? 0), k).toBeGreaterThan(0);
      for (const proof of e.proven ?? []) {
        if (!files.has(proof.file)) files.set(proof.file, existsSync(proof.file) ? readFileSync(proof.file, 'utf8') : '');
        expect(files.get(proof.file), `${k}: ${proof.file}`).not.toBe('');
        expect(files.get(proof.file)?.includes(proof.test), `${k}: no test "${proof.test}" in ${proof.file}`).toBe(true);
      }
    }
  });

  for (const [k, e] of Object.entries(OPTIONS)) {
    for (const r of e.refused ?? []) {
      it(`${k} is refused for ${r.where}, with the reason`, () => {
        const at = issuesOf(r.config).filter((i) => i.path === r.path);
        expect(at.map((i) => i.message), `no issue at ${r.path} matching ${String(r.message)}`).toContainEqual(expect.stringMatching(r.message));
        for (const i of at) expect(i.fix ?? '', i.message).not.toBe('');
      });
    }
  }
});

describe('the configuration reference states the defaults the code uses', () => {
  /** A minimal config of the variant a row belongs to. */
  const base = (path: string, variant: string | undefined): Record<string, unknown> => {
    if (variant === 'source.type = mongodb') return mongoTask();
    if (path.startsWith('destination.mongodb')) return mongoTask({ destination: mongoDst, syncTypes: { incremental: true } });
    if (variant === 'source.type = db2') return pgTask({ source: db2 });
    if (variant === 'checkpoints.store = kafka') return pgTask({ checkpoints: { store: 'kafka' } });
    if (variant === 'checkpoints.store = file') return pgTask({ checkpoints: { store: 'file' } });
    return pgTask();
  };
  const at = (value: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
  const rows = describeOptions().filter((r) => r.default !== undefined && !r.path.includes('[]'));

  it('covers the documented defaults', () => expect(rows.length).toBeGreaterThan(25));
  for (const r of rows) {
    it(`${r.path}${r.variant ? ` (${r.variant})` : ''} defaults to ${r.default ?? ''}`, () => {
      const input = base(r.path, r.variant);
      // A default inside an optional section (destination.kafka.tls) applies once the section is given.
      const parent = r.path.split('.').slice(0, -1);
      if (parent.length > 0 && at(validateTaskConfig(input, { env: {} }), parent.join('.')) === undefined) {
        const holder = at(input, parent.slice(0, -1).join('.')) as Record<string, unknown>;
        holder[parent[parent.length - 1] ?? ''] = {};
      }
      const parsed = validateTaskConfig(input, { env: {} });
      expect(JSON.stringify(at(parsed, r.path))).toBe(r.default);
    });
  }
});
