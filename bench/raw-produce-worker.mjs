/* global performance, Buffer, URL */
// Worker thread: raw production of pre-encoded messages (keys and values as the task wrote them),
// `batch` per request, one request in flight, acks all. A worker has its own CommonJS module cache,
// so each client is loaded here as its own:
// - client 'stock' (baseline (b)): STOCK kafkajs 2.2.4, without the module replacements that
//   Tributary installs (src/kafka/patches.ts); only the LZ4 codec is registered (lz4-napi).
// - client 'patched': kafkajs 2.2.4 with Tributary's replacements installed before it loads, as
//   Tributary's Kafka sink runs it (same LZ4 codec).
// - client 'platformatic': @platformatic/kafka (pure JavaScript; its LZ4 is its own WebAssembly
//   build), `send()` of the same messages, default murmur2 key partitioner like kafkajs'.
// Plain JS (no loader needed). Posts { rate, bytes, seconds, note }.
import { parentPort, workerData } from 'node:worker_threads';
import { compressFrameSync } from 'lz4-napi';

const { brokers, topic, keys, values, n, compression, batch, client = 'stock' } = workerData;
const sample = values.map((v, i) => ({ key: keys[i] ? Buffer.from(keys[i]) : null, value: Buffer.from(v) }));

/** Runs `send(messages)` over n messages taken round-robin from the sample; returns the timing. */
async function drive(send) {
  let bytes = 0;
  const start = performance.now();
  for (let sent = 0; sent < n; ) {
    const size = Math.min(batch, n - sent);
    const messages = new Array(size);
    for (let i = 0; i < size; i++) {
      const m = sample[(sent + i) % sample.length];
      messages[i] = m;
      bytes += m.value.length + (m.key ? m.key.length : 0);
    }
    await send(messages);
    sent += size;
  }
  const seconds = (performance.now() - start) / 1000;
  return { rate: n / seconds, bytes, seconds };
}

let result;
if (client === 'platformatic') {
  const { Producer, ProduceAcks } = await import('@platformatic/kafka');
  const producer = new Producer({ clientId: 'bench-raw', bootstrapBrokers: brokers, autocreateTopics: false, idempotent: false });
  const codec = compression === 0 ? 'none' : 'lz4';
  // Metadata and connections first, as kafkajs' connect() does.
  await producer.metadata({ topics: [topic] });
  result = await drive((messages) => producer.send({ messages: messages.map((m) => ({ topic, key: m.key ?? undefined, value: m.value })), acks: ProduceAcks.ALL, compression: codec }));
  await producer.close();
  result.note = `@platformatic/kafka, ${codec}`;
} else {
  let note = 'stock kafkajs 2.2.4';
  if (client === 'patched') {
    const patches = await import(new URL('../src/kafka/patches.js', import.meta.url).href);
    // Newer trees install explicitly; older ones install on import.
    if (typeof patches.installKafkaFastPath === 'function') patches.installKafkaFastPath();
    const status = patches.fastPathStatus();
    note = status.installed ? "kafkajs 2.2.4 + Tributary's fast path" : `kafkajs 2.2.4, fast path NOT in effect (${status.missing.join(', ')})`;
  }
  const { default: kafkajs } = await import('kafkajs');
  kafkajs.CompressionCodecs[kafkajs.CompressionTypes.LZ4] = () => ({
    compress: async (encoder) => compressFrameSync(encoder.buffer),
    decompress: async () => {
      throw new Error('not used');
    },
  });
  const producer = new kafkajs.Kafka({ brokers, clientId: 'bench-raw', logLevel: kafkajs.logLevel.NOTHING }).producer({
    allowAutoTopicCreation: false,
    maxInFlightRequests: 1,
    idempotent: false,
  });
  await producer.connect();
  result = await drive((messages) => producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1, compression }));
  await producer.disconnect();
  result.note = note;
}
parentPort.postMessage(result);
