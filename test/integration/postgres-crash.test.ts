import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCodecs } from '../../src/codecs/index.js';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { TaskProcess } from './taskProcess.js';
import { createTestDatabase, createTopic, deleteTopics, kafkaClient, uniqueName, withPg } from './support.js';


interface CanalMessage {
  table: string;
  type: string;
  pkNames: string[] | null;
  data: Array<Record<string, string | null>> | null;
}

describe('PostgreSQL → Kafka: the runtime SIGKILLed mid-stream and started again', () => {
  let db: { database: string; drop: () => Promise<void> };
  let dir: string;
  let consumer: Consumer;
  const children: TaskProcess[] = [];
  const topic = uniqueName('crash');
  /** Last image per id, every id seen in an INSERT, and how many messages per (type,id). */
  const state = new Map<string, Record<string, string | null>>();
  const inserted = new Set<string>();
  let messages = 0;

  beforeAll(async () => {
    registerCodecs(); // the consumer decodes the runtime's LZ4 batches
    db = await createTestDatabase('crash');
    dir = await mkdtemp(join(tmpdir(), 'trib-crash-'));
    await createTopic(topic, 3);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.ticks (id bigint PRIMARY KEY, n int NOT NULL, v text)');
      await c.query(`INSERT INTO public.ticks SELECT g, 0, 'seed' FROM generate_series(1, 100) g`);
    });
    consumer = kafkaClient().consumer({ groupId: uniqueName('g') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        messages += 1;
        const m = JSON.parse(message.value?.toString() ?? 'null') as CanalMessage;
        for (const row of m.data ?? []) {
          const id = row.id ?? '';
          if (m.type === 'INSERT') inserted.add(id);
          if (m.type === 'DELETE') state.delete(id);
          else state.set(id, row);
        }
      },
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await consumer?.disconnect();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no change: every insert arrives at least once and the final state per key equals the source', async () => {
    const name = uniqueName('crash').replace(/_/g, '-');
    const config = {
      name,
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', partitionPolicy: 'keyHash' } },
      objects: [{ schema: 'public', table: 'ticks' }],
      checkpoints: { store: 'file', dir },
      // No conflictMode: the restarted runtime runs the real precheck (precheckAndReport) against a
      // topic that holds its own earlier output.
    };
    const first = new TaskProcess(config);
    children.push(first);
    await first.waitForState('incremental', 90_000);

    // Continuous writes: an insert, an update of an older row and now and then a delete, per transaction.
    let writing = true;
    let writes = 0;
    const writer = withPg(db.database, async (c) => {
      c.on('error', () => undefined);
      while (writing) {
        writes += 1;
        const i = writes;
        await c.query('BEGIN');
        await c.query(`INSERT INTO public.ticks VALUES ($1, 0, 'w')`, [1000 + i]);
        await c.query(`UPDATE public.ticks SET n = n + 1, v = 'u' || $2::text WHERE id = $1`, [((i * 7) % 100) + 1, i]);
        if (i % 5 === 0) await c.query('DELETE FROM public.ticks WHERE id = $1', [1000 + i - 3]);
        await c.query('COMMIT');
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 10));
      }
    });

    // Mid-stream: the first runtime has delivered some of the writes, and more are still coming.
    const end = Date.now() + 30_000;
    while (inserted.size < 100 + 300 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    if (inserted.size < 400) throw new Error(`only ${inserted.size} inserts (${messages} messages) arrived; child: ${JSON.stringify(first.lines)} ${first.stderr}`);
    const checkpointBefore = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8').catch(() => '{}')) as { position?: string };
    const writesAtKill = writes;
    await first.kill('SIGKILL');
    expect(first.proc.signalCode).toBe('SIGKILL');
    const seenAtKill = inserted.size;

    // Writes go on while nothing reads; then the runtime starts again from its file checkpoint.
    await new Promise((r) => setTimeout(r, 1500));
    const second = new TaskProcess(config);
    children.push(second);
    await second.waitForState('incremental', 90_000);
    await new Promise((r) => setTimeout(r, 2000));
    writing = false;
    await writer;
    expect(writes).toBeGreaterThan(writesAtKill + 50);

    const source = await withPg(db.database, async (c) =>
      new Map((await c.query<{ id: string; n: string; v: string | null }>('SELECT id::text, n::text, v FROM public.ticks')).rows.map((r) => [r.id, r])),
    );
    let diff: string;
    const deadline = Date.now() + 60_000;
    for (;;) {
      diff = '';
      for (let i = 1; i <= writes; i++) if (!inserted.has(String(1000 + i))) diff ||= `insert of id ${1000 + i} never arrived`;
      if (state.size !== source.size) diff ||= `${state.size} keys in Kafka, ${source.size} in PostgreSQL`;
      for (const [id, row] of source) {
        const got = state.get(id);
        if (got?.n !== row.n || got?.v !== row.v) diff ||= `id ${id}: Kafka n=${got?.n} v=${got?.v}, PostgreSQL n=${row.n} v=${row.v}`;
      }
      if (!diff || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const failedLine = second.lines.find((l) => l.state === 'failed');
    expect(failedLine, `restarted runtime: ${JSON.stringify(failedLine)}`).toBeUndefined();
    const missing: number[] = [];
    for (let i = 1; i <= writes; i++) if (!inserted.has(String(1000 + i))) missing.push(1000 + i);
    expect(diff, `${missing.length} inserts missing (${missing[0]}..${missing.at(-1)}); ${messages} messages; checkpoint at the kill ${checkpointBefore.position}`).toBe('');
    // Every one of the `writes` inserts is there, plus the 100 seed rows from the full sync.
    expect(inserted.size).toBe(100 + writes);
    console.log(
      `[crash] ${writes} write transactions (${writesAtKill} before SIGKILL); ${seenAtKill} inserts seen at the kill, checkpoint was ${checkpointBefore.position ?? 'none'}; ` +
        `${messages} messages in Kafka for ${100 + writes * 2 + Math.floor(writes / 5)} changes (duplicates from the replay: ${messages - (100 + writes * 2 + Math.floor(writes / 5))})`,
    );

    // The precheck the restarted runtime passed is in force on this topic: the same task under
    // another name (no checkpoint, so not resuming) is refused because the topic holds messages,
    // and by that item alone. The restart passed it only because it resumed its own output.
    const control = createRuntime({ confirmIntervalMs: 200 });
    try {
      const other = control.add({ ...config, name: `${name}-other` } as Parameters<Runtime['add']>[0]);
      other.start();
      const s = await other.waitFor((st) => st.state === 'precheckFailed' || st.state === 'full' || st.state === 'incremental' || st.state === 'failed', 60_000);
      expect(s.state).toBe('precheckFailed');
      expect(s.precheck?.filter((i) => i.status === 'fail').map((i) => [i.id, i.detail])).toEqual([
        ['destination.conflicting_topics', expect.stringMatching(new RegExp(`^already hold messages: ${topic} \\([1-9]\\d* messages\\)$`))],
      ]);
    } finally {
      await control.shutdown();
    }
    await second.kill('SIGTERM');
  }, 240_000);
});

describe('PostgreSQL → Kafka: latency on an idle database', () => {
  let db: { database: string; drop: () => Promise<void> };
  let dir: string;
  let runtime: Runtime;
  const topic = uniqueName('idle');

  beforeAll(async () => {
    db = await createTestDatabase('idle');
    dir = await mkdtemp(join(tmpdir(), 'trib-idle-'));
    await createTopic(topic, 1);
    await withPg(db.database, (c) => c.query(`CREATE TABLE public.quiet (id int PRIMARY KEY, v text); INSERT INTO public.quiet VALUES (1, 'a')`));
    runtime = createRuntime({ confirmIntervalMs: 200 });
  });

  afterAll(async () => {
    await runtime?.shutdown();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('stays under 3 s because the heartbeat row is updated every second, and the slot keeps moving', async () => {
    const name = uniqueName('idle').replace(/_/g, '-');
    const task = runtime.add({
      name,
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'quiet' }],
      checkpoints: { store: 'file', dir },
    });
    task.start();
    await task.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
    expect(task.status.state).toBe('incremental');
    const slot = `tributary_${name.replace(/-/g, '_')}`;
    const flushed = () =>
      withPg(db.database, async (c) => (await c.query<{ lsn: string }>(`SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`, [slot])).rows[0]?.lsn ?? '0');
    await new Promise((r) => setTimeout(r, 1500));
    const flushBefore = BigInt(await flushed());
    const heartbeatsBefore = task.status.counters.heartbeats;

    // ~5 s without a single write to the selected table.
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 500));
      samples.push(task.status.latencyMs ?? Number.POSITIVE_INFINITY);
    }
    const latency = task.status.latencyMs;
    expect(latency).not.toBeNull();
    expect(latency).toBeLessThan(3000);
    expect(Math.max(...samples)).toBeLessThan(3000);
    // Heartbeats are what moved it: events were acknowledged while nothing else was written...
    expect(task.status.counters.heartbeats).toBeGreaterThanOrEqual(heartbeatsBefore + 3);
    const beat = await withPg(db.database, async (c) => (await c.query<{ age: number }>(`SELECT extract(epoch FROM now() - beat_time)::float AS age FROM public.dts_postgres_heartbeat WHERE slot_name = $1`, [slot])).rows[0]);
    expect(beat?.age).toBeLessThan(2);
    // ...and the slot's confirmed flush LSN advanced, so an idle slot does not pin WAL.
    expect(BigInt(await flushed())).toBeGreaterThan(flushBefore);
    console.log(`[idle] latency samples over 5 s idle: ${samples.join(', ')} ms`);
  }, 90_000);
});
