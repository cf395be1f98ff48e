import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers } from './servers.js';
import { createTopic, deleteTopics, kafkaClient, uniqueName } from './support.js';
import { TaskProcess } from './taskProcess.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';

/** The last Canal JSON image per `_id` of a topic (MongoDB documents), read partition by partition. */
async function rebuild(topic: string, timeoutMs: number, until: (rows: Map<string, unknown>) => boolean): Promise<Map<string, unknown>> {
  const consumer = kafkaClient().consumer({ groupId: uniqueName('g') });
  const byPartition = new Map<number, Array<{ type: string; data: Array<Record<string, unknown>> | null }>>();
  const build = () => {
    const rows = new Map<string, unknown>();
    for (const p of [...byPartition.keys()].sort((a, b) => a - b)) {
      for (const m of byPartition.get(p) ?? []) {
        for (const d of m.data ?? []) {
          const id = JSON.stringify(d._id);
          if (m.type === 'DELETE') rows.delete(id);
          else rows.set(id, d);
        }
      }
    }
    return rows;
  };
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const list = byPartition.get(partition) ?? [];
        list.push(JSON.parse(message.value?.toString() ?? 'null') as { type: string; data: Array<Record<string, unknown>> | null });
        byPartition.set(partition, list);
      },
    });
    const end = Date.now() + timeoutMs;
    while (!until(build()) && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
  } finally {
    await consumer.disconnect();
  }
  return build();
}

/**
 * MongoDB full sync resumed after a crash: `_id` split points are read from the data, so after a
 * mass delete a recomputed plan would put chunk boundaries elsewhere. The resumed copy must run
 * the plan it first made.
 */
describe('MongoDB → Kafka: full sync resumed after a crash covers exactly the first plan', () => {
  let src: MongoClient;
  let dir: string;
  const children: TaskProcess[] = [];
  const db = uniqueName('mresume');
  const topic = uniqueName('mresume');

  beforeAll(async () => {
    src = await MongoClient.connect(RS_URI, { serverSelectionTimeoutMS: 5000 });
    dir = await mkdtemp(join(tmpdir(), 'trib-mresume-'));
    await createTopic(topic, 3);
    await src.db(db).collection<{ _id: number; v: string }>('items').insertMany(Array.from({ length: 6000 }, (_, i) => ({ _id: i, v: `doc ${i}` })));
  });

  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await src?.db(db).dropDatabase().catch(() => undefined);
    await src?.close();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('every document of the source arrives after SIGKILL, a mass delete and a restart', async () => {
    const name = db.replace(/_/g, '-');
    const base = {
      name,
      source: { type: 'mongodb', uri: RS_URI, method: 'changeStreams', fullDocument: 'updateLookup' },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, partitionPolicy: 'keyHash' } },
      objects: [{ database: db, collection: 'items' }],
      checkpoints: { store: 'file', dir },
      fullSync: { parallelism: 1, chunkRows: 1000 },
    };
    const env = { TRIBUTARY_IGNORE_WARNINGS: '1' };
    const first = new TaskProcess({ ...base, throttle: { full: { rps: 400 } } }, env);
    children.push(first);
    const file = join(dir, `${encodeURIComponent(name)}.json`);
    let checkpoint: { chunksDone?: Record<string, number> } = {};
    const end = Date.now() + 90_000;
    while (Object.keys(checkpoint.chunksDone ?? {}).length === 0) {
      if (Date.now() > end) throw new Error(`no chunk checkpointed; child: ${JSON.stringify(first.lines)} ${first.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
      checkpoint = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as typeof checkpoint;
    }
    await first.kill('SIGKILL');
    const done = Object.keys(checkpoint.chunksDone ?? {});
    expect(done.length).toBeLessThan(6);

    // While the task is down: every other document deleted, so split points read now would differ.
    await src.db(db).collection<{ _id: number; v: string }>('items').deleteMany({ _id: { $mod: [2, 0] } });

    const second = new TaskProcess(base, env);
    children.push(second);
    await second.waitForState('incremental', 120_000);
    const want = (await src.db(db).collection('items').find({}, { projection: { _id: 1 } }).toArray()).map((d) => JSON.stringify(d._id));
    expect(want).toHaveLength(3000);
    const rows = await rebuild(topic, 60_000, (r) => want.every((id) => r.has(id)) && r.size === want.length);
    const missing = want.filter((id) => !rows.has(id));
    expect(missing, `${missing.length} documents never arrived (first: ${missing.slice(0, 5).join(', ')}); chunks done at the kill: ${done.join(', ')}`).toEqual([]);
    expect(rows.size).toBe(want.length);
    await second.kill('SIGTERM');
  }, 300_000);
});
