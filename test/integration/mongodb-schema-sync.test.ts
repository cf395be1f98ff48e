import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { uniqueName } from './support.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const OTHER_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';

/** syncTypes.schema for MongoDB → MongoDB: the task's schema phase creates the collections and their indexes at the destination, under their mapped names. */
describe('MongoDB → MongoDB: schema synchronization', () => {
  let src: MongoClient;
  let dst: MongoClient;
  let dir: string;
  let runtime: Runtime | undefined;
  const db = uniqueName('schemasync');
  const renamed = `${db}_dst`;

  beforeAll(async () => {
    src = await MongoClient.connect(RS_URI, { serverSelectionTimeoutMS: 5000 });
    dst = await MongoClient.connect(OTHER_URI, { serverSelectionTimeoutMS: 5000 });
    dir = await mkdtemp(join(tmpdir(), 'trib-schemasync-'));
    const events = src.db(db).collection('events');
    await events.createIndex({ code: 1 }, { unique: true, name: 'code_u' });
    await events.createIndex({ createdAt: 1 }, { expireAfterSeconds: 3600, name: 'ttl_created' });
    await events.insertOne({ _id: 1 as never, code: 'a', createdAt: new Date() });
    await src.db(db).createCollection('empty');
  });

  afterAll(async () => {
    await runtime?.shutdown();
    await src?.db(db).dropDatabase().catch(() => undefined);
    await dst?.db(renamed).dropDatabase().catch(() => undefined);
    await src?.close();
    await dst?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the collections (the empty one too) and their indexes, TTL without its expiry, under the mapped database', async () => {
    runtime = createRuntime({ confirmIntervalMs: 200 });
    const task = runtime.add({
      name: db.replace(/_/g, '-'),
      source: { type: 'mongodb', uri: RS_URI, method: 'changeStreams' },
      destination: { mongodb: { uri: OTHER_URI } },
      objects: [{ database: db, rename: { database: renamed } }],
      syncTypes: { schema: true, full: true, incremental: true },
      checkpoints: { store: 'file', dir },
    });
    task.start();
    const s = await task.waitFor((st) => ['awaitingAlertIgnore', 'incremental', 'failed', 'precheckFailed'].includes(st.state), 60_000);
    if (s.state === 'awaitingAlertIgnore') for (const i of s.precheck ?? []) if (i.status === 'warn') task.ignoreAlert(i.id);
    const done = await task.waitFor((st) => ['incremental', 'failed', 'precheckFailed'].includes(st.state), 60_000);
    expect(done.state, JSON.stringify(done.lastError)).toBe('incremental');
    const names = (await dst.db(renamed).listCollections().toArray()).map((c) => c.name).sort();
    expect(names).toEqual(expect.arrayContaining(['empty', 'events']));
    const ix = await dst.db(renamed).collection('events').listIndexes().toArray();
    expect(ix.find((i) => i.name === 'code_u')?.unique).toBe(true);
    expect(ix.find((i) => i.name === 'ttl_created')).toMatchObject({ key: { createdAt: 1 } });
    expect(ix.find((i) => i.name === 'ttl_created')?.expireAfterSeconds).toBeUndefined();
  }, 120_000);
});
