import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { verifyCollections } from '../../src/sinks/mongodb/verify.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const OTHER_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';

describe('pause and resume right away (incremental-only MongoDB → MongoDB)', () => {
  let runtime: Runtime;
  let src: MongoClient;
  let dst: MongoClient;
  let dir: string;
  const db = `pr_${Date.now().toString(36)}`;

  beforeAll(async () => {
    src = await MongoClient.connect(RS_URI);
    dst = await MongoClient.connect(OTHER_URI);
    dir = await mkdtemp(join(tmpdir(), 'trib-pr-'));
    runtime = createRuntime({ confirmIntervalMs: 100 });
  });
  afterAll(async () => {
    await runtime?.shutdown();
    await src?.db(db).dropDatabase().catch(() => undefined);
    await dst?.db(db).dropDatabase().catch(() => undefined);
    await src?.close();
    await dst?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes made while paused arrive after resume; closing the old connections never hits the new ones', async () => {
    const coll = src.db(db).collection<{ _id: number; n: number }>('c');
    await coll.insertOne({ _id: 0, n: 0 });
    const task = runtime.add({
      name: db.replace(/_/g, '-'),
      source: { type: 'mongodb', uri: RS_URI, method: 'oplog' },
      destination: { mongodb: { uri: OTHER_URI } },
      objects: [{ database: db, collection: 'c' }],
      syncTypes: { full: false, incremental: true },
      checkpoints: { store: 'file', dir },
    });
    task.start();
    let s = await task.waitFor((st) => ['awaitingAlertIgnore', 'incremental', 'failed', 'precheckFailed'].includes(st.state), 60_000);
    for (const i of s.precheck ?? []) if (i.status === 'warn') task.ignoreAlert(i.id);
    s = await task.waitFor((st) => st.state === 'incremental' || st.state === 'failed', 60_000);
    expect(s.state).toBe('incremental');
    await coll.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: i + 1, n: i + 1 })));
    await task.waitFor((st) => st.counters.events >= 50, 30_000);
    for (let round = 0; round < 3; round++) {
      task.pause();
      await coll.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: 1000 * (round + 1) + i, n: i })));
      task.resume();
    }
    await task.waitFor((st) => st.counters.events >= 110, 60_000);
    const report = await verifyCollections(src, dst, [{ source: { database: db, collection: 'c' } }]);
    // _id 0 predates the incremental-only task: it is the one document the destination lacks.
    expect(report.collections[0]?.missingInDestination).toEqual(['0']);
    expect(report.collections[0]?.destinationCount).toBe(110);
  }, 120_000);
});
