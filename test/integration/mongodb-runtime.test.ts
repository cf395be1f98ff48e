import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime, type TaskRunner } from '../../src/index.js';
import { verifyCollections } from '../../src/sinks/mongodb/verify.js';
import { servers } from './servers.js';
import { createTopic, deleteTopics, readTopic, uniqueName } from './support.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const OTHER_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';

/** Starts a task; precheck warnings (the substitute's short oplog window) are looked at, then ignored, as a user would. */
async function startIgnoringWarnings(task: TaskRunner): Promise<string[]> {
  task.start();
  const s = await task.waitFor((st) => ['awaitingAlertIgnore', 'incremental', 'failed', 'precheckFailed'].includes(st.state) || st.state.startsWith('full'), 60_000);
  const warned = (s.precheck ?? []).filter((i) => i.status === 'warn').map((i) => i.id);
  if (s.state === 'awaitingAlertIgnore') for (const id of warned) task.ignoreAlert(id);
  return warned;
}

describe('MongoDB tasks through the runtime (mongo-java-server substitutes)', () => {
  let runtime: Runtime;
  let src: MongoClient;
  let dst: MongoClient;
  let dir: string;
  const dbs: string[] = [];
  const topics: string[] = [];

  beforeAll(async () => {
    src = await MongoClient.connect(RS_URI, { serverSelectionTimeoutMS: 5000 });
    dst = await MongoClient.connect(OTHER_URI, { serverSelectionTimeoutMS: 5000 });
    dir = await mkdtemp(join(tmpdir(), 'trib-mongo-'));
    runtime = createRuntime({ confirmIntervalMs: 200 });
  });
  afterAll(async () => {
    await runtime?.shutdown();
    for (const d of dbs) {
      await src?.db(d).dropDatabase().catch(() => undefined);
      await dst?.db(d).dropDatabase().catch(() => undefined);
    }
    await src?.close();
    await dst?.close();
    if (topics.length > 0) await deleteTopics(...topics).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('MongoDB → Kafka (change streams): full + incremental, last Canal JSON message per _id equals the document', async () => {
    const db = uniqueName('mk');
    dbs.push(db);
    const topic = uniqueName('mk');
    topics.push(topic);
    await createTopic(topic);
    const coll = src.db(db).collection<{ _id: number; n: number; tag: string }>('items');
    await coll.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i, n: i, tag: 'initial' })));
    const task = runtime.add({
      name: db.replace(/_/g, '-'),
      source: { type: 'mongodb', uri: RS_URI, method: 'changeStreams', fullDocument: 'updateLookup' },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic } },
      objects: [{ database: db, collection: 'items' }],
      checkpoints: { store: 'file', dir },
      fullSync: { chunkRows: 100 },
    });
    await startIgnoringWarnings(task);
    await task.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
    expect(task.status.lastError).toBeNull();
    expect(task.status.state).toBe('incremental');
    for (let i = 0; i < 20; i++) await coll.updateOne({ _id: i }, { $set: { tag: 'updated', n: i * 10 } });
    await coll.deleteOne({ _id: 299 });
    await coll.insertOne({ _id: 1000, n: 1000, tag: 'late' });
    // At least one message per change; at-least-once may add duplicates, so read one more message at
    // a time until the last write shows up (asking for many more than the topic holds only times out).
    let messages = await readTopic(topic, 300 + 20 + 1 + 1, { timeoutMs: 60_000 });
    while (!messages.some((m) => m.value?.toString().includes('"late"')) && messages.length < 322 + 30) {
      const more = await readTopic(topic, messages.length + 1, { timeoutMs: 10_000 }).catch(() => null);
      if (!more) break;
      messages = more;
    }
    const last = new Map<string, { type: string; data: Array<Record<string, unknown>> | null }>();
    for (const m of messages) {
      const v = JSON.parse(m.value?.toString() ?? '{}') as { type: string; data: Array<Record<string, unknown>> | null; old: Array<Record<string, unknown>> | null; pkNames: string[] };
      expect(v.pkNames).toEqual(['_id']);
      const id = JSON.stringify((v.type === 'UPDATE' ? v.old?.[0]?._id : v.data?.[0]?._id) ?? null);
      last.set(id, v);
    }
    const docs = await coll.find().toArray();
    expect(last.get('299')?.type).toBe('DELETE');
    for (const d of docs) {
      const got = last.get(JSON.stringify(d._id));
      expect(got, `no message for _id ${d._id}; ${messages.length} messages read; last: ${messages.slice(-2).map((m) => m.value?.toString()).join(" | ")}`).toBeDefined();
      expect(['INSERT', 'UPDATE']).toContain(got?.type);
      const data = got?.data?.[0] ?? {};
      // Full document (updateLookup) or the $set form: either way the final fields match.
      const fields = (data.$set as Record<string, unknown> | undefined) ?? data;
      expect(fields.tag).toBe(d.tag);
      expect(Number(fields.n)).toBe(d.n);
    }
  }, 120_000);

  it('MongoDB → MongoDB (oplog): full + incremental while writes continue; verification finds zero differences', async () => {
    const db = uniqueName('mm');
    dbs.push(db);
    const coll = src.db(db).collection<{ _id: number; n: number; nested?: { a: number } }>('docs');
    await coll.insertMany(Array.from({ length: 500 }, (_, i) => ({ _id: i, n: i, nested: { a: i } })));
    const task = runtime.add({
      name: db.replace(/_/g, '-'),
      source: { type: 'mongodb', uri: RS_URI, method: 'oplog' },
      destination: { mongodb: { uri: OTHER_URI } },
      objects: [{ database: db, collection: 'docs' }],
      checkpoints: { store: 'file', dir },
      fullSync: { chunkRows: 200 },
    });
    const warned = await startIgnoringWarnings(task);
    expect(warned).toContain('source.oplog');
    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing || i < 30) {
        await coll.updateOne({ _id: i % 500 }, { $set: { n: -i } });
        await coll.insertOne({ _id: 10_000 + i, n: i });
        i++;
      }
      await coll.deleteOne({ _id: 3 });
      return i;
    })();
    await task.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
    expect(task.status.lastError).toBeNull();
    writing = false;
    await writer;
    let report = await verifyCollections(src, dst, [{ source: { database: db, collection: 'docs' }, destination: { database: db, collection: 'docs' } }]);
    const end = Date.now() + 60_000;
    while (!report.equal && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 500));
      report = await verifyCollections(src, dst, [{ source: { database: db, collection: 'docs' }, destination: { database: db, collection: 'docs' } }]);
    }
    expect(report.equal).toBe(true);
    expect(report.collections[0]?.sourceCount).toBeGreaterThanOrEqual(529);
    expect(report.collections[0]?.differences).toBe(0);
  }, 120_000);
});
