import { Kafka, logLevel, type Message, type Producer, type SASLOptions, type TopicMessages } from 'kafkajs';
import type { Batch } from '../../core/batch.js';
import type { Logger, PrecheckItem, Sink } from '../../core/contracts.js';
import { ConnectionError, OversizedRecordError, classifyError } from '../../core/errors.js';
import type { ChangeEvent, TableRef } from '../../core/events.js';
import { qualifiedName } from '../../core/events.js';
import { compressionTypes, type CompressionName } from '../../codecs/index.js';
import type { EncodeContext, Format } from '../../formats/index.js';
import { precheckKafka } from './precheck.js';
import { Router, type PartitionPolicy, type TableRoute } from './routing.js';

export type AckMode = 'none' | 'leader' | 'all';
const ACKS: Record<AckMode, number> = { none: 0, leader: 1, all: -1 };

export interface KafkaSinkOptions {
  brokers: string[];
  clientId?: string;
  topic: string;
  ddlTopic?: string;
  format: Format;
  sourceKind: EncodeContext['sourceKind'];
  database: string;
  compression: CompressionName;
  acks: AckMode;
  partitionPolicy: PartitionPolicy;
  routeFor?: (ref: TableRef) => TableRoute | undefined;
  /** Largest encoded message; bigger rows fail the task naming table, key and size. */
  maxMessageBytes: number;
  createTopics: boolean;
  /** Partitions for topics this sink creates (per-table `partitions` overrides). */
  partitionsFor?: (topic: string) => number | undefined;
  conflictMode: 'precheckAndReport' | 'ignoreAndProceed' | 'clearDestination';
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  tls?: { caCert?: string };
  /** Tables the task covers (for prechecks and topic creation). */
  tables?: () => readonly TableRef[];
  logger?: Logger;
}

/**
 * Writes change events to Kafka: encodes each event, routes it to its topic and partition, and
 * sends the batch in order, split so that no request exceeds the broker's message size. `write`
 * resolves only when Kafka acknowledged every message as the ack mode asks; the pipeline then
 * acks the batch and the source may confirm its position.
 */
export class KafkaSink implements Sink {
  readonly kind = 'kafka';
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private readonly router: Router;
  private readonly partitions = new Map<string, number>();
  private sequence = 0;
  /** Messages and bytes written, for metrics. */
  readonly counters = { messages: 0, bytes: 0, batches: 0 };

  constructor(private readonly opts: KafkaSinkOptions) {
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'tributary',
      brokers: opts.brokers,
      logLevel: logLevel.NOTHING,
      ...(opts.sasl ? { sasl: { mechanism: opts.sasl.mechanism, username: opts.sasl.username, password: opts.sasl.password } as SASLOptions } : {}),
      ...(opts.tls ? { ssl: opts.tls.caCert ? { ca: [opts.tls.caCert] } : true } : {}),
      retry: { retries: 5, initialRetryTime: 200 },
    });
    this.router = new Router({ topic: opts.topic, ...(opts.ddlTopic ? { ddlTopic: opts.ddlTopic } : {}), policy: opts.partitionPolicy, ...(opts.routeFor ? { routeFor: opts.routeFor } : {}) });
  }

  async precheck(): Promise<PrecheckItem[]> {
    return precheckKafka(this.kafka, {
      brokers: this.opts.brokers,
      topics: this.router.topics(this.opts.tables?.() ?? []),
      createTopics: this.opts.createTopics,
      conflictMode: this.opts.conflictMode,
      maxMessageBytes: this.opts.maxMessageBytes,
    });
  }

  private async connect(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, idempotent: false });
    try {
      await producer.connect();
    } catch (err) {
      throw new ConnectionError('DESTINATION_UNREACHABLE', `Cannot connect to Kafka at ${this.opts.brokers.join(',')}: ${(err as Error).message}`, {
        object: this.opts.brokers.join(','),
        cause: err,
        fix: 'Check the broker addresses, that every advertised listener is reachable from here, and the SASL/TLS settings.',
      });
    }
    this.producer = producer;
    await this.ensureTopics(this.router.topics(this.opts.tables?.() ?? []));
    return producer;
  }

  /** Learns partition counts; creates missing topics when allowed. */
  private async ensureTopics(topics: string[]): Promise<void> {
    const missing = topics.filter((t) => !this.partitions.has(t));
    if (missing.length === 0) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const absent = missing.filter((t) => !existing.has(t));
      if (absent.length > 0) {
        if (!this.opts.createTopics) {
          throw new ConnectionError('TOPIC_MISSING', `Kafka topic${absent.length > 1 ? 's' : ''} ${absent.join(', ')} do${absent.length > 1 ? '' : 'es'} not exist.`, {
            object: absent.join(','),
            field: 'destination.kafka.topic',
            fix: 'Create the topics first (managed Kafka), or set destination.kafka.createTopics: true for a self-managed cluster.',
          });
        }
        await admin.createTopics({
          waitForLeaders: true,
          topics: absent.map((topic) => ({ topic, numPartitions: this.opts.partitionsFor?.(topic) ?? 1, replicationFactor: -1 })),
        });
      }
      const meta = await admin.fetchTopicMetadata({ topics: missing });
      for (const t of meta.topics) this.partitions.set(t.name, Math.max(1, t.partitions.length));
    } finally {
      await admin.disconnect();
    }
  }

  /** Encodes a batch into per-topic messages; fails before sending anything when a record is too large. */
  private encode(events: readonly ChangeEvent[]): { topicMessages: TopicMessages[]; bytes: number; topics: Set<string> } {
    const byTopic = new Map<string, Message[]>();
    const now = Date.now();
    let bytes = 0;
    const ctx: EncodeContext = { sequence: 0, now, sourceKind: this.opts.sourceKind, database: this.opts.database };
    for (const e of events) {
      if (e.op === 'heartbeat') continue;
      ctx.sequence = ++this.sequence;
      const rec = this.opts.format.encode(e, ctx);
      const size = rec.value.length + (rec.key?.length ?? 0);
      if (size > this.opts.maxMessageBytes) {
        throw new OversizedRecordError(
          `A ${e.op} of table ${qualifiedName(e.shape.ref)} with key ${rec.key?.toString() ?? '(none)'} encodes to ${size} bytes, over the ${this.opts.maxMessageBytes}-byte message limit; nothing of its batch was written.`,
          { object: qualifiedName(e.shape.ref), field: 'destination.kafka.maxMessageBytes', fix: 'Leave large columns out with the object\'s `columns` list, or raise message.max.bytes on the brokers and destination.kafka.maxMessageBytes together.' },
        );
      }
      bytes += size;
      const topic = this.router.topicOf(e);
      const count = this.partitions.get(topic) ?? 1;
      const msg: Message = { key: rec.key, value: rec.value, partition: this.router.partitionOf(e, count) };
      if (rec.headers) msg.headers = rec.headers;
      let list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
      list.push(msg);
    }
    return { topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), bytes, topics: new Set(byTopic.keys()) };
  }

  async write(batch: Batch<ChangeEvent>): Promise<void> {
    const producer = await this.connect();
    const { topicMessages, bytes, topics } = this.encode(batch.items);
    if (topicMessages.length === 0) return;
    const unknown = [...topics].filter((t) => !this.partitions.has(t));
    if (unknown.length > 0) await this.ensureTopics(unknown);
    try {
      // Split so no single produce request carries more than the message limit per partition batch.
      for (const part of splitBySize(topicMessages, this.opts.maxMessageBytes)) {
        await producer.sendBatch({ topicMessages: part, acks: ACKS[this.opts.acks], compression: compressionTypes[this.opts.compression] });
      }
    } catch (err) {
      throw classifyError(err, `writing to Kafka topic${topics.size > 1 ? 's' : ''} ${[...topics].join(', ')}`);
    }
    this.counters.messages += topicMessages.reduce((n, t) => n + t.messages.length, 0);
    this.counters.bytes += bytes;
    this.counters.batches += 1;
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    await p?.disconnect().catch(() => undefined);
  }
}

/** Groups topic messages into sends of at most `limit` raw bytes each, keeping order. */
export function splitBySize(topicMessages: TopicMessages[], limit: number): TopicMessages[][] {
  const out: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let size = 0;
  for (const tm of topicMessages) {
    let chunk: Message[] = [];
    for (const m of tm.messages) {
      const n = (m.value as Buffer | null)?.length ?? 0;
      if (size + n > limit && (chunk.length > 0 || current.length > 0)) {
        if (chunk.length > 0) current.push({ topic: tm.topic, messages: chunk });
        out.push(current);
        current = [];
        chunk = [];
        size = 0;
      }
      chunk.push(m);
      size += n;
    }
    if (chunk.length > 0) current.push({ topic: tm.topic, messages: chunk });
  }
  if (current.length > 0) out.push(current);
  return out;
}
