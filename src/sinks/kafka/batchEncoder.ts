import { OversizedRecordError } from '../../core/errors.js';
import type { ChangeEvent } from '../../core/events.js';
import { qualifiedName } from '../../core/events.js';
import { ByteSink } from '../../formats/byteSink.js';
import type { EncodeContext, Format } from '../../formats/index.js';
import { keyChangeHeaders, splitKeyChange } from './keyChanges.js';
import type { Router } from './routing.js';
import { RECORD_OVERHEAD, type EncodedBatch } from './workerProducer.js';
import { messageSize } from './messageSize.js';

export interface BatchEncoderOptions {
  format: Format;
  documents: boolean;
  sourceName: string;
  maxMessageBytes: number;
  router: Router;
  /** Partition counts of the topics known so far. */
  partitions: ReadonlyMap<string, number>;
  /** The sink's message sequence (`EncodeContext.sequence`), one per message. */
  nextSequence(): number;
  /** Initial size of the byte buffer (the previous batch's size). */
  capacity: number;
  /** A spare backing store of at least `capacity` bytes to write into (one the producer thread handed back). */
  reuse?: ArrayBuffer;
}

/**
 * One batch of Kafka messages encoded event by event into one ByteSink (keys and values back to
 * back, through the format's `encodeInto` when it has one), each message routed to its topic and
 * partition as it is added. The sink fills one while the pipeline's batch fills (so an event is
 * garbage as soon as it is added, instead of waiting in memory for its batch), or all at once.
 *
 * An update that changed its key is added as a delete under the old key and an insert under the
 * new one (keyChanges.ts). A message over `maxMessageBytes` throws OversizedRecordError naming
 * table, key and size. A message whose topic's partition count is not known yet is routed at
 * `resolve()` (the sink learns the counts first), so nothing needs an await while adding.
 */
export class BatchEncoder {
  /** Events added (heartbeats included; they are counted, never encoded). */
  added = 0;
  /** Messages encoded. */
  count = 0;
  /** Encoded key and value bytes. */
  bytes = 0;
  readonly data: ByteSink;
  private meta: Int32Array;
  private readonly byTopic = new Map<string, number[]>();
  private headers: Map<number, Record<string, string>> | null = null;
  /** Messages of topics whose partition count was unknown when they were added. */
  private unrouted: Array<{ n: number; e: ChangeEvent; topic: string }> | null = null;
  private readonly ctx: EncodeContext;
  private lastTopic = '';
  private lastList: number[] | undefined;

  constructor(private readonly opts: BatchEncoderOptions) {
    this.data = new ByteSink(opts.capacity, opts.reuse);
    this.meta = new Int32Array(6 * 256);
    this.ctx = { now: Date.now(), documents: opts.documents, sourceName: opts.sourceName };
  }

  add(e: ChangeEvent): void {
    this.added += 1;
    if (e.op === 'heartbeat') return;
    const halves = !this.opts.documents && e.op === 'update' ? splitKeyChange(e) : null;
    if (halves === null) this.encode(e, undefined);
    else {
      this.encode(halves[0], keyChangeHeaders(halves[0]));
      this.encode(halves[1], keyChangeHeaders(halves[1]));
    }
  }

  /** Topics of messages not routed yet (their partition counts are needed before `resolve`). */
  unknownTopics(): string[] {
    return this.unrouted === null ? [] : [...new Set(this.unrouted.map((u) => u.topic))];
  }

  /** Routes the messages added before their topic's partition count was known; the batch as laid out. */
  resolve(): EncodedBatch {
    if (this.unrouted !== null) {
      for (const u of this.unrouted) this.meta[u.n * 6] = this.opts.router.partitionOf(u.e, this.opts.partitions.get(u.topic) ?? 1);
      this.unrouted = null;
    }
    return { data: this.data, meta: this.meta, count: this.count, byTopic: this.byTopic, headers: this.headers };
  }

  topics(): Set<string> {
    return new Set(this.byTopic.keys());
  }

  private encode(e: ChangeEvent, keyChange: Record<string, string> | undefined): void {
    const out = this.data;
    const ctx = this.ctx;
    const format = this.opts.format;
    ctx.sequence = this.opts.nextSequence();
    let h: Record<string, string> | undefined;
    if (format.encodeInto) format.encodeInto(e, ctx, out);
    else {
      const rec = format.encode(e, ctx);
      out.writeKeyBytes(rec.key);
      out.writeValueBytes(rec.value);
      h = rec.headers;
    }
    if (keyChange) h = h ? { ...h, ...keyChange } : keyChange;
    const keyLen = out.keyLength;
    const size = out.valueLength + (keyLen > 0 ? keyLen : 0);
    if (size > this.opts.maxMessageBytes) {
      const key = keyLen < 0 ? null : out.buf.toString('utf8', out.keyOffset, out.keyOffset + keyLen);
      throw new OversizedRecordError(
        `A ${e.op} of table ${qualifiedName(e.shape.ref)} with key ${key ?? '(none)'} encodes to ${size} bytes, over the ${this.opts.maxMessageBytes}-byte message limit; nothing of its batch was written.`,
        { object: qualifiedName(e.shape.ref), field: 'destination.kafka.maxMessageBytes', fix: 'Leave large columns out with the object\'s `columns` list, or raise message.max.bytes on the brokers and destination.kafka.maxMessageBytes together.' },
      );
    }
    this.bytes += size;
    const n = this.count;
    const o = n * 6;
    if (o + 6 > this.meta.length) {
      const grown = new Int32Array(this.meta.length * 2);
      grown.set(this.meta);
      this.meta = grown;
    }
    const meta = this.meta;
    const topic = this.opts.router.topicOf(e);
    const partitions = this.opts.partitions.get(topic);
    if (partitions === undefined) (this.unrouted ??= []).push({ n, e, topic });
    else meta[o] = this.opts.router.partitionOf(e, partitions);
    meta[o + 1] = out.keyOffset;
    meta[o + 2] = keyLen;
    meta[o + 3] = out.valueOffset;
    meta[o + 4] = out.valueLength;
    meta[o + 5] = 0;
    if (h) {
      (this.headers ??= new Map()).set(n, h);
      meta[o + 5] = messageSize({ value: null, headers: h }) - RECORD_OVERHEAD;
    }
    let list = topic === this.lastTopic ? this.lastList : this.byTopic.get(topic);
    if (!list) this.byTopic.set(topic, (list = []));
    list.push(n);
    this.lastTopic = topic;
    this.lastList = list;
    this.count = n + 1;
  }
}
