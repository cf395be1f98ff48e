import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileCheckpointStore } from '../../../src/checkpoints/fileStore.js';
import { emptyCheckpoint } from '../../../src/checkpoints/store.js';
import { TributaryError } from '../../../src/core/errors.js';

describe('FileCheckpointStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-cp-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves and loads; a missing checkpoint is null', async () => {
    const store = new FileCheckpointStore(dir);
    expect(await store.load('t')).toBeNull();
    await store.save({ ...emptyCheckpoint('t'), position: 'p1' });
    expect((await store.load('t'))?.position).toBe('p1');
    expect(await readdir(dir)).toEqual(['t.json']);
  });

  it('a file where the directory should be: a retriable error that says checkpoint, names the path, the errno and the fix', async () => {
    const blocked = join(dir, 'not-a-dir');
    await writeFile(blocked, 'x');
    const store = new FileCheckpointStore(join(blocked, 'sub'));
    const err = await store.save(emptyCheckpoint('t')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect(err).toMatchObject({ code: 'CHECKPOINT_WRITE_FAILED', kind: 'other', field: 'checkpoints.dir' });
    expect((err as Error).message).toContain('checkpoint of task t');
    expect((err as Error).message).toContain('ENOTDIR');
    expect((err as TributaryError).fix).toContain('A file stands where');
  });

  it('a failed rename leaves no temporary file behind', async () => {
    await mkdir(join(dir, 't.json', 'occupied'), { recursive: true });
    const store = new FileCheckpointStore(dir);
    const err = await store.save(emptyCheckpoint('t')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CHECKPOINT_WRITE_FAILED' });
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // later saves still run (the queue is not stuck on the failure)
    await rm(join(dir, 't.json'), { recursive: true });
    await store.save({ ...emptyCheckpoint('t'), position: 'p2' });
    expect((await store.load('t'))?.position).toBe('p2');
  });

  it('a corrupt checkpoint is fatal, naming the file and the fix (never silently a fresh start)', async () => {
    await writeFile(join(dir, 't.json'), '{"taskId": "t", "posi');
    const err = await new FileCheckpointStore(dir).load('t').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CHECKPOINT_CORRUPT', kind: 'fatal' });
    expect((err as TributaryError).fix).toContain('tributary offsets --set');
  });
});
