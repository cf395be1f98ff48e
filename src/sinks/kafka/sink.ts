import type { Admin, Kafka, KafkaConfig, Message, Producer, TopicMessages } from 'kafkajs';
import { newKafkaClient } from '../../kafka/kafkajs.js';
import { createTopicsAndWait } from '../../kafka/createTopics.js';
import type { Checkpoint } from '../../checkpoints/store.js';
import type { Batch } from '../../core/batch.js';
import type { Logger, OpenBatch, PrecheckContext, PrecheckItem, Sink, SinkCapabilities } from '../../core/contracts.js';
import type { TributaryError} from '../../core/errors.js';
import { ConnectionError, FatalError, TransientError, classifyError } from '../../core/errors.js';
import type { ChangeEvent, TableRef } from '../../core/events.js';
import { compressionTypes, type CompressionName } from '../../codecs/index.js';
import type { Format } from '../../formats/index.js';
import { loadCommittedCheckpoint } from './exactlyOnce.js';
import { kafkaClientConfig } from './clientConfig.js';
import { fastPathStatus } from '../../kafka/patches.js';
import { precheckKafka } from './precheck.js';
import { Router, type PartitionPolicy, type TableRoute } from './routing.js';
import { BatchEncoder } from './batchEncoder.js';
import { messageSize } from './messageSize.js';
import { WorkerProducer, packBatch, packEncoded, type EncodedBatch, type PackedBatch } from './workerProducer.js';

export { messageSize } from './messageSize.js';

/**
 * Message acknowledgement mechanism (the seeds' "Message acknowledgement mechanism"):
 *
 * - `none` (acks=0): the producer does not wait for the broker at all. `write` resolves once the
 *   request is on the socket; a broker crash or a rejected request loses those messages silently,
 *   and the task still confirms the source position. Fastest; at-most-once.
 * - `leader` (acks=1): the partition leader has appended the messages to its log. Messages are lost
 *   if the leader fails before its followers copied them. At-least-once against a single broker,
 *   a small loss window on leader failover.
 * - `all` (acks=-1, default): every in-sync replica has the messages (at least
 *   `min.insync.replicas` of them). Nothing the task confirmed is lost while one in-sync replica
 *   survives. At-least-once; required by `exactlyOnce` (idempotent producers must use acks=all).
 */
export type AckMode = 'none' | 'leader' | 'all';
const ACKS: Record<AckMode, number> = { none: 0, leader: 1, all: -1 };

/** The Kafka `acks` value of an acknowledgement mode: none → 0, leader → 1, all → -1. */
export function ackValue(mode: AckMode): 0 | 1 | -1 {
  const v = ACKS[mode];
  if (v === undefined) throw new FatalError('CONFIG_INVALID', `unknown acknowledgement mode '${String(mode)}'`, { field: 'destination.kafka.acks', fix: 'Use none, leader or all.' });
  return v as 0 | 1 | -1;
}

/** Headroom for record-batch and request headers when filling a request to the broker's limit. */
const BATCH_HEADROOM = 16 * 1024;

/**
 * Exactly-once delivery: every batch is written in one Kafka transaction together with a
 * checkpoint record for the task (key = task id, value = Checkpoint JSON, as KafkaCheckpointStore
 * writes them) in the compacted checkpoint topic. A read_committed consumer sees a batch exactly
 * when its checkpoint is visible. After a crash, the restarted task (same `transactionalId`, which
 * fences the dead producer and aborts its open transaction) loads the committed checkpoint with
 * `loadCommittedCheckpoint` and drops the already committed events with `skipThrough`.
 */
export interface ExactlyOnceOptions {
  /** Stable per task across restarts (e.g. `tributary-<task name>`): it is what fences a zombie writer. */
  transactionalId: string;
  /** The compacted checkpoint topic (KafkaCheckpointStore's topic). Created compacted when missing. */
  checkpointTopic: string;
  taskId: string;
  /** The task's current checkpoint; the sink writes it with `position` = the batch's last incremental event. */
  checkpoint: () => Checkpoint;
  /** Called after a transaction committed, with the checkpoint it committed. */
  onCommitted?: (checkpoint: Checkpoint) => void;
  /** Broker-side transaction timeout, ms (default 60000). */
  transactionTimeoutMs?: number;
}

/** Encodes values for the wire after the format: e.g. the Confluent schema-registry framing. */
export interface ValueFramer {
  /** Prepares (registers schemas for) the topics about to be written. */
  prepare(topics: readonly string[]): Promise<void>;
  frame(topic: string, value: Buffer): Buffer;
}

export interface KafkaSinkOptions {
  brokers: string[];
  clientId?: string;
  topic: string;
  ddlTopic?: string;
  format: Format;
  /** The source's rows are documents keyed by `_id` (its declared capability): written as documents, never split by key. */
  documents: boolean;
  /** The name the formats' clients know the source by (DTS Avro `source.sourceType`). */
  sourceName: string;
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
  /** Transactional writes of data and checkpoint together (forces acks=all). */
  exactlyOnce?: ExactlyOnceOptions;
  /** Frames values after encoding (schema registry wire format). */
  valueFramer?: ValueFramer;
  /**
   * Runs kafkajs production (record encoding, compression, CRC, sockets) on a worker thread and
   * keeps up to `maxInFlightWrites` batches in flight, in order (default true; always false with
   * `exactlyOnce`, whose transactions stay on the main thread).
   */
  producerThread?: boolean;
  /** Batches in flight at once with `producerThread` (default 4). */
  maxInFlightWrites?: number;
}

/**
 * Writes change events to Kafka: encodes each event, routes it to its topic and partition, and
 * sends the batch in order, split so that no request exceeds the broker's message size. `write`
 * resolves only when Kafka acknowledged every message as the ack mode asks; the pipeline then
 * acks the batch and the source may confirm its position.
 *
 * Acknowledgement mechanisms (`acks`): `none` = acks 0, nothing is awaited and messages can be lost
 * silently (at-most-once); `leader` = acks 1, the leader wrote them, lost if it dies before
 * replicating; `all` = acks -1 (default), every in-sync replica wrote them, nothing confirmed is lost
 * while one in-sync replica survives. See `AckMode`.
 *
 * Partition policies: `partition0` all in partition 0 (total order); `tableHash` one partition per
 * table (hash of schema/database + table name: per-table order); `keyHash` hash of the `partitionKey`
 * columns (default the primary key; tables without one fall back to `tableHash`): per-key order.
 * DDL always goes to partition 0 of the DDL topic. An update that changed the row's key is written
 * as a delete (old key, old key's partition) then an insert (new key, its partition), under every
 * policy, so one key's history never spans two partitions (keyChanges.ts).
 *
 * Sizes: a single message over `maxMessageBytes` fails the whole batch before anything is sent
 * (OversizedRecordError naming table, key and size). Batches are split into produce requests of at
 * most `maxMessageBytes` (records plus overhead), so a batch larger than the broker's
 * message.max.bytes is written in several requests, in order.
 *
 * Exactly-once: see `ExactlyOnceOptions`.
 *
 * Producer thread (`producerThread`, default unless exactly-once): encoding and routing stay on the
 * calling thread; each batch's keys and values are packed into one transferred buffer and produced
 * by kafkajs on a worker thread (workerProducer.ts), FIFO and fail-stop, with up to
 * `maxInFlightWrites` batches posted at once. A crashed worker rejects the pending writes with a
 * ConnectionError; the next write starts a new one.
 */
export class KafkaSink implements Sink {
  readonly kind = 'kafka';
  private readonly kafka: Kafka;
  private readonly clientConfig: Pick<KafkaConfig, 'brokers' | 'sasl' | 'ssl'>;
  private producer: Producer | null = null;
  /** The admin connection heartbeat-only batches are acknowledged through. */
  private probeAdmin: Admin | null = null;
  private connecting: Promise<Producer | WorkerProducer> | null = null;
  /** Exactly-once: closed since the last recover(); a write then refuses (see write()). */
  private closedSinceRecover = false;
  /** Exactly-once: the last transaction queued (see write()). */
  private txTail: Promise<void> = Promise.resolve();
  /** Bumped by close(): an exactly-once write queued before it never runs after it. */
  private session = 0;
  /** Exactly-once: why a transaction failed since the last recover(); later writes refuse. */
  private failedTransaction: string | null = null;
  /** The producer thread (producerThread mode); replaced after it exited. */
  private worker: WorkerProducer | null = null;
  /** Orders the main-thread stage of concurrent writes (topics, encoding, posting) by call order. */
  private stageTail: Promise<void> = Promise.resolve();
  /** Writes entered and not settled. */
  private outstanding = 0;
  /** Set when a write failed: later writes of the same run fail too, until none is outstanding. */
  private poisoned: Error | null = null;
  /** Worker mode: batches the pipeline may keep in flight at once (1 = one after the other). */
  readonly maxInFlightWrites: number;
  private readonly router: Router;
  private readonly partitions = new Map<string, number>();
  private sequence = 0;
  /** Initial size of a batch's encode buffer (from the previous batch). */
  private arenaHint = 64 * 1024;
  /** Messages and bytes written, for metrics. */
  readonly counters = { messages: 0, bytes: 0, batches: 0 };

  constructor(private readonly opts: KafkaSinkOptions) {
    const { clientId: _clientId, ...connection } = kafkaClientConfig({ brokers: opts.brokers, ...(opts.sasl ? { sasl: opts.sasl } : {}), ...(opts.tls ? { tls: opts.tls } : {}) });
    this.clientConfig = connection;
    // The Kafka plug-in's first client loads kafkajs, installing the fast path first (src/kafka/kafkajs.ts).
    this.kafka = newKafkaClient({ ...this.clientConfig, clientId: opts.clientId ?? 'tributary', retry: { retries: 5, initialRetryTime: 200 } });
    this.maxInFlightWrites = this.threaded ? Math.max(1, opts.maxInFlightWrites ?? 4) : 1;
    if (!this.fastPath.installed && !fastPathWarned) {
      fastPathWarned = true;
      opts.logger?.warn('kafkajs was loaded before Tributary could install its fast path, so the fast path is not in effect: Kafka production runs on the stock kafkajs encoders (correct, about 6x slower per message)', {
        missing: this.fastPath.missing.join(', '),
        fix: "call installKafkaFastPath() from 'tributary' before anything in the process loads 'kafkajs'",
      });
    }
    this.router = new Router({ topic: opts.topic, ...(opts.ddlTopic ? { ddlTopic: opts.ddlTopic } : {}), policy: opts.partitionPolicy, ...(opts.routeFor ? { routeFor: opts.routeFor } : {}) });
  }

  /** Whether Tributary's kafkajs fast path is in effect (see `fastPathStatus`). */
  readonly fastPath = fastPathStatus();

  diagnostics(): Record<string, number> {
    return { kafka_fast_path: this.fastPath.installed ? 1 : 0 };
  }

  get capabilities(): SinkCapabilities {
    return { maxInFlightWrites: this.maxInFlightWrites, transactional: this.opts.exactlyOnce !== undefined };
  }

  async precheck(context?: PrecheckContext): Promise<PrecheckItem[]> {
    return precheckKafka(this.kafka, {
      resuming: context?.resuming ?? false,
      brokers: this.opts.brokers,
      topics: this.router.topics(this.opts.tables?.() ?? []),
      createTopics: this.opts.createTopics,
      conflictMode: this.opts.conflictMode,
      maxMessageBytes: this.opts.maxMessageBytes,
      ...(this.opts.sasl ? { sasl: { mechanism: SASL_NAMES[this.opts.sasl.mechanism] ?? this.opts.sasl.mechanism, username: this.opts.sasl.username, password: this.opts.sasl.password } } : {}),
    });
  }

  /**
   * Exactly-once restart: connects the transactional producer (fencing any older writer with the
   * same transactionalId and aborting its open transaction), then returns the last committed
   * checkpoint of the task (null when none). Resume from its `position` and drop replayed events
   * with `skipThrough(position)`.
   */
  async recover(): Promise<Checkpoint | null> {
    const eo = this.opts.exactlyOnce;
    if (!eo) throw new FatalError('CONFIG_INVALID', 'KafkaSink.recover() needs the exactlyOnce option', { field: 'destination.kafka.exactlyOnce' });
    this.closedSinceRecover = false;
    this.failedTransaction = null;
    await this.connect();
    try {
      const cp = await loadCommittedCheckpoint(this.clientConfig, eo.checkpointTopic, eo.taskId);
      this.opts.logger?.debug('recovered the committed checkpoint', { task: eo.taskId, position: cp?.position });
      return cp;
    } catch (err) {
      throw classifyError(err, `reading the committed checkpoint of task ${eo.taskId} from ${eo.checkpointTopic}`);
    }
  }

  /** Production on a worker thread: asked for (default) and not exactly-once. */
  private get threaded(): boolean {
    return (this.opts.producerThread ?? true) && !this.opts.exactlyOnce;
  }

  private connect(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    if (this.threaded) throw new Error('KafkaSink.connect() is for the in-process producer');
    return this.connectOnce(() => this.connectInProcess()) as Promise<Producer>;
  }

  /** Concurrent writes share one connection attempt. */
  private connectOnce<T extends Producer | WorkerProducer>(fn: () => Promise<T>): Promise<T> {
    if (!this.connecting) this.connecting = fn().finally(() => (this.connecting = null));
    return this.connecting as Promise<T>;
  }

  /** Starts (or restarts, after it exited) the producer thread and connects its producer. */
  private connectWorker(): Promise<WorkerProducer> {
    if (this.worker?.alive) return Promise.resolve(this.worker);
    return this.connectOnce(async () => {
      const w = new WorkerProducer({
        // kafkajs adds a function to the SASL object of a client it authenticated: the thread gets a clean copy.
        client: { ...this.clientConfig, ...(this.clientConfig.sasl ? { sasl: { ...this.clientConfig.sasl, authenticationProvider: undefined } as unknown as KafkaConfig['sasl'] } : {}), clientId: this.opts.clientId ?? 'tributary' },
        acks: ackValue(this.opts.acks),
        compression: compressionTypes[this.opts.compression],
      });
      try {
        await w.connect();
      } catch (err) {
        await w.close().catch(() => undefined);
        throw connectError(err, this.opts);
      }
      this.worker = w;
      await this.ensureTopics(this.router.topics(this.opts.tables?.() ?? []));
      return w;
    });
  }

  private async connectInProcess(): Promise<Producer> {
    const eo = this.opts.exactlyOnce;
    const producer = eo
      ? this.kafka.producer({
          allowAutoTopicCreation: false,
          transactionalId: eo.transactionalId,
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: eo.transactionTimeoutMs ?? 60_000,
        })
      : this.kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, idempotent: false });
    try {
      await producer.connect();
      if (eo) {
        // kafkajs runs the transactional InitProducerId lazily, at the first transaction(). Run it
        // now: it fences every older producer of this transactionalId and aborts the transaction
        // such a producer left open, before anything (a checkpoint read) depends on it. Aborting
        // an empty transaction sends nothing.
        const tx = await producer.transaction();
        await tx.abort();
      }
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw connectError(err, this.opts);
    }
    this.producer = producer;
    const topics = this.router.topics(this.opts.tables?.() ?? []);
    await this.ensureTopics(topics);
    if (eo) await ensureCheckpointTopic(this.kafka, eo.checkpointTopic);
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
        await createTopicsAndWait(
          admin,
          absent.map((topic) => ({ topic, numPartitions: this.opts.partitionsFor?.(topic) ?? 1, replicationFactor: -1 })),
        );
      }
      const meta = await admin.fetchTopicMetadata({ topics: missing });
      for (const t of meta.topics) this.partitions.set(t.name, Math.max(1, t.partitions.length));
    } finally {
      await admin.disconnect();
    }
  }

  /** A new batch encoder over this sink's format, routes and known partition counts. */
  private encoder(): BatchEncoder {
    return new BatchEncoder({
      format: this.opts.format,
      documents: this.opts.documents,
      sourceName: this.opts.sourceName,
      maxMessageBytes: this.opts.maxMessageBytes,
      router: this.router,
      partitions: this.partitions,
      nextSequence: () => ++this.sequence,
      capacity: this.arenaHint,
      ...(this.threaded ? { reuse: this.worker?.takeSpare(this.arenaHint) } : {}),
    });
  }

  /**
   * Encodes a batch into one ByteSink (see BatchEncoder), routed and grouped by topic; fails
   * before sending anything when a record is too large.
   */
  private encode(input: readonly ChangeEvent[]): { enc: EncodedBatch; bytes: number; topics: Set<string> } {
    const encoder = this.encoder();
    for (const e of input) encoder.add(e);
    return this.finish(encoder);
  }

  private finish(encoder: BatchEncoder): { enc: EncodedBatch; bytes: number; topics: Set<string> } {
    const enc = encoder.resolve();
    // Size the next batch's buffer from this one (the producer thread hands sent buffers back for reuse).
    if (enc.count > 0) this.arenaHint = Math.max(64 * 1024, Math.ceil(enc.data.pos * 1.25));
    return { enc, bytes: encoder.bytes, topics: encoder.topics() };
  }

  /**
   * Main-thread work of a threaded write without a value framer: encode, route, split by size
   * and pack for the producer thread (the encoded bytes are transferred as they lie). Null when
   * the batch has nothing to write. Public for bench/micro-canal.ts.
   */
  packForWorker(events: readonly ChangeEvent[]): { packed: PackedBatch; bytes: number; topics: Set<string> } | null {
    const { enc, bytes, topics } = this.encode(events);
    if (enc.count === 0) return null;
    return { packed: packEncoded(enc, this.requestLimit), bytes, topics };
  }

  private get requestLimit(): number {
    return Math.max(1024, this.opts.maxMessageBytes - BATCH_HEADROOM);
  }

  async write(batch: Batch<ChangeEvent>): Promise<void> {
    if (this.threaded) return this.writeThreaded(batch);
    if (!this.opts.exactlyOnce) return this.writeInProcess(batch);
    // One transaction at a time on the task's transactional producer, in call order: parallel
    // full-sync chunks share it (kafkajs refuses a second transaction while one is open).
    const session = this.session;
    const run = this.txTail.then(() => this.writeInProcess(batch, session));
    this.txTail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** A batch written by the in-process producer (exactly-once: in one transaction with the checkpoint). */
  private async writeInProcess(batch: Batch<ChangeEvent>, session = this.session): Promise<void> {
    if (this.opts.exactlyOnce && this.failedTransaction) {
      // Nothing may commit after a transaction that failed (its outcome may even be unknown): a
      // later batch's checkpoint would skip it. The retry recovers from what Kafka committed.
      throw new TransientError('TRANSACTION_FAILED', `Kafka sink of task ${this.opts.exactlyOnce.taskId}: an earlier transaction failed (${this.failedTransaction}); the task restarts from its committed checkpoint.`, { object: this.opts.exactlyOnce.transactionalId });
    }
    if (this.opts.exactlyOnce && (this.closedSinceRecover || session !== this.session)) {
      // Reconnecting here would take the transactional id over again (fencing whoever took it
      // since) and write from a checkpoint that may be stale: a restart goes through recover().
      throw new FatalError('SINK_CONTRACT', `Kafka sink of task ${this.opts.exactlyOnce.taskId}: an exactly-once write after close() needs recover() first.`, { object: this.opts.exactlyOnce.transactionalId });
    }
    const producer = await this.connect();
    // Learn the partition counts of every topic of this batch before choosing partitions.
    const unknown = new Set<string>();
    for (const e of batch.items) if (e.op !== 'heartbeat') { const t = this.router.topicOf(e); if (!this.partitions.has(t)) unknown.add(t); }
    if (unknown.size > 0) await this.ensureTopics([...unknown]);
    const { enc, bytes, topics } = this.encode(batch.items);
    const topicMessages = toTopicMessages(enc);
    const eo = this.opts.exactlyOnce;
    if (topicMessages.length === 0 && !eo) {
      // Heartbeats only: acknowledged only when the destination answers (they measure it).
      if (batch.items.length > 0) await this.probe();
      return;
    }
    if (this.opts.valueFramer && topicMessages.length > 0) {
      const framer = this.opts.valueFramer;
      try {
        await framer.prepare([...topics]);
      } catch (err) {
        throw classifyError(err, 'registering schemas in the schema registry');
      }
      for (const tm of topicMessages) for (const m of tm.messages) m.value = framer.frame(tm.topic, m.value as Buffer);
    }
    const parts = splitBySize(topicMessages, this.requestLimit);
    const compression = compressionTypes[this.opts.compression];
    try {
      if (eo) {
        const checkpoint = this.checkpointFor(batch.items, eo);
        const tx = await producer.transaction();
        try {
          for (const part of parts) await tx.sendBatch({ topicMessages: part, compression });
          await tx.send({ topic: eo.checkpointTopic, messages: [{ key: eo.taskId, value: JSON.stringify(checkpoint) }] });
          await tx.commit();
        } catch (err) {
          this.failedTransaction = (err as Error).message ?? String(err);
          await tx.abort().catch(() => undefined);
          throw err;
        }
        this.opts.logger?.debug('transaction committed', { task: eo.taskId, position: checkpoint.position, messages: topicMessages.reduce((n, t) => n + t.messages.length, 0) });
        eo.onCommitted?.(checkpoint);
      } else {
        const acks = ackValue(this.opts.acks);
        for (const part of parts) await producer.sendBatch({ topicMessages: part, acks, compression });
      }
    } catch (err) {
      throw writeError(err, topics, this.opts);
    }
    this.counters.messages += topicMessages.reduce((n, t) => n + t.messages.length, 0);
    this.counters.bytes += bytes;
    this.counters.batches += 1;
  }

  /**
   * Worker mode: topics, encoding, framing, splitting and posting happen on the main thread in
   * call order (a chain), the produce on the worker, FIFO. Any failure poisons the writes already
   * entered so no later batch of the same run is posted after an earlier one failed; the worker
   * rejects what was already posted (fail-stop). Once nothing is outstanding, the next write starts
   * clean (the pipeline retries from its acknowledged position).
   */
  private writeThreaded(batch: Batch<ChangeEvent>): Promise<void> {
    return this.produceThreaded(
      () => {
        const encoder = this.encoder();
        for (const e of batch.items) encoder.add(e);
        return encoder;
      },
      () => batch.release(),
    );
  }

  /**
   * A batch encoded while the pipeline fills it (producer thread only: the in-process and
   * exactly-once writes take whole batches). A failure to encode an event (an oversized record)
   * fails the batch's write, before anything of it is sent, as with `write`.
   */
  openBatch(): OpenBatch | null {
    if (!this.threaded) return null;
    const encoder = this.encoder();
    let failure: unknown = null;
    return {
      add(e) {
        if (failure !== null) return;
        try {
          encoder.add(e);
        } catch (err) {
          failure = err;
        }
      },
      write: () =>
        this.produceThreaded(
          () => {
            if (failure !== null) throw failure;
            return encoder;
          },
          () => undefined,
        ),
    };
  }

  /**
   * The producer-thread write of one batch, `encoded` by the time `fill` returns: routing of
   * topics first seen, framing and packing on this thread, the produce on the worker.
   */
  private async produceThreaded(fill: () => BatchEncoder, release: () => void): Promise<void> {
    if (this.outstanding === 0 && this.poisoned) {
      this.poisoned = null;
      this.worker?.reset();
    }
    this.outstanding++;
    let topics = new Set<string>();
    try {
      let sent = null as Promise<void> | null;
      let messages = 0;
      let bytes = 0;
      const stage = this.stageTail.then(async () => {
        if (this.poisoned) throw this.poisoned;
        const worker = await this.connectWorker();
        // Every pipeline writing through this sink (full sync runs several) shares one window of
        // batches posted to the worker: it bounds the memory held in flight.
        await worker.room(this.maxInFlightWrites);
        const encoder = fill();
        const unknown = encoder.unknownTopics();
        if (unknown.length > 0) await this.ensureTopics(unknown);
        if (this.poisoned) throw this.poisoned;
        const { enc, ...rest } = this.finish(encoder);
        topics = rest.topics;
        bytes = rest.bytes;
        if (enc.count === 0) {
          // Heartbeats only: acknowledged only when the destination answers (they measure it).
          if (encoder.added > 0) await this.probe();
          return;
        }
        let packed: PackedBatch;
        if (!this.opts.valueFramer) packed = packEncoded(enc, this.requestLimit);
        else {
          const framer = this.opts.valueFramer;
          const topicMessages = toTopicMessages(enc);
          try {
            await framer.prepare([...topics]);
          } catch (err) {
            throw classifyError(err, 'registering schemas in the schema registry');
          }
          for (const tm of topicMessages) for (const m of tm.messages) m.value = framer.frame(tm.topic, m.value as Buffer);
          if (this.poisoned) throw this.poisoned;
          packed = packBatch(splitBySize(topicMessages, this.requestLimit));
        }
        messages = packed.count;
        // Encoded and packed: the events are not needed any more while the batch is in flight.
        release();
        sent = worker.send(packed);
        sent.catch(() => undefined);
      });
      this.stageTail = stage.catch(() => undefined);
      await stage;
      if (!sent) return;
      try {
        await sent;
      } catch (err) {
        throw writeError(err, topics, this.opts);
      }
      this.counters.messages += messages;
      this.counters.bytes += bytes;
      this.counters.batches += 1;
    } catch (err) {
      this.poisoned ??= err as Error;
      throw err;
    } finally {
      this.outstanding--;
    }
  }

  /** The producer thread, when one is running (tests). */
  get producerWorker(): WorkerProducer | null {
    return this.worker;
  }

  /** The checkpoint committed with a batch: the task's checkpoint, at the batch's last incremental event. */
  private checkpointFor(items: readonly ChangeEvent[], eo: ExactlyOnceOptions): Checkpoint {
    const base = eo.checkpoint();
    let position = base.position;
    for (let i = items.length - 1; i >= 0; i--) {
      const e = items[i] as ChangeEvent;
      if (!e.snapshot) {
        position = e.position.encode();
        break;
      }
    }
    return { ...base, taskId: eo.taskId, ...(position !== undefined ? { position } : {}), updatedAt: Date.now() };
  }

  /**
   * A round trip to the cluster for a batch with nothing to write (heartbeats only): the metadata
   * of the task's topics, every partition with a leader. Heartbeats are acknowledged through it, so
   * they keep latency and health true while idle, and fail like data writes while Kafka is down.
   */
  private async probe(): Promise<void> {
    const topics = this.router.topics(this.opts.tables?.() ?? []);
    try {
      this.probeAdmin ??= this.kafka.admin();
      await this.probeAdmin.connect();
      const meta = await this.probeAdmin.fetchTopicMetadata(topics.length > 0 ? { topics } : undefined);
      const leaderless = meta.topics.flatMap((t) => t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}[${p.partitionId}]`));
      if (leaderless.length > 0) {
        throw new ConnectionError('NO_LEADER', `Kafka partitions without a leader: ${leaderless.join(', ')}`, { object: leaderless.join(','), fix: 'Check that the brokers hosting these partitions are up.' });
      }
    } catch (err) {
      const admin = this.probeAdmin;
      this.probeAdmin = null;
      await admin?.disconnect().catch(() => undefined);
      throw writeError(err, new Set(topics), this.opts);
    }
  }

  async close(): Promise<void> {
    this.closedSinceRecover = true;
    this.session += 1;
    const p = this.producer;
    this.producer = null;
    const w = this.worker;
    this.worker = null;
    const a = this.probeAdmin;
    this.probeAdmin = null;
    await Promise.all([p?.disconnect().catch(() => undefined), w?.close().catch(() => undefined), a?.disconnect().catch(() => undefined)]);
  }
}

/** Messages (key and value as views of the batch's buffer) grouped by topic, in event order. */
function toTopicMessages(enc: EncodedBatch): TopicMessages[] {
  const out: TopicMessages[] = [];
  const { meta, data } = enc;
  for (const [topic, list] of enc.byTopic) {
    const messages: Message[] = [];
    for (const n of list) {
      const o = n * 6;
      const keyLen = meta[o + 2] as number;
      const m: Message = {
        key: keyLen < 0 ? null : data.view(meta[o + 1] as number, keyLen),
        value: data.view(meta[o + 3] as number, meta[o + 4] as number),
        partition: meta[o] as number,
      };
      const h = enc.headers?.get(n);
      if (h) m.headers = h;
      messages.push(m);
    }
    out.push({ topic, messages });
  }
  return out;
}

/**
 * Groups topic messages into produce requests of at most `limit` bytes each (message sizes as
 * `messageSize` counts them), keeping order. A message alone over the limit gets a request of its
 * own (the sink rejects those earlier, against maxMessageBytes).
 */
export function splitBySize(topicMessages: TopicMessages[], limit: number): TopicMessages[][] {
  const out: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let size = 0;
  for (const tm of topicMessages) {
    let chunk: Message[] = [];
    for (const m of tm.messages) {
      const n = messageSize(m);
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

/** The fast-path warning is logged once per process. */
let fastPathWarned = false;

const SASL_NAMES: Record<string, string> = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' };

/** Removes the SASL password from a text, in case a client library echoed it. */
export function redactSecret(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('***') : text;
}

function isAuthError(err: unknown): boolean {
  const e = err as { name?: string; type?: string; message?: string } | null;
  return e?.name === 'KafkaJSSASLAuthenticationError' || e?.type === 'SASL_AUTHENTICATION_FAILED' || /SASL|authenticat/i.test(e?.message ?? '');
}

/** A connect failure as one clear error: brokers, mechanism and user named, the password never. */
export function connectError(err: unknown, opts: Pick<KafkaSinkOptions, 'brokers' | 'sasl'>): TributaryError {
  const brokers = opts.brokers.join(',');
  const raw = redactSecret((err as Error | null)?.message ?? String(err), opts.sasl?.password);
  if (opts.sasl && isAuthError(err)) {
    const mech = SASL_NAMES[opts.sasl.mechanism] ?? opts.sasl.mechanism;
    return new ConnectionError('DESTINATION_AUTH_FAILED', `Kafka at ${brokers} rejected SASL ${mech} authentication of user '${opts.sasl.username}': ${raw}`, {
      object: brokers,
      field: 'destination.kafka.sasl',
      fix: `Check destination.kafka.sasl (user, password, mechanism ${mech}) and that the broker listener enables ${mech} for this user.`,
    });
  }
  return new ConnectionError('DESTINATION_UNREACHABLE', `Cannot connect to Kafka at ${brokers}${opts.sasl ? ` (SASL ${SASL_NAMES[opts.sasl.mechanism] ?? opts.sasl.mechanism})` : ''}: ${raw}`, {
    object: brokers,
    fix: 'Check the broker addresses, that every advertised listener is reachable from here, and the SASL/TLS settings.',
  });
}

function writeError(err: unknown, topics: Set<string>, opts: KafkaSinkOptions): TributaryError {
  const what = `writing to Kafka topic${topics.size > 1 ? 's' : ''} ${[...topics].join(', ')}`;
  const e = err as { type?: string; name?: string; message?: string } | null;
  if (opts.exactlyOnce && (e?.type === 'INVALID_PRODUCER_EPOCH' || e?.type === 'PRODUCER_FENCED' || /fenced|epoch/i.test(e?.message ?? ''))) {
    return new FatalError('PRODUCER_FENCED', `${what}: another producer with transactionalId '${opts.exactlyOnce.transactionalId}' took over (this writer was fenced)`, {
      object: opts.exactlyOnce.transactionalId,
      field: 'destination.kafka.exactlyOnce',
      cause: err,
      fix: 'Run each task once: another instance of this task is writing. Restart this one only after the other stopped.',
    });
  }
  if (opts.sasl && isAuthError(err)) return connectError(err, opts);
  const c = classifyError(err, what);
  if (opts.sasl?.password && c.message.includes(opts.sasl.password)) return new (c.constructor as typeof ConnectionError)(c.code, redactSecret(c.message, opts.sasl.password), { cause: err });
  return c;
}

/** Creates the compacted checkpoint topic when it does not exist (as KafkaCheckpointStore does). */
async function ensureCheckpointTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) {
      await createTopicsAndWait(admin, [{ topic, numPartitions: 1, replicationFactor: -1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]);
    }
  } finally {
    await admin.disconnect();
  }
}
