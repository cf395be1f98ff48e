import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, kafkaClient, uniqueName, withPg } from './support.js';
import { TaskProcess } from './taskProcess.js';

/** Plain, and over the broker's SASL (SCRAM-SHA-512) listener: data, transactions and the Kafka checkpoint store all authenticate. */
const listeners = [
  { name: 'PLAINTEXT', kafka: { brokers: [...servers.kafka.brokers] } },
  { name: 'SASL SCRAM-SHA-512', kafka: { brokers: [...servers.kafka.saslBrokers], sasl: { mechanism: 'scram-sha-512', username: servers.kafka.saslUser, password: servers.kafka.saslPassword } } },
];

describe.each(listeners)('PostgreSQL → Kafka exactly-once over $name: the runtime SIGKILLed mid-stream and restarted', ({ kafka }) => {
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('eos');
  const checkpointTopic = uniqueName('eos_ckpt');
  let consumer: Consumer | null = null;

  beforeAll(async () => {
    db = await createTestDatabase('eos');
    await createTopic(topic, 3);
    await withPg(db.database, (c) => c.query('CREATE TABLE public.t (id bigint PRIMARY KEY, v text)'));
  });
  afterAll(async () => {
    await consumer?.disconnect();
    await db?.drop();
    if (!process.env.KEEP_TOPICS) await deleteTopics(topic, checkpointTopic).catch(() => undefined);
    else console.log('kept topics', topic, checkpointTopic);
  });

  it('a read_committed consumer sees every change exactly once', async () => {
    const config = {
      name: uniqueName('eos').replace(/_/g, '-'),
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: db.database },
      destination: { kafka: { ...kafka, topic, format: 'canal-json', partitionPolicy: 'keyHash', exactlyOnce: true } },
      objects: [{ schema: 'public', table: 't' }],
      checkpoints: { store: 'kafka', topic: checkpointTopic },
    };
    const first = new TaskProcess(config);
    await first.waitForState('incremental', 90_000);

    let next = 1;
    let writing = true;
    const writer = withPg(db.database, async (c) => {
      while (writing) {
        await c.query('INSERT INTO public.t SELECT g, $2 FROM generate_series($1::bigint, $1::bigint + 9) g', [next, `v${next}`]);
        next += 10;
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    await first.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    const second = new TaskProcess(config);
    await second.waitForState('incremental', 90_000);
    await new Promise((r) => setTimeout(r, 1000));
    writing = false;
    await writer;
    const total = next - 1;
    expect(total).toBeGreaterThan(100);

    const seen = new Map<string, number>();
    let messages = 0;
    consumer = kafkaClient().consumer({ groupId: uniqueName('g'), readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        messages += 1;
        const m = JSON.parse(message.value?.toString() ?? '{}') as { data: Array<{ id: string }> };
        for (const row of m.data ?? []) seen.set(row.id, (seen.get(row.id) ?? 0) + 1);
      },
    });
    const end = Date.now() + 60_000;
    while (seen.size < total && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000)); // a duplicate would arrive after the last new id
    await second.kill('SIGTERM');

    expect(seen.size).toBe(total);
    const dupes = [...seen].filter(([, n]) => n > 1);
    expect(dupes).toEqual([]);
    expect(messages).toBe(total);
  }, 240_000);
});

describe('PostgreSQL → Kafka exactly-once: a full sync of many chunks copied in parallel', () => {
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('eos_full');
  const checkpointTopic = uniqueName('eos_full_ckpt');
  const ROWS = 20_000;

  beforeAll(async () => {
    db = await createTestDatabase('eosfull');
    await createTopic(topic, 3);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.t (id bigint PRIMARY KEY, v text)');
      await c.query(`INSERT INTO public.t SELECT g, 'v' || g FROM generate_series(1, ${ROWS}) g`);
      await c.query('ANALYZE public.t');
    });
  });
  afterAll(async () => {
    await db?.drop();
    if (!process.env.KEEP_TOPICS) await deleteTopics(topic, checkpointTopic).catch(() => undefined);
  });

  // Parallel chunk pipelines share the task's transactional producer: their transactions are taken
  // one at a time (kafkajs refused the second with "There is already an ongoing transaction").
  it('every row arrives once, read_committed', async () => {
    const task = new TaskProcess({
      name: uniqueName('eos-full').replace(/_/g, '-'),
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', partitionPolicy: 'keyHash', exactlyOnce: true } },
      objects: [{ schema: 'public', table: 't' }],
      fullSync: { parallelism: 4, chunkRows: 1000 },
      checkpoints: { store: 'kafka', topic: checkpointTopic },
    });
    try {
      await task.waitForState('incremental', 120_000);
    } finally {
      await task.kill('SIGTERM');
    }
    const seen = new Map<string, number>();
    const consumer = kafkaClient().consumer({ groupId: uniqueName('g'), readUncommitted: false });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const m = JSON.parse(message.value?.toString() ?? '{}') as { data: Array<{ id: string }> | null };
          for (const row of m.data ?? []) seen.set(row.id, (seen.get(row.id) ?? 0) + 1);
        },
      });
      const end = Date.now() + 60_000;
      while (seen.size < ROWS && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await consumer.disconnect();
    }
    expect(seen.size).toBe(ROWS);
    expect([...seen].filter(([, n]) => n > 1)).toEqual([]);
  }, 240_000);
});
