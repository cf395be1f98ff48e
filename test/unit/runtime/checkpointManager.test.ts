import { describe, expect, it, vi } from 'vitest';
import type { Checkpoint } from '../../../src/checkpoints/index.js';
import type { Logger, Sink, SnapshotChunk } from '../../../src/core/contracts.js';
import { TransientError } from '../../../src/core/errors.js';
import { SequencePosition } from '../../../src/core/position.js';
import { CheckpointManager } from '../../../src/runtime/checkpointManager.js';
import { MemoryStore } from './memoryStore.js';

const logger: Logger = { debug: () => {}, info: () => {}, warn: vi.fn(), error: () => {} };
const plainSink = (): Pick<Sink, 'kind' | 'capabilities' | 'recover'> => ({ kind: 'test', capabilities: { maxInFlightWrites: 1, transactional: false } });
const chunk = (table: string, from: number, generation = 'g1'): SnapshotChunk => ({
  id: `public.${table}:${from}`,
  table: { database: 'db', schema: 'public', table },
  bounds: { from },
  generation,
});
const pos = (n: number) => new SequencePosition(BigInt(n));

describe('CheckpointManager', () => {
  it('starts empty, loads the stored checkpoint once and saves it with a fresh timestamp', async () => {
    const store = new MemoryStore();
    store.saved.set('t', { taskId: 't', streamFrom: '5', position: '9', chunksDone: {}, updatedAt: 1 });
    const m = new CheckpointManager({ taskId: 't', store, sink: plainSink(), logger });
    expect(m.current).toMatchObject({ taskId: 't', chunksDone: {} });
    expect(m.resuming).toBe(false);
    await m.load();
    expect(m.resuming).toBe(true);
    expect(m.position).toBe('9');
    expect(m.streamStart()).toBe('9');
    store.saved.set('t', { taskId: 't', chunksDone: {}, updatedAt: 2 });
    await m.load(); // loaded already: the store is not read again
    expect(m.position).toBe('9');
    await m.save();
    expect(store.saved.get('t')?.position).toBe('9');
    expect(store.saved.get('t')?.updatedAt).toBeGreaterThan(2);
  });

  it('records the stream start of an incremental-only task, and the acknowledged position', async () => {
    const store = new MemoryStore();
    const m = new CheckpointManager({ taskId: 't', store, sink: plainSink(), logger });
    await m.load();
    expect(m.hasStart).toBe(false);
    await m.recordStreamFrom(pos(3));
    expect(m.hasStart).toBe(true);
    expect(m.streamStart()).toBe('3');
    expect(m.replayedThrough(pos(3))).toBeNull();
    await m.recordPosition(pos(7));
    expect(store.saved.get('t')).toMatchObject({ streamFrom: '3', position: '7' });
    expect(m.streamStart()).toBe('7');
  });

  it('keeps the first full-sync plan on resume, forgets chunks that no longer hold, and drops the plan when full sync ends', async () => {
    const store = new MemoryStore();
    const first = new CheckpointManager({ taskId: 't', store, sink: plainSink(), logger });
    await first.load();
    const planned = await first.adoptPlan(pos(10), [chunk('a', 0), chunk('a', 60), chunk('b', 0)]);
    expect(planned.map((c) => c.id)).toEqual(['public.a:0', 'public.a:60', 'public.b:0']);
    await first.chunkCopied('public.a:0', 100);
    await first.chunkCopied('public.b:0', 5);

    // After a crash: table a is split differently now (kept as first planned), b was rewritten.
    const again = new CheckpointManager({ taskId: 't', store, sink: plainSink(), logger });
    await again.load();
    const resumed = await again.adoptPlan(pos(20), [chunk('a', 0), chunk('b', 0, 'g2'), chunk('b', 50, 'g2')]);
    expect(resumed.map((c) => c.id)).toEqual(['public.a:0', 'public.a:60', 'public.b:0', 'public.b:50']);
    expect(again.rowsCopied('public.a:0')).toBe(100);
    expect(again.rowsCopied('public.b:0')).toBeUndefined();
    expect(again.streamStart()).toBe('10'); // the first stream start is kept
    expect(logger.warn).toHaveBeenCalledWith('full sync of a table starts over', expect.objectContaining({ task: 't', table: 'db.public.b' }));

    await again.endFullSync(true);
    expect(again.fullDone).toBe(true);
    expect(store.saved.get('t')?.plan).toBeUndefined();
    expect(store.saved.get('t')?.fullDone).toBe(true);
  });

  it('exactly-once: loads through recover(), never saves positions itself, takes committed positions, drops replayed events', async () => {
    const store = new MemoryStore();
    const recovered: Checkpoint = { taskId: 't', streamFrom: '1', position: '4', chunksDone: {}, updatedAt: 1 };
    const recover = vi.fn(() => Promise.resolve(structuredClone(recovered)));
    const load = vi.spyOn(store, 'load');
    const m = new CheckpointManager({ taskId: 't', store, sink: { kind: 'tx', capabilities: { maxInFlightWrites: 1, transactional: true }, recover }, logger });
    expect(m.exactlyOnce).toBe(true);
    await m.load();
    expect(recover).toHaveBeenCalledTimes(1);
    expect(load).not.toHaveBeenCalled();
    expect(m.replayedThrough(pos(4))?.encode()).toBe('4');
    await m.recordPosition(pos(8));
    expect(store.saved.size).toBe(0);
    expect(m.position).toBe('4');
    m.committed({ taskId: 't', position: '8', chunksDone: {}, updatedAt: 99 });
    expect(m.position).toBe('8');
    expect(m.current.updatedAt).toBe(99);
  });

  it('exactly-once: after the sink closed, the next load recovers again and takes what Kafka committed, not the copy held', async () => {
    let committed: Checkpoint = { taskId: 't', position: '4', chunksDone: {}, updatedAt: 1 };
    const recover = vi.fn(() => Promise.resolve(structuredClone(committed)));
    const m = new CheckpointManager({ taskId: 't', store: new MemoryStore(), sink: { kind: 'tx', capabilities: { maxInFlightWrites: 1, transactional: true }, recover }, logger });
    await m.load();
    m.committed({ taskId: 't', position: '6', chunksDone: {}, updatedAt: 2 });
    await m.load(); // the sink stayed open: nothing is read again
    expect(recover).toHaveBeenCalledTimes(1);
    // Meanwhile another writer took the transactional id over and committed position 9.
    committed = { taskId: 't', position: '9', chunksDone: {}, updatedAt: 3 };
    m.sinkClosed();
    await m.load();
    expect(recover).toHaveBeenCalledTimes(2);
    expect(m.position).toBe('9');
  });

  it('at least once: a closed sink does not make the store be read again', async () => {
    const store = new MemoryStore();
    const load = vi.spyOn(store, 'load');
    const m = new CheckpointManager({ taskId: 't', store, sink: plainSink(), logger });
    await m.load();
    m.sinkClosed();
    await m.load();
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('a transactional sink without recover() is a contract error', async () => {
    const m = new CheckpointManager({ taskId: 't', store: new MemoryStore(), sink: { kind: 'tx', capabilities: { maxInFlightWrites: 1, transactional: true } }, logger });
    await expect(m.load()).rejects.toMatchObject({ code: 'SINK_CONTRACT', kind: 'fatal' });
  });

  it('a failed write rejects (CHECKPOINT_WRITE_FAILED), and release removes the checkpoint', async () => {
    const store = new MemoryStore();
    const m = new CheckpointManager({ taskId: 't', store, sink: plainSink(), logger });
    await m.load();
    await m.recordPosition(pos(2));
    const save = vi.spyOn(store, 'save').mockRejectedValueOnce(new TransientError('CHECKPOINT_WRITE_FAILED', 'disk full'));
    await expect(m.recordPosition(pos(3))).rejects.toMatchObject({ code: 'CHECKPOINT_WRITE_FAILED' });
    save.mockRestore();
    expect(store.saved.get('t')?.position).toBe('2');
    await m.release();
    expect(store.saved.has('t')).toBe(false);
  });
});
