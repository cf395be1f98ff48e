/**
 * Worker-thread entry of the Kafka producer (see workerProducer.ts for the main-thread side).
 *
 * The main thread encodes and routes; this thread runs kafkajs: record encoding, compression,
 * CRC32C and the socket. Requests are processed strictly FIFO, one `sendBatch` at a time, so the
 * order the main thread posted batches in is the order they reach the broker (per-partition order
 * holds). After a failure every later request is rejected (fail-stop) until a `reset` request,
 * which the main thread posts only once nothing of the failed run is outstanding.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Message, Producer, TopicMessages } from 'kafkajs';
import { newKafkaClient } from '../../kafka/kafkajs.js';
import type { ProducerWorkerInit, SerializedError, ToWorker, FromWorker, SendRequest } from './workerProducer.js';

const port = parentPort;
if (!port) throw new Error('producerWorker.ts must run as a worker thread');

const init = workerData as ProducerWorkerInit;
// A worker thread has a module cache of its own: the fast path is installed here, before kafkajs loads.
const kafka = newKafkaClient({ ...init.client, retry: { retries: 5, initialRetryTime: 200 } });
let producer: Producer | null = null;
let failure: SerializedError | null = null;

type Item = ToWorker;
const queue: Item[] = [];
let running = false;

function serialize(err: unknown): SerializedError {
  const e = err as { name?: unknown; message?: unknown; code?: unknown; type?: unknown; retriable?: unknown } | null;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.code === 'string' || typeof e?.code === 'number' ? { code: e.code } : {}),
    ...(typeof e?.type === 'string' ? { type: e.type } : {}),
    ...(typeof e?.retriable === 'boolean' ? { retriable: e.retriable } : {}),
  };
}

function reply(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

/** Rebuilds kafkajs topic messages from the packed buffer: Buffer views, no copies. */
function unpack(req: SendRequest): TopicMessages[][] {
  const { data, index, topics, parts } = req;
  const headers = req.headers ? new Map(req.headers) : undefined;
  const out: TopicMessages[][] = [];
  let i = 0;
  for (const count of parts) {
    const part: TopicMessages[] = [];
    let current: TopicMessages | null = null;
    let currentTopic = -1;
    for (const end = i + count; i < end; i++) {
      const o = i * 6;
      const t = index[o] as number;
      const keyLen = index[o + 3] as number;
      const msg: Message = {
        partition: index[o + 1] as number,
        key: keyLen < 0 ? null : Buffer.from(data, index[o + 2] as number, keyLen),
        value: Buffer.from(data, index[o + 4] as number, index[o + 5] as number),
      };
      const h = headers?.get(i);
      if (h) msg.headers = h;
      if (t !== currentTopic || !current) {
        current = { topic: topics[t] as string, messages: [] };
        currentTopic = t;
        part.push(current);
      }
      current.messages.push(msg);
    }
    out.push(part);
  }
  return out;
}

async function handle(item: Item): Promise<void> {
  switch (item.type) {
    case 'connect': {
      try {
        if (!producer) {
          const p = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, idempotent: false });
          await p.connect();
          producer = p;
        }
        reply({ id: item.id, ok: true });
      } catch (err) {
        reply({ id: item.id, error: serialize(err) });
      }
      return;
    }
    case 'reset':
      failure = null;
      return;
    case 'crash':
      // Test hook: an uncaught exception ends the worker the way a bug in kafkajs would.
      setImmediate(() => {
        throw new Error('producer worker crashed on request');
      });
      await new Promise(() => undefined);
      return;
    case 'close': {
      const p = producer;
      producer = null;
      await p?.disconnect().catch(() => undefined);
      reply({ id: item.id, ok: true });
      return;
    }
    case 'send': {
      if (failure) {
        reply({ id: item.id, error: { ...failure, failStop: true } });
        return;
      }
      try {
        if (!producer) throw Object.assign(new Error('the producer worker is not connected'), { name: 'KafkaJSConnectionError' });
        for (const part of unpack(item)) await producer.sendBatch({ topicMessages: part, acks: init.acks, compression: init.compression });
        // kafkajs encoded the records into its requests: the batch's buffer goes back to be written into again.
        reply({ id: item.id, ok: true, data: item.data }, [item.data]);
      } catch (err) {
        failure = serialize(err);
        reply({ id: item.id, error: failure });
      }
      return;
    }
  }
}

async function pump(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (let item = queue.shift(); item; item = queue.shift()) await handle(item);
  } finally {
    running = false;
  }
}

port.on('message', (item: Item) => {
  queue.push(item);
  void pump();
});
