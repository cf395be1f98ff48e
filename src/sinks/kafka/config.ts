/** The Kafka destination's options (`destination.kafka`). */
import { z } from 'zod';
import { KAFKA_DEFAULT_PORT, bool, caCert, hostList, int, nonEmpty, secret } from '../../config/primitives.js';

/** 10 MB: the largest message the seeds let a task write to Kafka. */
export const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
export const COMPRESSIONS = ['lz4', 'gzip', 'snappy', 'none'] as const;
export const PARTITION_POLICIES = ['partition0', 'tableHash', 'keyHash'] as const;
export const ACKS = ['none', 'leader', 'all'] as const;
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

export const kafkaDestinationSchema = z
  .strictObject({
    brokers: hostList(KAFKA_DEFAULT_PORT).describe('Bootstrap brokers, `host:port` (port 9092 when omitted); a list or a comma-separated string.'),
    topic: nonEmpty().describe('Topic that receives the data (the task topic); objects may override it.'),
    ddlTopic: nonEmpty().optional().describe('Topic for DDL events. Default: the data topic.'),
    // One of the registered formats: the task schema replaces this with their names (`formatOption`).
    format: nonEmpty().optional().describe('Message format. Default `dts-avro` for relational sources; MongoDB sources support `canal-json` only.'),
    compression: z.enum(COMPRESSIONS).default('lz4').describe('Record-batch compression: `lz4` (fast), `gzip` (smallest, most CPU), `snappy` (balanced), `none`.'),
    partitionPolicy: z
      .enum(PARTITION_POLICIES)
      .default('partition0')
      .describe('Partition routing: all to partition 0, by hash of database+table name, or by hash of the key (`partitionKey` columns, else the primary key).'),
    acks: z.enum(ACKS).default('all').describe('Message acknowledgement: `none` (acks=0), `leader` (acks=1) or `all` (acks=-1, all in-sync replicas).'),
    createTopics: bool().default(false).describe('Create missing topics (self-managed Kafka). When false, topics must exist.'),
    clientId: nonEmpty().default('tributary').describe('Kafka client id.'),
    sasl: z
      .strictObject({
        mechanism: z.enum(SASL_MECHANISMS).describe('SASL mechanism.'),
        username: nonEmpty().describe('SASL user name.'),
        password: secret('SASL password'),
      })
      .optional()
      .describe('SASL authentication.'),
    tls: z
      .strictObject({
        enabled: bool().default(true).describe('Connect with TLS.'),
        caCert: caCert(),
      })
      .optional()
      .describe('TLS to the brokers.'),
    maxMessageBytes: int(1024, 1024 * 1024 * 1024).default(DEFAULT_MAX_MESSAGE_BYTES).describe('Largest message the task writes; a bigger row fails the task naming the table (filter large columns out).'),
    exactlyOnce: bool().default(false).describe('Transactional producer writing data and checkpoint together (needs `checkpoints.store: kafka`). Use it for tables without a primary key.'),
    schemaRegistry: z
      .strictObject({
        url: z.url().describe('Schema registry URL (Confluent-compatible).'),
      })
      .optional()
      .describe('Register DTS Avro schemas in a schema registry.'),
  })
  .describe('Apache Kafka destination.');
