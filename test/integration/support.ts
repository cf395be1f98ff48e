import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Kafka, logLevel, type Admin, type KafkaMessage } from 'kafkajs';
import { registerCodecs } from '../../src/codecs/index.js';
import { createTopicsAndWait } from '../../src/kafka/createTopics.js';
import { servers } from './servers.js';

/** A name no other test uses: lower case, safe for databases, slots and topics. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export function pgConfig(database: string = servers.postgres.database): pg.ClientConfig {
  return { host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database };
}

export async function withPg<T>(database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(pgConfig(database));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database for one test; the returned function drops it (and its slots). */
export async function createTestDatabase(prefix = 'trib'): Promise<{ database: string; drop: () => Promise<void> }> {
  const database = uniqueName(prefix);
  await withPg('postgres', (c) => c.query(`CREATE DATABASE ${database}`));
  return {
    database,
    drop: () =>
      withPg('postgres', async (c) => {
        const slots = await c.query<{ slot_name: string }>('SELECT slot_name FROM pg_replication_slots WHERE database = $1', [database]);
        for (const s of slots.rows) {
          await c.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [s.slot_name]);
          await c.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]);
        }
        await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }),
  };
}

export function kafkaClient(clientId = 'tributary-test'): Kafka {
  // Consumers must decode LZ4 and Snappy batches (LZ4 is Tributary's default compression).
  registerCodecs();
  return new Kafka({ clientId, brokers: [...servers.kafka.brokers], logLevel: logLevel.NOTHING });
}

export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates a topic and waits until every partition has a leader (src/kafka/createTopics.ts). */
export async function createTopic(topic: string, numPartitions = 1): Promise<void> {
  await withAdmin((a) => createTopicsAndWait(a, [{ topic, numPartitions, replicationFactor: 1 }]));
}

export async function deleteTopics(...topics: string[]): Promise<void> {
  await withAdmin((a) => a.deleteTopics({ topics }));
}

/**
 * Reads every message of a topic from the beginning until `count` arrived (or `timeoutMs` passed,
 * which fails). A real consumer in its own group.
 */
export async function readTopic(
  topic: string,
  count: number,
  opts: { timeoutMs?: number; isolation?: 'read_committed' | 'read_uncommitted' } = {},
): Promise<Array<KafkaMessage & { partition: number }>> {
  const consumer = kafkaClient().consumer({
    groupId: uniqueName('g'),
    readUncommitted: opts.isolation === 'read_uncommitted',
  });
  const out: Array<KafkaMessage & { partition: number }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${out.length} of ${count} messages from ${topic} within ${opts.timeoutMs ?? 30000} ms`)),
        opts.timeoutMs ?? 30000,
      );
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          out.push({ ...message, partition });
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/**
 * The running broker's log directory, asked from the broker itself: the broker in use may have
 * been started by another checkout (scripts/kafka.sh reuses a listening broker).
 */
export async function brokerLogDir(): Promise<string> {
  return withAdmin(async (a) => {
    const { brokers } = await a.describeCluster();
    const cfg = await a.describeConfigs({ includeSynonyms: false, resources: [{ type: 4, name: String(brokers[0]?.nodeId ?? 1), configNames: ['log.dirs'] }] });
    const dir = cfg.resources[0]?.configEntries.find((e) => e.configName === 'log.dirs')?.configValue?.split(',')[0];
    if (!dir) throw new Error('the broker did not report log.dirs');
    return dir;
  });
}

/**
 * The `id` column values of every row in the Canal JSON messages of `topic`, read from the
 * beginning until all of `want` are there or `timeoutMs` passed (then whatever arrived).
 */
export async function deliveredCanalIds(topic: string, want: readonly string[], timeoutMs: number, kafka: Kafka = kafkaClient()): Promise<Set<string>> {
  const consumer = kafka.consumer({ groupId: uniqueName('g') });
  const ids = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const m = JSON.parse(message.value?.toString() ?? 'null') as { data: Array<{ id?: string }> | null } | null;
        for (const row of m?.data ?? []) if (row.id !== undefined) ids.add(row.id);
      },
    });
    const end = Date.now() + timeoutMs;
    while (want.some((id) => !ids.has(id)) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  } finally {
    await consumer.disconnect();
  }
  return ids;
}
