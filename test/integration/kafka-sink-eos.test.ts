import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { bufferCount, concatMap, from, lastValueFrom, defaultIfEmpty } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCodecs } from '../../src/codecs/index.js';
import { emptyCheckpoint, type Checkpoint } from '../../src/checkpoints/store.js';
import { SequencePosition } from '../../src/core/position.js';
import { TributaryError } from '../../src/core/errors.js';
import { skipThrough } from '../../src/sinks/kafka/index.js';
import { batchOf, canalRow, eosHistory, newSink } from './kafka-sink-helpers.js';
import { createTopic, deleteTopics, readTopic, uniqueName } from './support.js';

const topics: string[] = [];
beforeAll(() => registerCodecs());
afterAll(async () => {
  if (topics.length > 0) await deleteTopics(...topics);
});

/** Writers started by this file, killed (whole process group) in afterAll should a test fail before it did. */
const writers: ChildProcess[] = [];
afterAll(() => {
  for (const c of writers) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) killGroup(c.pid);
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** True while a process with this pid exists (signal 0 checks without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

interface Writer {
  child: ChildProcess;
  lines: string[];
  waitFor: (line: string, timeoutMs?: number) => Promise<void>;
  /** SIGKILLs the writer's process group and resolves with the signal that ended the writer. */
  kill: () => Promise<NodeJS.Signals | null>;
}

/**
 * The writer runs in `node` itself (tsx only as an import hook, so no wrapper process stands
 * between the test and the writer), as the leader of its own process group.
 */
function startWriter(args: string[]): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve('test/integration/kafka-sink-eos-writer.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  writers.push(child);
  const exited = new Promise<NodeJS.Signals | null>((res) => child.once('exit', (_code, signal) => res(signal)));
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
    for (const w of waiters) w();
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const waitFor = (line: string, timeoutMs = 45_000) =>
    new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`writer did not print ${line} within ${timeoutMs} ms; stdout ${lines.join('|')}; stderr ${stderr}`)), timeoutMs);
      const check = () => {
        if (lines.includes(line)) {
          clearTimeout(timer);
          res();
        }
      };
      waiters.push(check);
      child.once('exit', (code) => {
        if (!lines.includes(line)) {
          clearTimeout(timer);
          rej(new Error(`writer exited with ${code} before ${line}; stderr ${stderr}`));
        }
      });
      check();
    });
  const kill = async () => {
    if (child.pid === undefined) throw new Error('the writer has no pid');
    if (child.exitCode !== null || child.signalCode !== null) return child.signalCode;
    killGroup(child.pid);
    return exited;
  };
  return { child, lines, waitFor, kill };
}

describe('KafkaSink exactly-once (transactional data + checkpoint)', () => {
  it('a writer SIGKILLed mid-transaction is fenced on restart; resuming from the committed checkpoint, read_committed sees every change exactly once', async () => {
    const topic = uniqueName('eos_data');
    const checkpointTopic = uniqueName('eos_ckpt');
    topics.push(topic, checkpointTopic);
    await createTopic(topic, 3);
    const transactionalId = uniqueName('tributary-eos');
    const taskId = 'eos-task';
    const batches = 4;
    const size = 25;
    const total = 10 * size;
    const history = eosHistory(total);

    // 1. A writer commits 4 batches, sends a 5th and is killed before committing it.
    const w = startWriter([topic, checkpointTopic, transactionalId, taskId, String(batches), String(size)]);
    await w.waitFor('IN_TX');
    expect(w.lines.filter((l) => l.startsWith('COMMITTED '))).toEqual([1, 2, 3, 4].map((b) => `COMMITTED ${b * size}`));
    // The killed transaction's data really reached the log: read_uncommitted sees it.
    const dirty = await readTopic(topic, (batches + 1) * size, { isolation: 'read_uncommitted' });
    expect(dirty).toHaveLength((batches + 1) * size);
    // The process the test spawned is the writer itself: the pid it reports is the child's.
    const writerPid = Number(w.lines.find((l) => l.startsWith('PID '))?.slice('PID '.length));
    expect(writerPid).toBe(w.child.pid);
    expect(alive(writerPid)).toBe(true);
    expect(await w.kill()).toBe('SIGKILL');
    // The writer is gone (no orphan left holding its Kafka connection and open transaction).
    expect(alive(writerPid)).toBe(false);

    // 2. Restart with the same transactionalId: fences the dead producer, aborts its transaction.
    let committed: Checkpoint | null = null;
    const sink = newSink(topic, {
      partitionPolicy: 'keyHash',
      exactlyOnce: { transactionalId, checkpointTopic, taskId, checkpoint: () => committed ?? emptyCheckpoint(taskId), onCommitted: (cp) => (committed = cp) },
    });
    try {
      committed = await sink.recover();
      expect(committed?.taskId).toBe(taskId);
      expect(committed?.position).toBe(String(batches * size));
      // 3. The source replays from an older confirmed point (here: the very beginning); the
      //    committed prefix is dropped and the rest is written in new transactions.
      const resumeFrom = SequencePosition.decode(committed?.position ?? '0');
      const written = await lastValueFrom(
        from(history).pipe(
          skipThrough(resumeFrom),
          bufferCount(40),
          concatMap(async (items) => {
            await sink.write(batchOf(items));
            return items.length;
          }),
          defaultIfEmpty(0),
        ),
      );
      expect(written).toBeGreaterThan(0);
    } finally {
      await sink.close();
    }
    expect(committed?.position).toBe(String(total));

    // 4. read_committed: every change exactly once, and per key in order.
    const read = await readTopic(topic, total, { isolation: 'read_committed' });
    const values = read.map((m) => Number(canalRow(m.value).v)).sort((a, b) => a - b);
    expect(values).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const perKey = new Map<string, number[]>();
    for (const m of [...read].sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)))) {
      const row = canalRow(m.value);
      perKey.set(row.id ?? '', [...(perKey.get(row.id ?? '') ?? []), Number(row.v)]);
    }
    for (const [id, vs] of perKey) expect(vs, `key ${id}`).toEqual(history.filter((e) => e.after?.id === id).map((e) => Number(e.after?.v)));
    // Nothing beyond: a read_uncommitted reader sees the aborted 25 as well, read_committed must not.
    const everything = await readTopic(topic, total + size, { isolation: 'read_uncommitted' });
    expect(everything).toHaveLength(total + size);

    // 5. The checkpoint topic holds only committed checkpoints for read_committed readers, the last at the end.
    const ckpts = await readTopic(checkpointTopic, 8, { isolation: 'read_committed' });
    const positions = ckpts.map((m) => (JSON.parse(m.value?.toString() ?? '{}') as Checkpoint).position);
    expect(positions).toEqual(['25', '50', '75', '100', '140', '180', '220', '250']);
    expect(ckpts.every((m) => m.key?.toString() === taskId)).toBe(true);
  });

  it('a second writer with the same transactionalId fences the first: its next write fails as PRODUCER_FENCED and commits nothing', async () => {
    const topic = uniqueName('eos_fence');
    const checkpointTopic = uniqueName('eos_fence_ckpt');
    topics.push(topic, checkpointTopic);
    await createTopic(topic, 1);
    const transactionalId = uniqueName('tributary-fence');
    const history = eosHistory(30);
    const opts = { exactlyOnce: { transactionalId, checkpointTopic, taskId: 't', checkpoint: () => emptyCheckpoint('t') } };
    const first = newSink(topic, opts);
    const second = newSink(topic, opts);
    try {
      await first.write(batchOf(history.slice(0, 10)));
      expect((await second.recover())?.position).toBe('10');
      const err = await first.write(batchOf(history.slice(10, 20))).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(TributaryError);
      expect((err as TributaryError).code).toBe('PRODUCER_FENCED');
      expect((err as TributaryError).retriable).toBe(false);
      expect((err as TributaryError).message).toContain(transactionalId);
      await second.write(batchOf(history.slice(10, 30)));
    } finally {
      await first.close();
      await second.close();
    }
    const read = await readTopic(topic, 30, { isolation: 'read_committed' });
    expect(read.map((m) => Number(canalRow(m.value).v))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});
