/**
 * Main-thread side of the Kafka producer worker (producerWorker.ts).
 *
 * The sink encodes and routes on the main thread, then `packBatch` copies every key and value of a
 * batch into ONE ArrayBuffer with a compact Int32Array index (topic, partition, key offset/length,
 * value offset/length per message) and the request boundaries. Both buffers are transferred (no
 * structured clone of messages); the worker wraps them in Buffer views and calls kafkajs
 * `sendBatch`. The worker is FIFO and fail-stop, so several batches can be in flight while the
 * broker sees them in the order they were posted.
 *
 * Startup works from built JavaScript (dist: `producerWorker.js` beside this file) and from the
 * TypeScript sources (tsx, vitest: `producerWorker.ts` through tsx's ESM hooks, see workerEntry).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KafkaConfig, TopicMessages } from 'kafkajs';
import { ConnectionError } from '../../core/errors.js';
import type { ByteSink } from '../../formats/byteSink.js';

export interface ProducerWorkerInit {
  client: Pick<KafkaConfig, 'brokers' | 'sasl' | 'ssl' | 'clientId'>;
  acks: 0 | 1 | -1;
  /** kafkajs CompressionTypes value. */
  compression: number;
}

export interface PackedBatch {
  /** Keys and values of every message, back to back. */
  data: ArrayBuffer;
  /** Six int32 per message: topic index, partition, key offset, key length (-1 = null key), value offset, value length. */
  index: Int32Array;
  topics: string[];
  /** Messages per produce request, in order (the sink's size split). */
  parts: number[];
  /** Headers of the few messages that have any: [message number, headers]. */
  headers?: Array<[number, Record<string, string>]>;
  /** Messages in the batch. */
  count: number;
}

export type SendRequest = { type: 'send'; id: number } & Omit<PackedBatch, 'count'>;
export type ToWorker = { type: 'connect'; id: number } | { type: 'close'; id: number } | { type: 'reset' } | { type: 'crash' } | SendRequest;
export interface SerializedError {
  name: string;
  message: string;
  code?: string | number;
  type?: string;
  retriable?: boolean;
  /** Not attempted: an earlier request failed (fail-stop). */
  failStop?: boolean;
}
/** A sent batch's `data` comes back with its acknowledgement, for the next batch to be written into. */
export type FromWorker = { id: number; ok: true; data?: ArrayBuffer } | { id: number; error: SerializedError };

/** Spare buffers kept for reuse: about as many as batches in flight (each the size of a batch). */
const MAX_SPARES = 4;

/**
 * Packs size-split topic messages (keys and values must be Buffers or null) into one transferable
 * buffer and an index, in request order.
 */
export function packBatch(parts: readonly TopicMessages[][]): PackedBatch {
  let count = 0;
  let bytes = 0;
  for (const part of parts)
    for (const tm of part)
      for (const m of tm.messages) {
        count++;
        bytes += (m.key ? (m.key as Buffer).length : 0) + (m.value ? (m.value as Buffer).length : 0);
      }
  const data = new ArrayBuffer(bytes);
  const u8 = new Uint8Array(data);
  const index = new Int32Array(count * 6);
  const topics: string[] = [];
  const topicIds = new Map<string, number>();
  const counts: number[] = [];
  let headers: Array<[number, Record<string, string>]> | undefined;
  let off = 0;
  let i = 0;
  for (const part of parts) {
    let n = 0;
    for (const tm of part) {
      let t = topicIds.get(tm.topic);
      if (t === undefined) {
        t = topics.length;
        topics.push(tm.topic);
        topicIds.set(tm.topic, t);
      }
      for (const m of tm.messages) {
        const o = i * 6;
        index[o] = t;
        index[o + 1] = m.partition ?? 0;
        const key = m.key as Buffer | null | undefined;
        if (key) {
          u8.set(key, off);
          index[o + 2] = off;
          index[o + 3] = key.length;
          off += key.length;
        } else index[o + 3] = -1;
        const value = m.value as Buffer | null;
        const vlen = value ? value.length : 0;
        if (value) u8.set(value, off);
        index[o + 4] = off;
        index[o + 5] = vlen;
        off += vlen;
        if (m.headers) (headers ??= []).push([i, m.headers as Record<string, string>]);
        i++;
        n++;
      }
    }
    counts.push(n);
  }
  return { data, index, topics, parts: counts, count, ...(headers ? { headers } : {}) };
}

/**
 * A batch the sink encoded into one ByteSink: per message six int32 in `meta` (partition, key
 * offset, key length (-1 = null), value offset, value length, header bytes), grouped by topic in
 * first-seen order (message numbers per topic, in event order).
 */
export interface EncodedBatch {
  data: ByteSink;
  meta: Int32Array;
  count: number;
  byTopic: Map<string, number[]>;
  headers: Map<number, Record<string, string>> | null;
}

/** Record overhead counted per message when splitting (as the sink's messageSize). */
export const RECORD_OVERHEAD = 64;

/**
 * `packBatch(splitBySize(topicMessages, limit))` for a batch already laid out in one ByteSink:
 * the same index, topics and request split, and the ByteSink's ArrayBuffer as `data` (no copy).
 */
export function packEncoded(enc: EncodedBatch, limit: number): PackedBatch {
  const { meta, byTopic } = enc;
  const index = new Int32Array(enc.count * 6);
  const topics: string[] = [];
  const counts: number[] = [];
  let headers: Array<[number, Record<string, string>]> | undefined;
  let i = 0;
  let size = 0;
  let inPart = 0;
  for (const [topic, list] of byTopic) {
    const t = topics.length;
    topics.push(topic);
    for (let j = 0; j < list.length; j++) {
      const r = (list[j] as number) * 6;
      const keyLen = meta[r + 2] as number;
      const n = RECORD_OVERHEAD + (keyLen > 0 ? keyLen : 0) + (meta[r + 4] as number) + (meta[r + 5] as number);
      if (size + n > limit && inPart > 0) {
        counts.push(inPart);
        inPart = 0;
        size = 0;
      }
      const o = i * 6;
      index[o] = t;
      index[o + 1] = meta[r] as number;
      index[o + 2] = keyLen < 0 ? 0 : (meta[r + 1] as number);
      index[o + 3] = keyLen;
      index[o + 4] = meta[r + 3] as number;
      index[o + 5] = meta[r + 4] as number;
      const h = enc.headers?.get(list[j] as number);
      if (h) (headers ??= []).push([i, h]);
      i++;
      inPart++;
      size += n;
    }
  }
  if (inPart > 0) counts.push(inPart);
  return { data: enc.data.buf.buffer as ArrayBuffer, index, topics, parts: counts, count: i, ...(headers ? { headers } : {}) };
}

/**
 * How to start the worker module beside this one. Built JavaScript: `producerWorker.js` directly.
 * TypeScript sources (tsx, vitest): Node 20 does not apply `--import tsx` hooks to a worker's own
 * entry, so a small evaluated bootstrap registers tsx's ESM hooks in the worker, then imports
 * `producerWorker.ts`.
 */
function workerEntry(): { file: URL | string; eval?: true } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { file: new URL('./producerWorker.js', here) };
  // tsx's package entry is dist/loader.mjs; its ESM API (as bin/tributary.js uses it) lies beside it.
  const api = new URL('./esm/api/index.mjs', pathToFileURL(createRequire(here).resolve('tsx'))).href;
  const entry = new URL('./producerWorker.ts', here).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); }).catch((e) => setImmediate(() => { throw e; }));`;
  return { file: code, eval: true };
}

/** An Error carrying the worker's error fields, for the sink's error translation. */
function revive(e: SerializedError): Error {
  const err = new Error(e.failStop ? `not sent, an earlier batch failed: ${e.message}` : e.message);
  err.name = e.name;
  Object.assign(err, { ...(e.code !== undefined ? { code: e.code } : {}), ...(e.type ? { type: e.type } : {}), ...(e.retriable !== undefined ? { retriable: e.retriable } : {}) });
  return err;
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** One producer worker thread. Once it exited (crash or close) it stays dead: make a new one. */
export class WorkerProducer {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited: Error | null = null;
  private closing = false;
  private roomWaiters: Array<() => void> = [];
  /** Buffers of acknowledged batches, handed back by the thread (see `takeSpare`). */
  private readonly spares: ArrayBuffer[] = [];
  /** Batches encoded into a buffer handed back (for tests and diagnostics). */
  buffersReused = 0;

  constructor(init: ProducerWorkerInit) {
    const entry = workerEntry();
    this.worker = new Worker(entry.file, { workerData: init, ...(entry.eval ? { eval: true } : {}) });
    this.worker.unref();
    this.worker.on('message', (msg: FromWorker) => this.settle(msg));
    this.worker.on('error', (err: unknown) => this.died(err instanceof Error ? err : new Error(String(err))));
    this.worker.on('exit', (code) => this.died(new Error(`exit code ${code}`)));
  }

  /** False once the worker exited. */
  get alive(): boolean {
    return this.exited === null;
  }

  /** Requests posted and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Resolves once fewer than `max` requests are in flight (or the worker exited). */
  room(max: number): Promise<void> {
    if (this.pending.size < max || this.exited) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  connect(): Promise<void> {
    return this.request({ type: 'connect', id: 0 });
  }

  /** Posts a packed batch (transferring its buffers); resolves when Kafka acknowledged it as the acks ask. */
  send(batch: PackedBatch): Promise<void> {
    const { count: _count, ...rest } = batch;
    return this.request({ type: 'send', id: 0, ...rest }, [batch.data, batch.index.buffer as ArrayBuffer]);
  }

  /**
   * A buffer of an acknowledged batch of at least `bytes`, to encode the next batch into, or
   * undefined. Reusing them keeps the process from allocating a batch-sized buffer per batch and
   * leaving the sent ones to the garbage collector (measured: tens of MB of dead batch buffers
   * waiting for a full collection during a full sync).
   */
  takeSpare(bytes: number): ArrayBuffer | undefined {
    for (let i = this.spares.length - 1; i >= 0; i--) {
      const b = this.spares[i] as ArrayBuffer;
      if (b.byteLength >= bytes) {
        this.spares.splice(i, 1);
        this.buffersReused++;
        return b;
      }
    }
    return undefined;
  }

  /** Lets requests posted after this one be attempted again after a failure. */
  reset(): void {
    if (this.exited) return;
    this.worker.postMessage({ type: 'reset' } satisfies ToWorker);
  }

  /** Test hook: makes the worker die of an uncaught exception once it reaches this request. */
  crashForTesting(): void {
    this.worker.postMessage({ type: 'crash' } satisfies ToWorker);
  }

  /** Disconnects the producer (bounded wait) and ends the thread. Pending writes are rejected. */
  async close(): Promise<void> {
    if (this.exited) return;
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.request({ type: 'close', id: 0 }).catch(() => undefined),
      new Promise<void>((r) => (timer = setTimeout(r, 5000))),
    ]);
    clearTimeout(timer);
    await this.worker.terminate();
  }

  private request(msg: ToWorker & { id: number }, transfer: ArrayBuffer[] = []): Promise<void> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    msg.id = id;
    return new Promise<void>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  private settle(msg: FromWorker): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.worker.unref();
    if ('error' in msg) p.reject(revive(msg.error));
    else {
      if (msg.data !== undefined) {
        // Smaller ones give way to the batch-sized buffers the encoder asks for.
        this.spares.push(msg.data);
        if (this.spares.length > MAX_SPARES) this.spares.sort((a, b) => b.byteLength - a.byteLength).pop();
      }
      p.resolve();
    }
    this.wakeRoomWaiters();
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  private died(cause: Error): void {
    if (this.exited) return;
    this.exited = this.closing
      ? new ConnectionError('PRODUCER_CLOSED', 'The Kafka sink was closed before this batch was acknowledged.', { cause })
      : new ConnectionError('PRODUCER_WORKER_EXITED', `The Kafka producer worker thread exited before acknowledging every batch (${cause.message}); unacknowledged batches are written again on retry.`, { cause });
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(this.exited);
    this.wakeRoomWaiters();
  }
}
