import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, kafkaClient, uniqueName, withPg } from './support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/run-task.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function runTask(config: unknown): { proc: ChildProcess; states: string[]; stderr: () => string } {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const states: string[] = [];
  const lines: string[] = [];
  let err = '';
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        states.push((JSON.parse(line) as { state: string }).state);
        lines.push(line);
      } catch {
        /* not a status line */
      }
    }
  });
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { proc, states, stderr: () => `${err}\n${lines.join('\n')}` };
}

async function waitState(t: ReturnType<typeof runTask>, state: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (t.states.includes(state)) return;
    if (t.states.includes('failed') || t.states.includes('precheckFailed') || t.proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`task did not reach ${state}: states ${t.states.join(',')}; stderr ${t.stderr().slice(-2000)}`);
}

describe('PostgreSQL → Kafka exactly-once: the runtime SIGKILLed mid-stream and restarted', () => {
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('eos');
  const checkpointTopic = uniqueName('eos_ckpt');
  let consumer: Consumer | null = null;

  beforeAll(async () => {
    db = await createTestDatabase('eos');
    await createTopic(topic, 3);
    await withPg(db.database, (c) => c.query('CREATE TABLE public.t (id bigint PRIMARY KEY, v text)'));
  });
  afterAll(async () => {
    await consumer?.disconnect();
    await db?.drop();
    if (!process.env.KEEP_TOPICS) await deleteTopics(topic, checkpointTopic).catch(() => undefined);
    else console.log('kept topics', topic, checkpointTopic);
  });

  it('a read_committed consumer sees every change exactly once', async () => {
    const config = {
      name: uniqueName('eos').replace(/_/g, '-'),
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', partitionPolicy: 'keyHash', exactlyOnce: true } },
      objects: [{ schema: 'public', table: 't' }],
      checkpoints: { store: 'kafka', topic: checkpointTopic },
    };
    const first = runTask(config);
    await waitState(first, 'incremental', 90_000);

    let next = 1;
    let writing = true;
    const writer = withPg(db.database, async (c) => {
      while (writing) {
        await c.query('INSERT INTO public.t SELECT g, $2 FROM generate_series($1::bigint, $1::bigint + 9) g', [next, `v${next}`]);
        next += 10;
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    await new Promise((r) => setTimeout(r, 500));
    const second = runTask(config);
    await waitState(second, 'incremental', 90_000);
    await new Promise((r) => setTimeout(r, 1000));
    writing = false;
    await writer;
    const total = next - 1;
    expect(total).toBeGreaterThan(100);

    const seen = new Map<string, number>();
    let messages = 0;
    consumer = kafkaClient().consumer({ groupId: uniqueName('g'), readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        messages += 1;
        const m = JSON.parse(message.value?.toString() ?? '{}') as { data: Array<{ id: string }> };
        for (const row of m.data ?? []) seen.set(row.id, (seen.get(row.id) ?? 0) + 1);
      },
    });
    const end = Date.now() + 60_000;
    while (seen.size < total && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000)); // a duplicate would arrive after the last new id
    second.proc.kill('SIGTERM');
    await new Promise((r) => second.proc.once('exit', r));

    expect(seen.size).toBe(total);
    const dupes = [...seen].filter(([, n]) => n > 1);
    expect(dupes).toEqual([]);
    expect(messages).toBe(total);
  }, 240_000);
});
