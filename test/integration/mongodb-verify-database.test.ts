import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Long, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from './support.js';

const exec = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/tributary.js', import.meta.url));
const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const DEST_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';

/** Issue 18: `tributary verify` on a whole-database task (objects naming only the database). */
describe('tributary verify: whole-database tasks', () => {
  let src: MongoClient;
  let dst: MongoClient;
  let dir: string;
  const db = uniqueName('mverifydb');
  const renamed = `${db}_copy`;

  beforeAll(async () => {
    src = await MongoClient.connect(RS_URI, { serverSelectionTimeoutMS: 5000 });
    dst = await MongoClient.connect(DEST_URI, { serverSelectionTimeoutMS: 5000 });
    dir = await mkdtemp(join(tmpdir(), 'trib-mverify-'));
    for (const c of ['a', 'b', 'skipped']) {
      await src.db(db).collection(c).insertMany([{ _id: 1 as never, n: Long.fromNumber(1) }, { _id: 2 as never, n: Long.fromNumber(2) }]);
      if (c !== 'skipped') await dst.db(renamed).collection(c).insertMany([{ _id: 1 as never, n: Long.fromNumber(1) }, { _id: 2 as never, n: Long.fromNumber(2) }]);
    }
  });
  afterAll(async () => {
    await src.db(db).dropDatabase().catch(() => undefined);
    await dst.db(renamed).dropDatabase().catch(() => undefined);
    await src.close();
    await dst.close();
    await rm(dir, { recursive: true, force: true });
  });

  const verify = async (file: string) => {
    try {
      const r = await exec(process.execPath, [BIN, 'verify', file, '--json'], { timeout: 60_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };

  it('compares every collection of the database (renamed, exclusions honoured), and catches a changed type', async () => {
    const file = join(dir, 'task.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'verify-db',
        source: { type: 'mongodb', uri: RS_URI },
        destination: { mongodb: { uri: DEST_URI } },
        objects: [{ database: db, rename: { database: renamed } }],
        exclude: [{ database: db, collection: 'skipped' }],
      }),
    );
    const same = await verify(file);
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    const report = JSON.parse(same.stdout) as { equal: boolean; collections: Array<{ source: string; destination: string }> };
    expect(report.collections.map((c) => `${c.source} -> ${c.destination}`)).toEqual([`${db}.a -> ${renamed}.a`, `${db}.b -> ${renamed}.b`]);
    await dst.db(renamed).collection('b').deleteOne({ _id: 2 as never });
    await dst.db(renamed).collection('b').insertOne({ _id: 2 as never, n: 2 }); // int32 now
    const differs = await verify(file);
    expect(differs.code).toBe(1);
    expect((JSON.parse(differs.stdout) as { collections: Array<{ contentDiffers: string[] }> }).collections[1]?.contentDiffers).toEqual(['2']);
  }, 120_000);
});
