import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTopics, describeCluster } from '../../src/cluster/index.js';
import { WorkerProcess, waitUntil } from '../fixtures/cluster/workers.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, kafkaClient, uniqueName, withAdmin, withPg } from './support.js';
import { expectTopicMatchesSource } from './verify-topic.js';

/**
 * Three (then four) cluster workers as child processes share six PostgreSQL → Kafka exactly-once
 * tasks under a steady write load: one is SIGKILLed, one SIGSTOPped until its tasks moved and then
 * resumed, a fourth joins; every table rebuilt from Kafka (read_committed) matches PostgreSQL.
 */
const SESSION_MS = 10_000;
const TASKS = 6;

describe('cluster: workers share tasks through Kafka', () => {
  let db: { database: string; drop: () => Promise<void> };
  const groupId = uniqueName('cluster').replace(/_/g, '-');
  const topics = clusterTopics(groupId);
  const names = Array.from({ length: TASKS }, (_, i) => `${groupId}-t${i + 1}`);
  const dataTopics = names.map((n) => n.replace(/-/g, '_'));
  const workers: WorkerProcess[] = [];
  let writing = false;
  let writer: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    db = await createTestDatabase('cluster');
    await withPg(db.database, async (c) => {
      for (let i = 1; i <= TASKS; i++) await c.query(`CREATE TABLE public.t${i} (id bigint PRIMARY KEY, v text, n int NOT NULL DEFAULT 0)`);
    });
    for (const t of dataTopics) await createTopic(t, 3);
    // The configs topic, as an operator (or Cluster.putTask) fills it: one record per task.
    await withAdmin((a) => a.createTopics({ waitForLeaders: true, topics: [{ topic: topics.configs, numPartitions: 1, replicationFactor: -1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] }));
    const producer = kafkaClient().producer();
    await producer.connect();
    await producer.send({
      topic: topics.configs,
      acks: -1,
      messages: names.map((name, i) => ({
        key: name,
        value: JSON.stringify({
          config: {
            name,
            source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: db.database },
            destination: { kafka: { brokers: [...servers.kafka.brokers], topic: dataTopics[i], format: 'canal-json', partitionPolicy: 'keyHash', exactlyOnce: true } },
            objects: [{ schema: 'public', table: `t${i + 1}` }],
            checkpoints: { store: 'kafka', topic: topics.positions },
          },
        }),
      })),
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    writing = false;
    await writer.catch(() => undefined);
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await db?.drop().catch(() => undefined);
    if (!process.env.KEEP_TOPICS) await deleteTopics(...dataTopics, topics.configs, topics.status, topics.positions).catch(() => undefined);
  });

  it('moves the tasks of a killed or paused worker, fences the paused one, and spreads to a new worker; nothing lost or doubled', async () => {
    const spawnWorker = (id: string) => {
      const w = new WorkerProcess(id, { groupId, brokers: servers.kafka.brokers, sessionTimeoutMs: SESSION_MS });
      workers.push(w);
      return w;
    };
    const live = () => workers.filter((w) => w.alive && !paused.has(w));
    const paused = new Set<WorkerProcess>();
    const owners = (task: string) => live().filter((w) => w.running().includes(task) && w.state(task) === 'incremental');
    const allRunning = () => names.every((n) => owners(n).length === 1);
    const show = () => workers.map((w) => `${w.workerId}${w.alive ? '' : ' (dead)'}: ${w.running().map((t) => `${t.slice(-2)}=${w.state(t)}`).join(' ')}; errors ${JSON.stringify(w.lines.filter((l) => l.state === 'failed' || l.level === 'error').slice(-3))}; last ${w.lines.slice(-4).map((l) => JSON.stringify(l)).join(' ')}; stderr ${w.stderr.slice(0, 1500)}`).join('\n');

    const [w1, w2, w3] = [spawnWorker('w1'), spawnWorker('w2'), spawnWorker('w3')];
    await waitUntil('six tasks incremental over three workers', () => allRunning() && [w1, w2, w3].every((w) => w.running().length === 2), 90_000, show);
    expect(new Set(names.map((n) => owners(n)[0]?.workerId)).size).toBe(3);
    for (const w of [w1, w2, w3]) expect(w.running()).toHaveLength(2);

    // Steady load: inserts and updates into every table.
    writing = true;
    let next = 1;
    writer = withPg(db.database, async (c) => {
      while (writing) {
        for (let i = 1; i <= TASKS; i++) {
          await c.query(`INSERT INTO public.t${i} (id, v) SELECT g, 'v' || g FROM generate_series($1::bigint, $1::bigint + 4) g`, [next]);
          await c.query(`UPDATE public.t${i} SET n = n + 1 WHERE id = $1`, [Math.max(1, next - 3)]);
        }
        next += 5;
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    await new Promise((r) => setTimeout(r, 2000));

    // 1. SIGKILL a worker: its tasks move within the session timeout and continue.
    const lostByKill = w1.running();
    const killedAt = Date.now();
    await w1.kill('SIGKILL');
    const moved = await waitUntil('the killed worker\'s tasks assigned to the others', () => lostByKill.every((t) => live().some((w) => w.running().includes(t))), SESSION_MS + 8_000, show);
    console.log(`tasks of the killed worker reassigned after ${moved} ms`);
    await waitUntil('every task incremental again', allRunning, 60_000, show);
    console.log(`… and incremental again after ${Date.now() - killedAt} ms`);

    // 2. SIGSTOP a worker until its tasks moved, then SIGCONT: it stops them by itself.
    const lostByPause = w2.running();
    expect(lostByPause.length).toBeGreaterThan(0);
    w2.signal('SIGSTOP');
    paused.add(w2);
    const pausedAt = Date.now();
    await waitUntil('the paused worker\'s tasks incremental on w3', () => lostByPause.every((t) => owners(t).length === 1), SESSION_MS + 40_000, show);
    console.log(`tasks of the paused worker running elsewhere after ${Date.now() - pausedAt} ms`);
    await new Promise((r) => setTimeout(r, 1500)); // the new owner commits a few transactions
    const resumedAt = Date.now();
    w2.signal('SIGCONT');
    paused.delete(w2);
    // Right after SIGCONT it still believes it owns them; it must stop each (fenced, or told by the rebalance).
    await waitUntil(
      'the resumed worker stopped the tasks it lost',
      () => lostByPause.every((t) => w2.since(resumedAt).some((l) => l.type === 'log' && l.msg === 'cluster: task stopped' && l.task === t)),
      30_000,
      show,
    );
    const stopReasons = w2.since(resumedAt).filter((l) => l.msg === 'cluster: task stopped').map((l) => `${String(l.task).slice(-2)}:${String(l.reason)}`);
    console.log(`resumed worker stopped ${stopReasons.join(', ')}`);
    // It stopped them on ownership grounds (its lease, a newer owner's fence, the new assignment), not by failing on the source.
    const ownership = ['no heartbeat within the session timeout', 'PRODUCER_FENCED', 'CLUSTER_OWNERSHIP_LOST', 'assigned elsewhere'];
    for (const l of w2.since(resumedAt).filter((x) => x.msg === 'cluster: task stopped' && lostByPause.includes(String(x.task)))) expect(ownership).toContain(l.reason);
    // It rejoins and, the assignment being sticky and balanced, takes back its share.
    await waitUntil('the resumed worker runs its share again', () => allRunning() && live().every((w) => w.running().length === 3), 60_000, show);

    // 3. A fourth worker: some tasks move to it, the others keep running undisturbed.
    const before = new Map(names.map((n) => [n, owners(n)[0]?.workerId]));
    const joinedAt = Date.now();
    const w4 = spawnWorker('w4');
    await waitUntil('the fourth worker runs tasks', () => w4.running().some((t) => w4.state(t) === 'incremental'), 60_000, show);
    await waitUntil('every task incremental on exactly one worker', allRunning, 60_000, show);
    const after = new Map(names.map((n) => [n, owners(n)[0]?.workerId]));
    const movedTo4 = names.filter((n) => after.get(n) === 'w4');
    const stayed = names.filter((n) => after.get(n) === before.get(n));
    console.log(`fourth worker took ${movedTo4.join(', ')}; ${stayed.length} stayed put`);
    expect(movedTo4.length).toBeGreaterThan(0);
    expect(stayed.length + movedTo4.length).toBe(TASKS);
    for (const n of stayed) {
      const w = workers.find((x) => x.workerId === after.get(n));
      expect(w?.since(joinedAt).filter((l) => l.type === 'task' && l.task === n)).toEqual([]); // never left incremental
    }

    // GET /cluster: the coordinator's assignment, read from outside the group, is what the workers run.
    const described = await describeCluster({ groupId, brokers: servers.kafka.brokers });
    expect(described.state).toBe('Stable');
    expect(described.unassigned).toEqual([]);
    expect(described.workers.map((w) => w.workerId)).toEqual(['w2', 'w3', 'w4']);
    for (const w of described.workers) expect(w.tasks).toEqual(workers.find((x) => x.workerId === w.workerId)?.running());

    // Let every task catch up, then rebuild every table from Kafka (read_committed).
    await new Promise((r) => setTimeout(r, 1500));
    writing = false;
    await writer;
    expect(next).toBeGreaterThan(100);
    for (let i = 0; i < TASKS; i++) {
      await expectTopicMatchesSource({ topic: dataTopics[i] as string, database: db.database, tables: [`public.t${i + 1}`], strict: true, isolation: 'read_committed', timeoutMs: 45_000 });
    }
    // Exactly once: as many INSERT records per table as rows.
    const c = kafkaClient().consumer({ groupId: uniqueName('count'), readUncommitted: false });
    const inserts = new Map<string, number>();
    await c.connect();
    await c.subscribe({ topics: dataTopics, fromBeginning: true });
    await c.run({
      eachMessage: async ({ topic, message }) => {
        const m = JSON.parse(message.value?.toString() ?? '{}') as { type: string; data: unknown[] | null };
        if (m.type === 'INSERT') inserts.set(topic, (inserts.get(topic) ?? 0) + (m.data?.length ?? 0));
      },
    });
    const rows = next - 1;
    await waitUntil('every insert read', () => dataTopics.every((t) => (inserts.get(t) ?? 0) >= rows), 30_000, () => JSON.stringify([...inserts]));
    await new Promise((r) => setTimeout(r, 1000));
    await c.disconnect();
    for (const t of dataTopics) expect(inserts.get(t)).toBe(rows);

    await Promise.all(live().map((w) => w.kill('SIGTERM')));
  }, 240_000);
});
