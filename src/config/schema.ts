/**
 * The task config schema: ONE zod schema gives validation, defaults and documentation
 * (`.describe()` texts feed `docs.ts`). Cross-field rules from the product documents live in
 * `checkTask` and report every problem with a path and a fix.
 */
import { z } from 'zod';
import type { ChangeEvent } from '../core/events.js';
import { compileEtl, EtlSyntaxError } from './etl.js';
import { FilterSyntaxError } from '../operators/filters/FilterSyntaxError.js';
import { compileMongoQuery } from '../operators/filters/mongoQuery.js';
import { parseSqlWhere } from '../operators/filters/sqlWhere.js';
import { checkMongoConnection, mongoSourceSchema, type MongoSourceConfig } from '../sources/mongodb/config.js';
import { bool, int, nonEmpty, positive, type ConfigPath as Path, type ConfigReport as Report, type Loose } from './primitives.js';
import { finalizePostgres, postgresSourceSchema, type PostgresSourceConfig } from '../sources/postgres/config.js';
import { db2SourceSchema, type Db2SourceConfig } from '../sources/db2/config.js';
import { kafkaDestinationSchema } from '../sinks/kafka/config.js';
import { mongoDestinationSchema, type MongoDestinationConfig } from '../sinks/mongodb/config.js';

/** First line of a filter error, without the caret drawing. */
function filterProblem(e: unknown): string | undefined {
  if (!(e instanceof FilterSyntaxError)) return undefined;
  const first = e.message.split('\n')[0] ?? e.message;
  return first.replace(/^Filter condition for .*? is invalid: /, '');
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

// Each plug-in's own options live in its folder (`config.ts`); re-exported here for existing importers.
export { POSTGRES_FLAVOURS, REPLICATION_SLOT_NAME } from '../sources/postgres/config.js';
export { COMPRESSIONS, PARTITION_POLICIES, ACKS, SASL_MECHANISMS, DEFAULT_MAX_MESSAGE_BYTES } from '../sinks/kafka/config.js';
export { MONGO_ARCHITECTURES } from '../sinks/mongodb/config.js';
export { mongoSourceSchema };
export { KAFKA_DEFAULT_PORT, MONGO_DEFAULT_PORT } from './primitives.js';
export { MONGO_METHODS } from '../sources/mongodb/config.js';
export const CONFLICT_MODES = ['precheckAndReport', 'ignoreAndProceed', 'clearDestination'] as const;
export const NAME_CASES = ['default', 'same', 'upper', 'lower'] as const;
export const OBJECT_OPS = ['insert', 'update', 'delete', 'ddl'] as const;

/** Databases of a MongoDB deployment that are never synchronized. */
export const MONGO_SYSTEM_DATABASES = ['admin', 'config', 'local'] as const;

/**
 * How many tables (collections) one task may select individually, per source. `whenMapping` means
 * the limit applies only when names are mapped (rename / columnRename), as the seeds say.
 */
export const TABLE_LIMITS = {
  mongodb: { limit: 1000, whenMapping: true },
  analyticdb: { limit: 5000, whenMapping: true },
  db2: { limit: 5000, whenMapping: true },
  polardb: { limit: 1000, whenMapping: false },
} as const;

// ---------------------------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------------------------

/** The shipped sources' options, for the config types (the task schema itself is composed from the registered descriptors: compose.ts). */
export const shippedSourceSchema = z.discriminatedUnion('type', [postgresSourceSchema, mongoSourceSchema, db2SourceSchema]);

// ---------------------------------------------------------------------------------------------
// Destinations
// ---------------------------------------------------------------------------------------------

/** The shipped destinations' options, for the config types. */
export const shippedDestinationSchema = z.strictObject({
  kafka: kafkaDestinationSchema.optional(),
  mongodb: mongoDestinationSchema.optional(),
});

// ---------------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------------

const objectSchema = z.strictObject({
  database: nonEmpty().optional().describe('Database. PostgreSQL/Db2: the task database (may be omitted).'),
  schema: nonEmpty().optional().describe('Schema (relational sources). Omit `table` to select a whole schema.'),
  table: nonEmpty().optional().describe('Table (relational sources). Omit to select the whole schema/database.'),
  collection: nonEmpty().optional().describe('Collection (MongoDB sources). Omit to select the whole database.'),
  columns: z.array(nonEmpty()).min(1).optional().describe('Columns to synchronize (table level). Default: all.'),
  ops: z.array(z.enum(OBJECT_OPS)).min(1).optional().describe('Operations to synchronize for this object. Default: all the source supports.'),
  filter: z.string().min(1).optional().describe('Row filter: a SQL WHERE condition for relational sources, a JSON query document for MongoDB.'),
  rename: z
    .strictObject({
      database: nonEmpty().optional().describe('Destination database name.'),
      schema: nonEmpty().optional().describe('Destination schema name.'),
      table: nonEmpty().optional().describe('Destination table name.'),
      collection: nonEmpty().optional().describe('Destination collection name.'),
    })
    .optional()
    .describe('Destination names for this object.'),
  columnRename: z.record(nonEmpty(), nonEmpty()).optional().describe('Column name mapping, `source: destination` (relational sources).'),
  topic: nonEmpty().optional().describe('Kafka topic for this table (table level only). Default: `destination.kafka.topic`.'),
  partitions: int(1, 10_000).optional().describe('Number of partitions of this object\'s `topic` (table level, with `topic`; used when the task creates it).'),
  partitionKey: z.array(nonEmpty()).min(1).optional().describe('Columns hashed for `partitionPolicy: keyHash`. Default: the primary key.'),
});

const excludeSchema = z.strictObject({
  database: nonEmpty().optional().describe('Database.'),
  schema: nonEmpty().optional().describe('Schema.'),
  table: nonEmpty().optional().describe('Table.'),
  collection: nonEmpty().optional().describe('Collection.'),
});

// ---------------------------------------------------------------------------------------------
// Task
// ---------------------------------------------------------------------------------------------

const rate = (what: string) => positive().optional().describe(what);

/**
 * The task file's schema around its `source` and `destination` sections, which come from the
 * registered plug-ins (compose.ts).
 */
export function taskFileSchema<S extends z.ZodType, D extends z.ZodType>(source: S, destination: D) {
  return z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 characters: lowercase letters, digits, "-" and "_", starting with a letter or digit')
    .describe('Task name (slug: lowercase letters, digits, `-`, `_`). Used for the slot, checkpoints and metrics.'),
  environment: nonEmpty().optional().describe('Environment tag (for example `prod`): a field of every log line of the task and a label of its `tributary_task_info` metric.'),
  labels: z.record(nonEmpty(), z.string()).default({}).describe('Free-form labels: a field (`labels`) of every log line of the task, and `label_<key>` labels of its `tributary_task_info` metric.'),
  source,
  destination,
  syncTypes: z
    .strictObject({
      schema: bool().default(false).describe('Schema synchronization (create destination objects). Not available to Kafka (a topic has no table definitions: refused).'),
      full: bool().default(true).describe('Full synchronization: copy existing data first.'),
      incremental: bool().default(true).describe('Incremental synchronization: stream later changes. Always on for MongoDB and PolarDB to Kafka.'),
    })
    .default({ schema: false, full: true, incremental: true })
    .describe('What the task synchronizes.'),
  conflictMode: z
    .enum(CONFLICT_MODES)
    .default('precheckAndReport')
    .describe('Destination objects with the same names: fail the precheck (`precheckAndReport`), proceed keeping existing records (`ignoreAndProceed`), or clear them first (`clearDestination`: refused for Kafka destinations, whose topics the task does not clear).'),
  nameCase: z.enum(NAME_CASES).default('default').describe('Capitalization of object names in the destination: `default` policy, `same` as source, `upper`, `lower`.'),
  objects: z.array(objectSchema).min(1).describe('What to synchronize: databases, schemas, tables or collections, with per-object mapping and filters.'),
  exclude: z.array(excludeSchema).default([]).describe('Objects left out of the selection.'),
  throttle: z
    .strictObject({
      full: z
        .strictObject({
          sourceQps: rate('Queries per second to the source during full synchronization, shared by the parallel chunk readers (PostgreSQL: the COPY of each chunk; Db2: each page query). Not available for MongoDB sources.'),
          rps: rate('Rows per second.'),
          mbps: rate("MB (2^20 bytes) per second of row data as read from the source: each change's size as the source sent it (PostgreSQL COPY rows and logical replication messages, MongoDB documents: their bytes as sent) or, where the source gives none, estimated from its values."),
        })
        .optional()
        .describe('Full synchronization throttling (unset = unlimited).'),
      incremental: z
        .strictObject({
          rps: rate('Rows per second.'),
          mbps: rate("MB (2^20 bytes) per second of row data as read from the source: each change's size as the source sent it (PostgreSQL COPY rows and logical replication messages, MongoDB documents: their bytes as sent) or, where the source gives none, estimated from its values."),
        })
        .optional()
        .describe('Incremental synchronization throttling (unset = unlimited).'),
    })
    .default({})
    .describe('Rate limits; every value is a positive number, unset means unlimited.'),
  retry: z
    .strictObject({
      connectionMinutes: int(10, 1440).default(720).describe('How long to retry when the source or destination is unreachable (10-1440; over 30 recommended).'),
      otherMinutes: int(1, 1440).default(10).describe('How long to retry other failures such as DDL or DML errors (1-1440); must be smaller than `connectionMinutes`.'),
      autoRestartWithinDays: int(0, 365).default(7).describe('A failed task younger than this many days restarts automatically (0 = never).'),
    })
    .default({ connectionMinutes: 720, otherMinutes: 10, autoRestartWithinDays: 7 })
    .describe('Retry windows.'),
  etl: z
    .strictObject({
      expression: z.string().min(1).describe('ETL program: `[on <table>:] set <col> = <expr>`, `drop <col>`, `keep when <expr>` (see docs).'),
    })
    .optional()
    .describe('Row transformation in a small safe language (no JavaScript).'),
  monitoring: z
    .strictObject({
      latencyThresholdSeconds: positive().optional().describe('Alert when incremental latency exceeds this many seconds.'),
      alertOnFailure: bool().default(true).describe('Alert when the task fails.'),
      webhookUrl: z.url().optional().describe('POST alerts to this URL (its query string is masked in logs).'),
    })
    .default({ alertOnFailure: true })
    .describe('Monitoring and alerting.'),
  checkpoints: z
    .discriminatedUnion('store', [
      z.strictObject({
        store: z.literal('file').describe('Store positions in local files.'),
        dir: nonEmpty().default('.tributary/checkpoints').describe('Directory for checkpoint files.'),
      }),
      z.strictObject({
        store: z.literal('kafka').describe('Store positions in a compacted Kafka topic.'),
        topic: nonEmpty().default('__tributary_checkpoints').describe('Compacted checkpoint topic.'),
      }),
    ])
    .default({ store: 'file', dir: '.tributary/checkpoints' })
    .describe('Where confirmed source positions are kept.'),
  fullSync: z
    .strictObject({
      parallelism: int(1, 64).default(4).describe('Chunks copied in parallel.'),
      chunkRows: int(1, 10_000_000).default(50_000).describe('Target rows per chunk (PostgreSQL: a page range sized from the table\'s rows per page; Db2 and MongoDB: a key range).'),
      onlyOneIdType: bool().default(false).describe('MongoDB: every `_id` in a collection has one data type, so the `_id` type scan is skipped.'),
    })
    .default({ parallelism: 4, chunkRows: 50_000, onlyOneIdType: false })
    .describe('Full synchronization tuning.'),
  });
}

/** The file schema over the shipped plug-ins, for the config types. */
type FileSchema = ReturnType<typeof taskFileSchema<typeof shippedSourceSchema, typeof shippedDestinationSchema>>;

/** What the file schema parses to, before source-dependent defaults are filled. */
export type TaskConfigParsed = z.output<FileSchema>;
/** What a task file may contain (all defaults optional). */
export type TaskConfigInput = z.input<FileSchema>;
/**
 * A task file whose source is a plug-in the embedding code registered (`registry.register`): its
 * `source` section is whatever that plug-in's schema takes, validated when the task is added.
 */
export type PluginTaskConfigInput = Omit<TaskConfigInput, 'source'> & { source: { type: string } & Record<string, unknown> };

type KafkaParsed = NonNullable<TaskConfigParsed['destination']['kafka']>;
/** The name of a registered format (`canal-json`, `dts-avro`, `shareplex-json` ship). */
export type KafkaFormat = string;
export type KafkaDestinationConfig = Omit<KafkaParsed, 'format'> & { format: KafkaFormat };
export type { MongoDestinationConfig, MongoSourceConfig, PostgresSourceConfig, Db2SourceConfig };
export type SourceConfig = PostgresSourceConfig | MongoSourceConfig | Db2SourceConfig;
export type ObjectSelection = TaskConfigParsed['objects'][number];
export type ExcludeSelection = TaskConfigParsed['exclude'][number];

/** A validated task config with every default filled. */
export type TaskConfig = Omit<TaskConfigParsed, 'source' | 'destination'> & {
  source: SourceConfig;
  destination: { kafka: KafkaDestinationConfig; mongodb?: undefined } | { kafka?: undefined; mongodb: MongoDestinationConfig };
};

/** A transformation function the embedded API may pass instead of (or after) `etl.expression`. */
export type EtlFunction = (event: ChangeEvent) => ChangeEvent | null | undefined | readonly ChangeEvent[];

/** What the embedding API accepts: a task config plus code that cannot live in a file. */
export type TaskOptions = TaskConfig & { etlFunction?: EtlFunction };

// ---------------------------------------------------------------------------------------------
// Cross-field rules
// ---------------------------------------------------------------------------------------------

export type { Loose };

function isRelational(type: unknown): boolean {
  return type === 'postgres' || type === 'db2';
}

/** What the task-wide rules need of the registered plug-ins (compose.ts passes the descriptors). */
export interface CheckPlugins {
  /** How messages name the configured source (`PostgreSQL`, `PolarDB for PostgreSQL`). */
  sourceTitle(source: unknown): string;
  /** The one database a task of this source reads; undefined when it spans databases. */
  sourceDatabase(source: unknown): string | undefined;
  /** Runs the plug-ins' own rules on their sections. */
  checkSections(input: { source?: unknown; destination?: unknown }, report: Report): void;
}

/** Checks between fields. Runs even when other fields failed, so every problem is reported at once. */
export function checkTask(input: Loose<TaskConfigParsed>, report: Report, plugins: CheckPlugins): void {
  const src = input.source;
  const dst = input.destination;
  const type = src?.type;
  const flavour = src?.type === 'postgres' ? (src.flavour ?? 'postgres') : undefined;
  const srcLabel = plugins.sourceTitle(src);
  plugins.checkSections(input, report);

  // --- source (the plug-ins' own rules run in checkSections) ---
  // --- destination ---
  const kafka = dst?.kafka;
  const mongoDst = dst?.mongodb;
  if (dst !== undefined && (kafka === undefined) === (mongoDst === undefined)) {
    report(['destination'], kafka === undefined ? 'no destination is configured' : 'both `kafka` and `mongodb` are configured', 'Configure exactly one of destination.kafka or destination.mongodb.');
  }
  if (kafka !== undefined) {
    if (type === 'mongodb' && kafka.format !== undefined && kafka.format !== 'canal-json') {
      report(['destination', 'kafka', 'format'], `MongoDB sources support only the canal-json format, not "${kafka.format}"`, 'Set destination.kafka.format to "canal-json" or remove it.');
    }
    if (kafka.schemaRegistry !== undefined && kafka.format !== undefined && kafka.format !== 'dts-avro') {
      report(['destination', 'kafka', 'schemaRegistry'], 'a schema registry stores Avro schemas and is used only with the dts-avro format', 'Remove destination.kafka.schemaRegistry, or set format to "dts-avro".');
    }
    if (kafka.schemaRegistry !== undefined && type === 'mongodb') {
      report(['destination', 'kafka', 'schemaRegistry'], 'MongoDB sources write canal-json, which has no schema', 'Remove destination.kafka.schemaRegistry.');
    }
    if (kafka.exactlyOnce === true && input.checkpoints?.store !== 'kafka') {
      report(['destination', 'kafka', 'exactlyOnce'], 'exactly-once writes commit data and checkpoint in one Kafka transaction, so checkpoints must live in Kafka', 'Set checkpoints.store to "kafka", or set exactlyOnce to false.');
    }
    if (kafka.exactlyOnce === true && kafka.acks !== undefined && kafka.acks !== 'all') {
      report(['destination', 'kafka', 'acks'], 'exactly-once writes need acks "all"', 'Set destination.kafka.acks to "all" (the default).');
    }
    if (kafka.tls?.enabled === false && kafka.tls.caCert !== undefined) {
      report(['destination', 'kafka', 'tls', 'caCert'], 'a CA certificate is set but TLS is disabled', 'Set destination.kafka.tls.enabled to true, or remove caCert.');
    }
  }
  if (mongoDst !== undefined) {
    if (type !== undefined && type !== 'mongodb') {
      report(['destination', 'mongodb'], `a ${srcLabel} source cannot be written to MongoDB`, 'Use destination.kafka, or a MongoDB source.');
    }
    if ((mongoDst.uri === undefined) === (mongoDst.hosts === undefined)) {
      report(['destination', 'mongodb', 'uri'], mongoDst.uri === undefined ? 'a MongoDB destination needs `uri` or `hosts`' : 'set either `uri` or `hosts`, not both', 'Give destination.mongodb.uri or destination.mongodb.hosts.');
    }
    if (mongoDst.uri !== undefined && !/^mongodb(\+srv)?:\/\//.test(mongoDst.uri)) {
      report(['destination', 'mongodb', 'uri'], 'is not a MongoDB connection string', 'Use the form mongodb://user:password@host:27017/.');
    }
    checkMongoConnection(mongoDst, ['destination', 'mongodb'], 'destination.mongodb', report);
  }

  // --- sync types ---
  const st = input.syncTypes;
  if (st !== undefined) {
    if (st.schema === false && st.full === false && st.incremental === false) {
      report(['syncTypes'], 'nothing to synchronize', 'Enable at least one of syncTypes.schema, full or incremental.');
    }
    if (kafka !== undefined && st.incremental === false && (type === 'mongodb' || flavour === 'polardb')) {
      report(['syncTypes', 'incremental'], `incremental synchronization is always on for ${srcLabel} to Kafka`, 'Remove syncTypes.incremental or set it to true.');
    }
    if (kafka !== undefined && isRelational(type) && st.schema === true) {
      report(
        ['syncTypes', 'schema'],
        `schema synchronization has nothing to create for ${srcLabel} to Kafka: a topic has no table definitions (DDL is delivered as DDL events by incremental synchronization, and dts-avro carries each record's schema)`,
        'Remove syncTypes.schema or set it to false; set createTopics: true to have missing topics created.',
      );
    }
    if (kafka !== undefined && type === 'mongodb' && st.schema === true) {
      report(['syncTypes', 'schema'], 'schema synchronization is not available for MongoDB to Kafka', 'Remove syncTypes.schema or set it to false.');
    }
    if (st.full === false && input.throttle?.full !== undefined) {
      report(['throttle', 'full'], 'full-sync throttling is set but full synchronization is off', 'Remove throttle.full, or set syncTypes.full to true.');
    }
    if (st.incremental === false && input.throttle?.incremental !== undefined) {
      report(['throttle', 'incremental'], 'incremental throttling is set but incremental synchronization is off', 'Remove throttle.incremental, or set syncTypes.incremental to true.');
    }
  }

  if (input.conflictMode === 'clearDestination' && kafka !== undefined) {
    report(
      ['conflictMode'],
      '"clearDestination" is not available for a Kafka destination: the task does not delete the records already in its topics, so the mode would act as "ignoreAndProceed"',
      'Use "precheckAndReport" (fail when the topics hold messages) or "ignoreAndProceed" (append to them); empty the topics yourself (kafka-delete-records) if they must start empty.',
    );
  } else if (input.conflictMode === 'clearDestination' && type !== undefined && type !== 'db2') {
    report(['conflictMode'], `"clearDestination" is offered only for Db2 sources, not ${srcLabel}`, 'Use "precheckAndReport" or "ignoreAndProceed".');
  }

  // --- retry ---
  const r = input.retry;
  const conn = r?.connectionMinutes;
  const other = r?.otherMinutes;
  if (typeof conn === 'number' && typeof other === 'number' && other >= conn) {
    report(['retry', 'otherMinutes'], `must be smaller than retry.connectionMinutes (${conn}), got ${other}`, `Set retry.otherMinutes below ${conn} (default 10), or raise retry.connectionMinutes.`);
  }

  if (type === 'mongodb' && input.throttle?.full?.sourceQps !== undefined) {
    report(['throttle', 'full', 'sourceQps'], 'the MongoDB full synchronization does not rate its queries, so a query rate would not be applied', 'Remove throttle.full.sourceQps; throttle.full.rps and mbps limit the copy.');
  }
  if (input.fullSync?.onlyOneIdType === true && type !== undefined && type !== 'mongodb') {
    report(['fullSync', 'onlyOneIdType'], 'applies only to MongoDB sources', 'Remove fullSync.onlyOneIdType.');
  }

  // --- etl ---
  const expr = input.etl?.expression;
  if (typeof expr === 'string') {
    try {
      compileEtl(expr);
    } catch (e) {
      if (!(e instanceof EtlSyntaxError)) throw e;
      report(['etl', 'expression'], `ETL syntax error at ${e.message}`, 'Write rules as `[on <table>:] set <col> = <expr>`, `drop <col>` or `keep when <expr>`; see the configuration reference.');
    }
  }

  // --- objects ---
  checkObjects(input, report, { type, flavour, srcLabel, taskDb: plugins.sourceDatabase(src), kafka: kafka !== undefined, keyHash: kafka?.partitionPolicy === 'keyHash' });
}

interface ObjectContext {
  type: unknown;
  flavour: unknown;
  srcLabel: string;
  taskDb: string | undefined;
  kafka: boolean;
  keyHash: boolean;
}

function checkObjects(input: Loose<TaskConfigParsed>, report: Report, ctx: ObjectContext): void {
  const objects = Array.isArray(input.objects) ? input.objects : [];
  const taskDb = ctx.taskDb;
  const isMongo = ctx.type === 'mongodb';
  const noDdl = ctx.flavour === 'analyticdb' || ctx.type === 'db2';
  const seen = new Map<string, number>();
  let tableLevel = 0;
  let mapping = false;

  objects.forEach((o, i) => {
    if (o === undefined || o === null || typeof o !== 'object') return;
    const at = (...rest: Path): Path => ['objects', i, ...rest];
    const leaf = isMongo ? o.collection : o.table;
    if (isMongo) {
      if (o.database === undefined) report(at('database'), 'a MongoDB object needs a database', 'Set database (and optionally collection).');
      if (o.table !== undefined) report(at('table'), 'MongoDB objects are collections', 'Use `collection` instead of `table`.');
      if (o.schema !== undefined) report(at('schema'), 'MongoDB has no schemas', 'Remove `schema`.');
      if (o.columnRename !== undefined) report(at('columnRename'), 'column mapping is available for relational sources only', 'Remove columnRename, or use etl to reshape documents.');
      if (o.rename?.table !== undefined) report(at('rename', 'table'), 'MongoDB objects are collections: a table name is never used', 'Use rename.collection instead of rename.table.');
      if (o.rename?.schema !== undefined) report(at('rename', 'schema'), 'MongoDB has no schemas: a schema name is never used', 'Remove rename.schema (rename.database maps the database).');
      if (typeof o.database === 'string' && (MONGO_SYSTEM_DATABASES as readonly string[]).includes(o.database)) {
        report(at('database'), `the "${o.database}" database is never synchronized`, 'Remove this object; admin, config and local cannot be selected.');
      }
      if (typeof o.rename?.database === 'string' && (MONGO_SYSTEM_DATABASES as readonly string[]).includes(o.rename.database)) {
        report(at('rename', 'database'), `cannot write into the "${o.rename.database}" database`, 'Map to a user database.');
      }
      if (typeof o.filter === 'string') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(o.filter);
        } catch {
          parsed = undefined;
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          report(at('filter'), 'is not a JSON query document', 'Write the filter as a JSON object, for example {"status": "active"}.');
        } else {
          try {
            compileMongoQuery(parsed as Record<string, unknown>, 'collection');
          } catch (e) {
            const problem = filterProblem(e);
            if (problem === undefined) throw e;
            report(at('filter'), `is not a supported query: ${problem}`, 'Use field conditions with $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $and, $or.');
          }
        }
      }
    } else if (ctx.type !== undefined) {
      if (o.collection !== undefined) report(at('collection'), `${ctx.srcLabel} objects are tables`, 'Use `table` instead of `collection`.');
      if (o.rename?.collection !== undefined) report(at('rename', 'collection'), `${ctx.srcLabel} objects are tables: a collection name is never used`, 'Use rename.table instead of rename.collection.');
      if (taskDb !== undefined && o.database !== undefined && o.database !== taskDb) {
        report(at('database'), `the task reads database "${taskDb}" only`, `Remove database, set it to "${taskDb}", or create one task per database.`);
      }
      if (typeof o.filter === 'string') {
        try {
          parseSqlWhere(o.filter, 'table');
        } catch (e) {
          const problem = filterProblem(e);
          if (problem === undefined) throw e;
          report(at('filter'), `is not a valid SQL WHERE condition: ${problem}`, 'Write one condition such as: amount > 100 AND status = \'paid\'.');
        }
      }
    }
    if (leaf === undefined) {
      for (const k of ['columns', 'filter', 'columnRename', 'partitionKey', 'topic', 'partitions'] as const) {
        if (o[k] === undefined) continue;
        const unit = isMongo ? 'collection' : 'table';
        if (k === 'topic' || k === 'partitions') {
          report(at(k), `applies to a single ${unit}: a ${isMongo ? 'database' : 'schema or database'}-level ${k} is not routed`, `List each ${unit} as its own object with ${k}, or remove ${k} (the task topic, destination.kafka.topic, is used).`);
        } else report(at(k), `applies to a single ${unit}`, `Set ${unit} on this object, or remove ${k}.`);
      }
    } else {
      tableLevel++;
      if (o.partitions !== undefined && o.topic === undefined) {
        report(at('partitions'), 'sets the partition count of the object\'s own topic, and this object has none', 'Set topic on this object too, or remove partitions.');
      }
    }
    if (o.rename !== undefined || o.columnRename !== undefined) mapping = true;
    if (o.partitionKey !== undefined && !ctx.keyHash) {
      report(at('partitionKey'), 'a partition key is used only with partitionPolicy "keyHash"', 'Set destination.kafka.partitionPolicy to "keyHash", or remove partitionKey.');
    }
    const pk: unknown = o.partitionKey;
    const cols: unknown = o.columns;
    if (Array.isArray(pk) && Array.isArray(cols)) {
      const missing = (pk as unknown[]).filter((c) => typeof c === 'string' && !(cols as unknown[]).includes(c));
      if (missing.length > 0) report(at('partitionKey'), `partition key column(s) ${missing.join(', ')} are not among the selected columns`, 'Add them to columns, or change partitionKey.');
    }
    if (!ctx.kafka && (o.topic !== undefined || o.partitions !== undefined || o.partitionKey !== undefined)) {
      const k = o.topic !== undefined ? 'topic' : o.partitions !== undefined ? 'partitions' : 'partitionKey';
      report(at(k), 'applies only to a Kafka destination', `Remove ${k}.`);
    }
    const ops: unknown = o.ops;
    if (Array.isArray(ops) && (ops as unknown[]).includes('ddl') && noDdl) {
      report(at('ops'), `${ctx.srcLabel} sources do not synchronize DDL`, 'Remove "ddl" from ops.');
    }
    const key = [o.database ?? '', o.schema ?? '', leaf ?? ''].join('\u0000');
    const first = seen.get(key);
    if (first !== undefined) report(at(), `selects the same object as objects[${first}]`, 'Merge the two entries into one.');
    else seen.set(key, i);
  });

  const limitKey = ctx.type === 'mongodb' ? 'mongodb' : ctx.type === 'db2' ? 'db2' : ctx.flavour === 'analyticdb' ? 'analyticdb' : ctx.flavour === 'polardb' ? 'polardb' : undefined;
  if (limitKey !== undefined) {
    const { limit, whenMapping } = TABLE_LIMITS[limitKey];
    if (tableLevel > limit && (!whenMapping || mapping)) {
      const unit = isMongo ? 'collections' : 'tables';
      report(
        ['objects'],
        `selects ${tableLevel} ${unit} individually${whenMapping ? ' with name mapping' : ''}; a ${ctx.srcLabel} task allows at most ${limit}`,
        `Split the ${unit} over several tasks, or select whole ${isMongo ? 'databases' : 'schemas/databases'}${whenMapping ? ' without name mapping' : ''}.`,
      );
    }
  }

  const excludes = Array.isArray(input.exclude) ? input.exclude : [];
  excludes.forEach((e, i) => {
    if (e === undefined || e === null || typeof e !== 'object') return;
    if (e.database === undefined && e.schema === undefined && e.table === undefined && e.collection === undefined) {
      report(['exclude', i], 'excludes nothing', 'Name a database, schema, table or collection, or remove the entry.');
    }
    if (isMongo && e.table !== undefined) report(['exclude', i, 'table'], 'MongoDB objects are collections', 'Use `collection` instead of `table`.');
    if (isRelational(ctx.type) && e.collection !== undefined) report(['exclude', i, 'collection'], `${ctx.srcLabel} objects are tables`, 'Use `table` instead of `collection`.');
  });
}

// ---------------------------------------------------------------------------------------------
// Derived defaults
// ---------------------------------------------------------------------------------------------

/** Fills what depends on other sections: PostgreSQL's `captureDdl`, the format from the source's model. */
export function finalizeTask(cfg: TaskConfigParsed, documents: boolean): TaskConfig {
  const source: SourceConfig = cfg.source.type === 'postgres' ? finalizePostgres(cfg.source) : cfg.source;
  let destination: TaskConfig['destination'];
  if (cfg.destination.kafka !== undefined) {
    const format: KafkaFormat = cfg.destination.kafka.format ?? (documents ? 'canal-json' : 'dts-avro');
    destination = { kafka: { ...cfg.destination.kafka, format } };
  } else {
    destination = { mongodb: cfg.destination.mongodb as MongoDestinationConfig };
  }
  return { ...cfg, source, destination };
}
