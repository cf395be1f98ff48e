import { afterAll, describe, expect, it } from 'vitest';
import { loadCommittedCheckpoint } from '../../src/sinks/kafka/exactlyOnce.js';
import { servers } from './servers.js';
import { createTopic, deleteTopics, kafkaClient, uniqueName } from './support.js';

/**
 * Transactions that end in another order than they began, as when a fenced worker's open
 * transactions are aborted one by one by the new owners of its tasks. kafkajs' own read_committed
 * filter returned the first-begun aborted record as committed (an exactly-once task then resumed
 * after changes Kafka never committed); Tributary installs a correct filter (src/kafka/abortedFilter.ts).
 */
describe('Kafka read_committed through kafkajs: transactions aborted out of order', () => {
  const topic = uniqueName('read_committed');
  const kafka = kafkaClient();
  afterAll(() => deleteTopics(topic).catch(() => undefined));

  it('hides both aborted records, and the checkpoint loader returns the committed checkpoint', async () => {
    await createTopic(topic, 1);
    const producer = async (name: string) => {
      const p = kafka.producer({ transactionalId: `${topic}-${name}`, idempotent: true, maxInFlightRequests: 1 });
      await p.connect();
      return p;
    };
    const [committer, first, second] = [await producer('committer'), await producer('first'), await producer('second')];
    const checkpoint = (position: string) => JSON.stringify({ taskId: 'orders', position, chunksDone: {}, updatedAt: Date.now() });
    try {
      const c = await committer.transaction();
      await c.send({ topic, messages: [{ key: 'orders', value: checkpoint('0/100') }] });
      await c.commit();
      const a = await first.transaction();
      await a.send({ topic, messages: [{ key: 'orders', value: checkpoint('0/200 aborted') }] });
      const b = await second.transaction();
      await b.send({ topic, messages: [{ key: 'customers', value: checkpoint('0/300 aborted') }] });
      await b.abort(); // the later transaction ends first ...
      await a.abort(); // ... then the earlier one
    } finally {
      await Promise.all([committer, first, second].map((p) => p.disconnect()));
    }

    const loaded = await loadCommittedCheckpoint({ brokers: [...servers.kafka.brokers] }, topic, 'orders');
    expect(loaded?.position).toBe('0/100');

    const consumer = kafka.consumer({ groupId: uniqueName('rc'), readUncommitted: false });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      let ended = false;
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        if (BigInt(e.payload.lastOffset) >= 4n) ended = true; // 3 records and 3 markers: offsets 0..5
      });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push((JSON.parse(String(message.value)) as { position: string }).position) });
      const until = Date.now() + 20_000;
      while (!ended && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await consumer.disconnect();
    }
    expect(seen).toEqual(['0/100']);
  });

  it("returns a task's newest committed checkpoint at once while another task's transaction on the topic is still open", async () => {
    const shared = uniqueName('read_committed_shared');
    await createTopic(shared, 1);
    const producer = async (name: string) => {
      const p = kafka.producer({ transactionalId: `${shared}-${name}`, idempotent: true, maxInFlightRequests: 1 });
      await p.connect();
      return p;
    };
    const [orders, customers] = [await producer('orders'), await producer('customers')];
    const checkpoint = (taskId: string, position: string) => JSON.stringify({ taskId, position, chunksDone: {}, updatedAt: Date.now() });
    const commit = async (taskId: string, position: string) => {
      const t = await orders.transaction();
      await t.send({ topic: shared, messages: [{ key: taskId, value: checkpoint(taskId, position) }] });
      await t.commit();
    };
    try {
      await commit('orders', '0/100');
      // The other task's transaction begins (its checkpoint written) before the newest checkpoint of orders is committed.
      const open = await customers.transaction();
      await open.send({ topic: shared, messages: [{ key: 'customers', value: checkpoint('customers', '0/150') }] });
      await commit('orders', '0/200');
      // While the other task's transaction is open (it commits only below): read to the last stable
      // offset, the loader returned 0/100; a loader that waited for the transaction would time out here.
      expect((await loadCommittedCheckpoint({ brokers: [...servers.kafka.brokers] }, shared, 'orders', 20_000))?.position).toBe('0/200');
      // The open transaction's own record is not committed yet.
      expect(await loadCommittedCheckpoint({ brokers: [...servers.kafka.brokers] }, shared, 'customers', 20_000)).toBeNull();
      await open.commit();
      expect((await loadCommittedCheckpoint({ brokers: [...servers.kafka.brokers] }, shared, 'customers', 20_000))?.position).toBe('0/150');
      expect((await loadCommittedCheckpoint({ brokers: [...servers.kafka.brokers] }, shared, 'orders', 20_000))?.position).toBe('0/200');
    } finally {
      await Promise.all([orders, customers].map((p) => p.disconnect()));
      await deleteTopics(shared).catch(() => undefined);
    }
  });
});
