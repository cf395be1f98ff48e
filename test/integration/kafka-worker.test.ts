/**
 * KafkaSink's producer thread (producerThread, the default without exactly-once): order across many
 * batches in flight, fail-stop after a broker rejection, and a crashed worker rejecting what was
 * pending (then a fresh worker on the next write).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCodecs } from '../../src/codecs/index.js';
import { ConnectionError, TributaryError } from '../../src/core/errors.js';
import { WorkerProducer, packBatch } from '../../src/sinks/kafka/workerProducer.js';
import { batchOf, canalRow, change, endOffset, newSink, shape } from './kafka-sink-helpers.js';
import { servers } from './servers.js';
import { createTopic, deleteTopics, readTopic, uniqueName, withAdmin } from './support.js';

const topics: string[] = [];
async function topicWith(prefix: string, partitions = 1, configEntries: Array<{ name: string; value: string }> = []): Promise<string> {
  const t = uniqueName(prefix);
  topics.push(t);
  if (configEntries.length === 0) await createTopic(t, partitions);
  else await withAdmin((a) => a.createTopics({ topics: [{ topic: t, numPartitions: partitions, replicationFactor: 1, configEntries }], waitForLeaders: true }));
  return t;
}

beforeAll(() => registerCodecs());
afterAll(async () => {
  if (topics.length > 0) await deleteTopics(...topics);
});

const orders = shape('orders');

describe('KafkaSink producer thread', () => {
  it('keeps per-key order across 60 batches in flight at once (LZ4, keyHash, 3 partitions)', async () => {
    const topic = await topicWith('kw_order', 3);
    const sink = newSink(topic, { partitionPolicy: 'keyHash' });
    expect(sink.maxInFlightWrites).toBe(4);
    const batches = 60;
    const perBatch = 200;
    const keys = 50;
    let maxInFlight = 0;
    let reused: number | undefined;
    const sampler = setInterval(() => (maxInFlight = Math.max(maxInFlight, sink.producerWorker?.inFlight ?? 0)), 1);
    try {
      const writes: Array<Promise<void>> = [];
      for (let b = 0; b < batches; b++) {
        const events = Array.from({ length: perBatch }, (_, i) => {
          const n = b * perBatch + i;
          return change(orders, n % 5 === 0 ? 'insert' : 'update', { id: String(n % keys), region: 'eu', v: String(n) });
        });
        writes.push(sink.write(batchOf(events)));
      }
      await Promise.all(writes);
      reused = sink.producerWorker?.buffersReused;
    } finally {
      clearInterval(sampler);
      await sink.close();
    }
    expect(maxInFlight).toBeGreaterThan(1);
    // Later batches were encoded into the buffers of acknowledged ones (read back intact below).
    expect(reused).toBeGreaterThan(0);
    expect(sink.counters.messages).toBe(batches * perBatch);
    const read = await readTopic(topic, batches * perBatch, { timeoutMs: 60_000 });
    const byKey = new Map<string, number[]>();
    const partitionOf = new Map<string, number>();
    for (const m of read) {
      const row = canalRow(m.value);
      const key = row.id as string;
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      list.push(Number(row.v));
      const p = partitionOf.get(key);
      if (p === undefined) partitionOf.set(key, m.partition);
      else expect(m.partition).toBe(p);
    }
    expect(byKey.size).toBe(keys);
    for (const [key, values] of byKey) {
      expect(values).toEqual(Array.from({ length: (batches * perBatch) / keys }, (_, j) => j * keys + Number(key)));
    }
  });

  it('is fail-stop: after the broker rejects a batch, the batches behind it are not written; a later run writes again', async () => {
    // The topic accepts at most 20 kB per record batch; the sink's own limit is 10 MB, so the broker rejects.
    const topic = await topicWith('kw_failstop', 1, [{ name: 'max.message.bytes', value: '20000' }]);
    const sink = newSink(topic, { compression: 'none' });
    const small = (from: number): ReturnType<typeof batchOf> =>
      batchOf(Array.from({ length: 20 }, (_, i) => change(orders, 'insert', { id: String(from + i), region: 'eu', v: `v${from + i}` })));
    const big = batchOf([change(orders, 'insert', { id: 'big', region: 'eu', v: randomBytes(30_000).toString('base64') })]);
    try {
      const a = sink.write(small(0));
      const b = sink.write(big);
      const c = sink.write(small(100));
      const d = sink.write(small(200));
      const [ra, rb, rc, rd] = await Promise.allSettled([a, b, c, d]);
      expect(ra.status).toBe('fulfilled');
      expect(rb.status).toBe('rejected');
      expect((rb as PromiseRejectedResult).reason).toBeInstanceOf(TributaryError);
      expect(rc.status).toBe('rejected');
      expect(rd.status).toBe('rejected');
      expect(await endOffset(topic)).toBe(20);
      // Nothing outstanding any more: the next write (the retried run) starts clean.
      await sink.write(small(300));
      expect(await endOffset(topic)).toBe(40);
    } finally {
      await sink.close();
    }
    const read = await readTopic(topic, 40);
    expect(read.map((m) => canalRow(m.value).id)).toEqual([...Array.from({ length: 20 }, (_, i) => String(i)), ...Array.from({ length: 20 }, (_, i) => String(300 + i))]);
  });

  it('a crashed worker rejects every pending write with a ConnectionError', async () => {
    const topic = await topicWith('kw_crash');
    const w = new WorkerProducer({ client: { brokers: [...servers.kafka.brokers], clientId: 'kw-crash' }, acks: -1, compression: 0 });
    try {
      await w.connect();
      const pack = (n: number) => packBatch([[{ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${n}-${i}`), partition: 0 })) }]]);
      await w.send(pack(0));
      // The worker dies on reaching the crash request; the writes posted behind it are pending then.
      w.crashForTesting();
      const pending = [w.send(pack(1)), w.send(pack(2)), w.send(pack(3))];
      const settled = await Promise.allSettled(pending);
      for (const s of settled) {
        expect(s.status).toBe('rejected');
        const reason = (s as PromiseRejectedResult).reason as ConnectionError;
        expect(reason).toBeInstanceOf(ConnectionError);
        expect(reason.code).toBe('PRODUCER_WORKER_EXITED');
      }
      expect(w.alive).toBe(false);
      await expect(w.send(pack(4))).rejects.toBeInstanceOf(ConnectionError);
    } finally {
      await w.close();
    }
    expect(await endOffset(topic)).toBe(10);
  });

  it('the sink starts a fresh worker after its worker crashed', async () => {
    const topic = await topicWith('kw_restart');
    const sink = newSink(topic);
    const events = (from: number) => batchOf(Array.from({ length: 5 }, (_, i) => change(orders, 'insert', { id: String(from + i), region: 'eu', v: 'x' })));
    try {
      await sink.write(events(0));
      const first = sink.producerWorker;
      first?.crashForTesting();
      await new Promise<void>((r) => {
        const t = setInterval(() => {
          if (first && !first.alive) {
            clearInterval(t);
            r();
          }
        }, 10);
      });
      await sink.write(events(10));
      expect(sink.producerWorker).not.toBe(first);
      expect(sink.producerWorker?.alive).toBe(true);
    } finally {
      await sink.close();
    }
    expect(await endOffset(topic)).toBe(10);
  });

  it('exactly-once sinks keep production in-process, one batch at a time', () => {
    const sink = newSink('unused', { exactlyOnce: { transactionalId: 'x', checkpointTopic: 'y', taskId: 'z', checkpoint: () => ({ taskId: 'z', chunksDone: {}, fullDone: false, updatedAt: 0 }) as never } });
    expect(sink.maxInFlightWrites).toBe(1);
    const off = newSink('unused', { producerThread: false });
    expect(off.maxInFlightWrites).toBe(1);
  });
});
