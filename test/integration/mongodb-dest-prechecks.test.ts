import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from './support.js';
import { TaskProcess } from './taskProcess.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const DEST_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';

/** Issue 18: the MongoDB destination's prechecks run inside a task, with the source's collections and version. */
describe('MongoDB destination prechecks inside a task', () => {
  let src: MongoClient;
  let dst: MongoClient;
  let dir: string;
  const children: TaskProcess[] = [];
  const db = uniqueName('mprecheck');

  beforeAll(async () => {
    src = await MongoClient.connect(RS_URI, { serverSelectionTimeoutMS: 5000 });
    dst = await MongoClient.connect(DEST_URI, { serverSelectionTimeoutMS: 5000 });
    dir = await mkdtemp(join(tmpdir(), 'trib-mprecheck-'));
    await src.db(db).collection('orders').insertOne({ _id: 1 as never });
    await src.db(db).collection('fresh').insertOne({ _id: 1 as never });
    await dst.db(db).collection('orders').insertOne({ _id: 99 as never, someone: 'else' });
  });
  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await src?.db(db).dropDatabase().catch(() => undefined);
    await dst?.db(db).dropDatabase().catch(() => undefined);
    await src?.close();
    await dst?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a same-named destination collection fails the task precheck, naming it; versions are compared', async () => {
    const child = new TaskProcess(
      {
        name: db.replace(/_/g, '-'),
        source: { type: 'mongodb', uri: RS_URI, method: 'changeStreams' },
        destination: { mongodb: { uri: DEST_URI } },
        objects: [{ database: db }],
        checkpoints: { store: 'file', dir },
      },
      { TRIBUTARY_IGNORE_WARNINGS: '1' },
    );
    children.push(child);
    const end = Date.now() + 60_000;
    while (!child.lines.some((l) => l.state === 'precheckFailed' || l.state === 'incremental' || l.state === 'failed') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    const line = child.lines.find((l) => l.state === 'precheckFailed') as unknown as { failedChecks: Array<{ id: string; status: string; detail?: string }> } | undefined;
    expect(line, JSON.stringify(child.lines)).toBeDefined();
    const conflict = line?.failedChecks.find((i) => i.id === 'mongodb.destination.conflicting-collections');
    expect(conflict).toMatchObject({ status: 'fail', detail: `already present at the destination: ${db}.orders` });
    // The version check knew the source's version (no "source version unknown" warning).
    expect(line?.failedChecks.find((i) => i.id === 'mongodb.destination.version')).toBeUndefined();
    expect(await dst.db(db).collection('orders').countDocuments()).toBe(1);
  }, 90_000);
});
