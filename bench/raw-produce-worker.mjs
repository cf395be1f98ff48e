/* global performance, Buffer */
// Worker thread: baseline (b), raw kafkajs production of pre-encoded messages. A worker has its own
// CommonJS module cache, so this is STOCK kafkajs 2.2.4, without the module replacements that
// Tributary installs (src/kafka/patches.ts) in the bench's main thread. Only the LZ4/Snappy codecs
// are registered (kafkajs ships none). Plain JS (no loader needed).
import { parentPort, workerData } from 'node:worker_threads';
import kafkajs from 'kafkajs';
import { compressFrameSync } from 'lz4-napi';

const { brokers, topic, keys, values, n, compression, batch } = workerData;
kafkajs.CompressionCodecs[kafkajs.CompressionTypes.LZ4] = () => ({
  compress: async (encoder) => compressFrameSync(encoder.buffer),
  decompress: async () => {
    throw new Error('not used');
  },
});
const sample = values.map((v, i) => ({ key: keys[i] ? Buffer.from(keys[i]) : null, value: Buffer.from(v) }));
const producer = new kafkajs.Kafka({ brokers, clientId: 'bench-raw', logLevel: kafkajs.logLevel.NOTHING }).producer({
  allowAutoTopicCreation: false,
  maxInFlightRequests: 1,
  idempotent: false,
});
await producer.connect();
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
  await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1, compression });
  sent += size;
}
const seconds = (performance.now() - start) / 1000;
await producer.disconnect();
parentPort.postMessage({ rate: n / seconds, bytes, seconds });
