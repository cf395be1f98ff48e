import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, kafkaClient, uniqueName, withPg } from './support.js';
import { TaskProcess } from './taskProcess.js';

interface CanalMessage {
  type: string;
  table: string;
  data: Array<Record<string, string | null>> | null;
  old: Array<Record<string, string | null>> | null;
  es: number;
}

const SEED = 300;
const MARKER = 999_999;

/**
 * Canal JSON message ids across a SIGKILL and a restart (issue 13: ids used to start again at 1 in
 * every process). The runtime confirms every 3 s, and is killed a second after a checkpoint while
 * writes keep arriving, so the restarted runtime delivers again what was written after that
 * checkpoint. Every change is told apart by its content (each write leaves a distinct value), so
 * the topic shows which messages are the same change and which are not.
 */
describe('PostgreSQL → Kafka: message ids survive a SIGKILL and a restart', () => {
  let db: { database: string; drop: () => Promise<void> };
  let dir: string;
  let consumer: Consumer;
  const children: TaskProcess[] = [];
  const topic = uniqueName('msgids');
  /** Every message as it arrived: the id exactly as written, and the change it carries. */
  const messages: Array<{ id: string; change: string; snapshot: boolean; marker: boolean }> = [];

  beforeAll(async () => {
    db = await createTestDatabase('msgids');
    dir = await mkdtemp(join(tmpdir(), 'trib-msgids-'));
    // One partition: when the marker written last has arrived, everything before it has too.
    await createTopic(topic, 1);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.items (id bigint PRIMARY KEY, v text NOT NULL)');
      await c.query(`INSERT INTO public.items SELECT g, 'seed ' || g FROM generate_series(1, ${SEED}) g`);
    });
    consumer = kafkaClient().consumer({ groupId: uniqueName('g') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const text = message.value?.toString() ?? '';
        // JSON.parse would round ids above 2^53: the id is taken from the text.
        const id = /^\{"id":(\d+),/.exec(text)?.[1];
        if (id === undefined) throw new Error(`a message without an integer id: ${text.slice(0, 80)}`);
        const m = JSON.parse(text) as CanalMessage;
        const row = m.data?.[0];
        messages.push({
          id,
          change: JSON.stringify([m.type, m.table, m.data, m.old, m.es]),
          snapshot: m.type === 'INSERT' && (row?.v ?? '').startsWith('seed '),
          marker: row?.id === String(MARKER),
        });
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

  it('gives a change delivered again its first id, and never one id to two changes', async () => {
    const name = uniqueName('msgids').replace(/_/g, '-');
    const config = {
      name,
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'items' }],
      checkpoints: { store: 'file', dir },
    };
    const env = { TRIBUTARY_CONFIRM_MS: '3000' };

    // Writes: an insert and an update per transaction; now and then a delete, a key change, and a
    // transaction of 2,000 inserts. Every row image carries a value no other write leaves.
    const live: number[] = [];
    let n = 0;
    let writing = true;
    const write = async (c: pg.Client) => {
      n += 1;
      const i = n;
      await c.query('BEGIN');
      if (i % 80 === 0) {
        await c.query(`INSERT INTO public.items SELECT 100000 * $1::bigint + g, 'bulk ' || $1 || '.' || g FROM generate_series(1, 2000) g`, [i]);
      } else {
        await c.query(`INSERT INTO public.items VALUES ($1, $2)`, [10_000 + i, `i${i}`]);
        live.push(10_000 + i);
        await c.query(`UPDATE public.items SET v = $2 WHERE id = $1`, [(i % SEED) + 1, `u${i}`]);
        if (i % 10 === 0 && live.length > 5) await c.query('DELETE FROM public.items WHERE id = $1', [live.shift()]);
        if (i % 15 === 0 && live.length > 5) {
          const old = live.shift() as number;
          await c.query('UPDATE public.items SET id = $2, v = $3 WHERE id = $1', [old, old + 50_000_000, `k${i}`]);
        }
      }
      await c.query('COMMIT');
    };
    const writer = (until: () => boolean) =>
      withPg(db.database, async (c) => {
        while (!until()) {
          await write(c);
          await new Promise((r) => setTimeout(r, 5));
        }
      });

    const first = new TaskProcess(config, env);
    children.push(first);
    await first.waitForState('incremental', 90_000);
    const writes1 = writer(() => !writing);

    // Kill the runtime one second after a checkpoint that came after some writes: what it wrote in
    // that second is written again by the next runtime.
    const checkpoint = join(dir, `${name}.json`);
    const savedAt = async () => (await stat(checkpoint).catch(() => null))?.mtimeMs ?? 0;
    await new Promise((r) => setTimeout(r, 4000));
    const before = await savedAt();
    const deadline = Date.now() + 20_000;
    while ((await savedAt()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await savedAt(), 'the runtime saved no checkpoint while it streamed').toBeGreaterThan(before);
    await new Promise((r) => setTimeout(r, 1000));
    await first.kill('SIGKILL');
    const deliveredBeforeKill = messages.length;

    // Writes go on while no runtime runs, then a second runtime starts from the checkpoint.
    await new Promise((r) => setTimeout(r, 1000));
    const second = new TaskProcess(config, env);
    children.push(second);
    await second.waitForState('incremental', 90_000);
    await new Promise((r) => setTimeout(r, 2000));
    writing = false;
    await writes1;
    await withPg(db.database, (c) => c.query(`INSERT INTO public.items VALUES ($1, 'marker')`, [MARKER]));
    const end = Date.now() + 60_000;
    while (!messages.some((m) => m.marker) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(messages.some((m) => m.marker), `the marker never arrived; ${messages.length} messages`).toBe(true);
    await second.kill('SIGTERM');

    const changesById = new Map<string, Set<string>>();
    const idsByChange = new Map<string, Set<string>>();
    const deliveries = new Map<string, number>();
    for (const m of messages) {
      changesById.set(m.id, (changesById.get(m.id) ?? new Set()).add(m.change));
      idsByChange.set(m.change, (idsByChange.get(m.change) ?? new Set()).add(m.id));
      deliveries.set(m.change, (deliveries.get(m.change) ?? 0) + 1);
    }
    const shared = [...changesById].filter(([, changes]) => changes.size > 1);
    const redelivered = [...deliveries].filter(([, count]) => count > 1).map(([change]) => change);
    const renamed = redelivered.filter((change) => (idsByChange.get(change)?.size ?? 0) > 1);
    console.log(
      `[message ids] ${n} write transactions, ${messages.length} messages (${deliveredBeforeKill} before the SIGKILL), ${idsByChange.size} distinct changes, ` +
        `${redelivered.length} delivered again; ids from ${[...changesById.keys()].sort((a, b) => a.length - b.length || (a < b ? -1 : 1))[0]}`,
    );

    expect(messages.filter((m) => m.snapshot).length, 'full-sync rows').toBeGreaterThanOrEqual(SEED);
    expect(redelivered.length, 'the restart delivered nothing again, so this run proves nothing about replays').toBeGreaterThan(0);
    expect(shared.slice(0, 3).map(([id, changes]) => `${id}: ${[...changes].join(' | ')}`), 'ids carried by two different changes').toEqual([]);
    expect(renamed.slice(0, 3).map((c) => `${c}: ${[...(idsByChange.get(c) ?? [])].join(', ')}`), 'changes delivered again under another id').toEqual([]);
  }, 240_000);
});
