import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Double, Long, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCollections } from '../../src/sinks/mongodb/verify.js';
import { uniqueName } from './support.js';
import { TaskProcess } from './taskProcess.js';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const DEST_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';

/**
 * Issue 18: MongoDB → MongoDB killed during the full sync. The restart copies again the chunks
 * that were not checkpointed, some of whose documents already reached the destination; those
 * replays must not fail with E11000, and the destination must end equal to the source.
 */
describe('MongoDB → MongoDB: a full sync killed mid-copy resumes to an exact copy', () => {
  let src: MongoClient;
  let dst: MongoClient;
  let dir: string;
  const children: TaskProcess[] = [];
  const db = uniqueName('m2mresume');

  beforeAll(async () => {
    src = await MongoClient.connect(RS_URI, { serverSelectionTimeoutMS: 5000 });
    dst = await MongoClient.connect(DEST_URI, { serverSelectionTimeoutMS: 5000 });
    dir = await mkdtemp(join(tmpdir(), 'trib-m2m-'));
    await src
      .db(db)
      .collection('items')
      .insertMany(Array.from({ length: 5000 }, (_, i) => ({ _id: i as never, v: `doc ${i}`, n: Long.fromNumber(i), d: new Double(i) })));
  });

  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await src?.db(db).dropDatabase().catch(() => undefined);
    await dst?.db(db).dropDatabase().catch(() => undefined);
    await src?.close();
    await dst?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('SIGKILL during the copy, restart: no duplicate-key failure, destination equals source', async () => {
    const name = db.replace(/_/g, '-');
    const base = {
      name,
      source: { type: 'mongodb', uri: RS_URI, method: 'changeStreams', fullDocument: 'updateLookup' },
      destination: { mongodb: { uri: DEST_URI } },
      objects: [{ database: db, collection: 'items' }],
      checkpoints: { store: 'file', dir },
      fullSync: { parallelism: 1, chunkRows: 1000 },
    };
    const env = { TRIBUTARY_IGNORE_WARNINGS: '1' };
    const first = new TaskProcess({ ...base, throttle: { full: { rps: 500 } } }, env);
    children.push(first);
    const file = join(dir, `${encodeURIComponent(name)}.json`);
    let checkpoint: { chunksDone?: Record<string, number> } = {};
    const end = Date.now() + 90_000;
    while (Object.keys(checkpoint.chunksDone ?? {}).length === 0) {
      if (Date.now() > end) throw new Error(`no chunk checkpointed; child: ${JSON.stringify(first.lines)} ${first.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
      checkpoint = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as typeof checkpoint;
    }
    // Let part of the next chunk reach the destination, then kill: those documents are replayed.
    const copied = Object.keys(checkpoint.chunksDone ?? {}).length * 1000;
    const partEnd = Date.now() + 30_000;
    while ((await dst.db(db).collection('items').countDocuments()) <= copied + 50 && Date.now() < partEnd) await new Promise((r) => setTimeout(r, 50));
    await first.kill('SIGKILL');
    const atKill = await dst.db(db).collection('items').countDocuments();
    expect(atKill).toBeGreaterThan(copied);
    expect(atKill).toBeLessThan(5000);

    const second = new TaskProcess(base, env);
    children.push(second);
    await second.waitForState('incremental', 120_000);
    const report = await verifyCollections(src, dst, [{ source: { database: db, collection: 'items' } }]);
    expect(report.collections[0]?.differences).toBe(0);
    expect(report.equal).toBe(true);
    await second.kill('SIGTERM');
  }, 300_000);
});
