import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTopics } from '../../src/cluster/index.js';
import { WorkerProcess, waitUntil } from '../fixtures/cluster/workers.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, kafkaClient, uniqueName, withAdmin, withPg } from './support.js';
import { expectTopicMatchesSource, readTopicByPartition } from './verify-topic.js';

/**
 * Without exactly-once: two workers, four at-least-once tasks under load; one worker SIGKILLed; its
 * tasks continue on the other from their positions, every position record carries its writer and
 * assignment epoch, and every table rebuilt from Kafka matches PostgreSQL (duplicates allowed).
 */
const SESSION_MS = 10_000;
const TASKS = 4;

describe('cluster without exactly-once: positions carry the worker and epoch', () => {
  let db: { database: string; drop: () => Promise<void> };
  const groupId = uniqueName('clalo').replace(/_/g, '-');
  const topics = clusterTopics(groupId);
  const names = Array.from({ length: TASKS }, (_, i) => `${groupId}-t${i + 1}`);
  const dataTopics = names.map((n) => n.replace(/-/g, '_'));
  const extra = `${groupId}-t${TASKS + 1}`;
  const extraTopic = extra.replace(/-/g, '_');
  const configOf = (name: string, topic: string, table: string) => ({
    name,
    source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: db.database },
    destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', partitionPolicy: 'keyHash' } },
    objects: [{ schema: 'public', table }],
  });
  const workers: WorkerProcess[] = [];
  let writing = false;
  let writer: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    db = await createTestDatabase('clalo');
    await withPg(db.database, async (c) => {
      for (let i = 1; i <= TASKS + 1; i++) await c.query(`CREATE TABLE public.t${i} (id bigint PRIMARY KEY, v text)`);
    });
    for (const t of [...dataTopics, extraTopic]) await createTopic(t, 3);
    await withAdmin((a) => a.createTopics({ waitForLeaders: true, topics: [{ topic: topics.configs, numPartitions: 1, replicationFactor: -1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] }));
    const producer = kafkaClient().producer();
    await producer.connect();
    await producer.send({
      topic: topics.configs,
      acks: -1,
      messages: names.map((name, i) => ({
        key: name,
        value: JSON.stringify({ config: configOf(name, dataTopics[i] as string, `t${i + 1}`) }),
      })),
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    writing = false;
    await writer.catch(() => undefined);
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await db?.drop().catch(() => undefined);
    if (!process.env.KEEP_TOPICS) await deleteTopics(...dataTopics, extraTopic, topics.configs, topics.status, topics.positions).catch(() => undefined);
  });

  it('a killed worker\'s tasks continue on the other from their positions; nothing lost', async () => {
    const w1 = new WorkerProcess('a1', { groupId, brokers: servers.kafka.brokers, sessionTimeoutMs: SESSION_MS });
    const w2 = new WorkerProcess('a2', { groupId, brokers: servers.kafka.brokers, sessionTimeoutMs: SESSION_MS });
    workers.push(w1, w2);
    const show = () => workers.map((w) => `${w.workerId}: ${w.running().map((t) => `${t.slice(-2)}=${w.state(t)}`).join(' ')}; stderr ${w.stderr.slice(0, 800)}`).join('\n');
    const running = (ws: WorkerProcess[]) => names.every((n) => ws.filter((w) => w.running().includes(n) && w.state(n) === 'incremental').length === 1);
    await waitUntil('four tasks over two workers', () => running([w1, w2]) && w1.running().length === 2 && w2.running().length === 2, 90_000, show);

    writing = true;
    let next = 1;
    writer = withPg(db.database, async (c) => {
      while (writing) {
        for (let i = 1; i <= TASKS; i++) await c.query(`INSERT INTO public.t${i} SELECT g, 'v' || g FROM generate_series($1::bigint, $1::bigint + 4) g`, [next]);
        next += 5;
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    await new Promise((r) => setTimeout(r, 2000));
    const lost = w1.running();
    await w1.kill('SIGKILL');
    await waitUntil('the killed worker\'s tasks run on the other', () => running([w2]), SESSION_MS + 30_000, show);
    await new Promise((r) => setTimeout(r, 2000));
    writing = false;
    await writer;

    for (let i = 0; i < TASKS; i++) {
      await expectTopicMatchesSource({ topic: dataTopics[i] as string, database: db.database, tables: [`public.t${i + 1}`], timeoutMs: 45_000 });
    }
    // Positions: every record names its writer and the assignment epoch; the moved tasks' latest are a2's, at a newer epoch.
    await new Promise((r) => setTimeout(r, 1000));
    const records = [...(await readTopicByPartition(topics.positions)).values()].flat();
    const latest = new Map<string, { owner?: { workerId: string; epoch: number } }>();
    for (const r of records) {
      const v = r.value ? (JSON.parse(r.value.toString()) as { owner?: { workerId: string; epoch: number } }) : null;
      expect(v?.owner?.workerId).toMatch(/^a[12]$/);
      expect(v?.owner?.epoch).toBeGreaterThan(0);
      if (v && r.key) latest.set(r.key, v);
    }
    const firstEpoch = Math.min(...[...latest.values()].map((v) => v.owner?.epoch ?? 0));
    for (const t of lost) {
      expect(latest.get(t)?.owner?.workerId).toBe('a2');
      expect(latest.get(t)?.owner?.epoch).toBeGreaterThanOrEqual(firstEpoch);
    }

    // A task put into the running cluster is assigned without any worker joining or leaving; a task removed stops.
    const producer = kafkaClient().producer();
    await producer.connect();
    await producer.send({ topic: topics.configs, acks: -1, messages: [{ key: extra, value: JSON.stringify({ config: configOf(extra, extraTopic, `t${TASKS + 1}`) }) }] });
    await waitUntil('the added task runs', () => w2.running().includes(extra) && w2.state(extra) === 'incremental', 40_000, show);
    const removed = names[0] as string;
    await producer.send({ topic: topics.configs, acks: -1, messages: [{ key: removed, value: null }] });
    await waitUntil('the removed task stops', () => !w2.running().includes(removed), 40_000, show);
    expect(w2.running()).toEqual([...names.slice(1), extra].sort());
    // A changed config of a running task: modified in place, back to incremental.
    const changed = names[1] as string;
    const since = Date.now();
    await producer.send({ topic: topics.configs, acks: -1, messages: [{ key: changed, value: JSON.stringify({ config: { ...configOf(changed, dataTopics[1] as string, 't2'), throttle: { incremental: { rps: 100_000 } } } }) }] });
    await producer.disconnect();
    await waitUntil('the changed task modified and incremental', () => w2.since(since).some((l) => l.msg === 'cluster: task modified' && l.task === changed) && w2.state(changed) === 'incremental', 40_000, show);
    await w2.kill('SIGTERM');
  }, 180_000);
});
