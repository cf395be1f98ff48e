import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, kafkaClient, uniqueName, withPg } from './support.js';

interface CanalMessage {
  database: string;
  table: string;
  type: string;
  pkNames: string[] | null;
  data: Array<Record<string, string | null>> | null;
  old: Array<Record<string, string | null>> | null;
}

/** Follows a topic from the beginning and keeps the last image per table and key. */
class TopicState {
  readonly rows = new Map<string, Map<string, Record<string, string | null>>>();
  messages = 0;
  private consumer: Consumer | null = null;

  async follow(topic: string): Promise<void> {
    this.consumer = kafkaClient().consumer({ groupId: uniqueName('g') });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({
      partitionsConsumedConcurrently: 1,
      eachMessage: async ({ message }) => {
        this.messages += 1;
        const m = JSON.parse(message.value?.toString() ?? 'null') as CanalMessage;
        const table = `${m.database}.${m.table}`;
        let rows = this.rows.get(table);
        if (!rows) this.rows.set(table, (rows = new Map()));
        for (const row of m.data ?? []) {
          const key = (m.pkNames ?? []).map((k) => row[k]).join('|');
          if (m.type === 'DELETE') rows.delete(key);
          else rows.set(key, row);
        }
      },
    });
  }
  async close(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

async function sourceRows(database: string, table: string, key: string[]): Promise<Map<string, Record<string, string | null>>> {
  return withPg(database, async (c) => {
    const cols = (await c.query<{ attname: string }>(`SELECT attname FROM pg_attribute WHERE attrelid = 'public.${table}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`)).rows.map((r) => r.attname);
    const r = await c.query<Record<string, string | null>>(`SELECT ${cols.map((n) => `${n}::text AS ${n}`).join(', ')} FROM public.${table}`);
    return new Map(r.rows.map((row) => [key.map((k) => row[k]).join('|'), row]));
  });
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('PostgreSQL → Kafka (Canal JSON): full + incremental while writes continue', () => {
  let db: { database: string; drop: () => Promise<void> };
  let runtime: Runtime;
  let dir: string;
  const topic = uniqueName('pgk');
  const state = new TopicState();

  beforeAll(async () => {
    db = await createTestDatabase('pgk');
    dir = await mkdtemp(join(tmpdir(), 'trib-ckpt-'));
    await createTopic(topic, 3);
    await withPg(db.database, async (c) => {
      await c.query(`CREATE TABLE public.orders (id bigint PRIMARY KEY, customer text NOT NULL, total numeric(12,2), created timestamptz DEFAULT now(), paid boolean DEFAULT false)`);
      await c.query(`CREATE TABLE public.order_items (order_id bigint, line int, sku text, qty int, PRIMARY KEY (order_id, line))`);
      await c.query(`CREATE TABLE public.events (id bigint, region text NOT NULL, payload jsonb, PRIMARY KEY (id, region)) PARTITION BY LIST (region)`);
      await c.query(`CREATE TABLE public.events_eu PARTITION OF public.events FOR VALUES IN ('eu')`);
      await c.query(`CREATE TABLE public.events_us PARTITION OF public.events FOR VALUES IN ('us')`);
      await c.query(`INSERT INTO public.orders (id, customer, total) SELECT g, 'c' || g, g * 1.25 FROM generate_series(1, 3000) g`);
      await c.query(`INSERT INTO public.order_items SELECT g / 3 + 1, g % 3, 'sku-' || g, g % 7 FROM generate_series(0, 5999) g`);
      await c.query(`INSERT INTO public.events SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, jsonb_build_object('n', 12345678901234567890, 'g', g) FROM generate_series(1, 2000) g`);
      await c.query('ANALYZE');
    });
    runtime = createRuntime({ confirmIntervalMs: 200 });
  }, 120_000);

  afterAll(async () => {
    await runtime?.shutdown();
    await state.close();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('copies every row, streams the writes made during and after the copy, and ends equal to the source', async () => {
    const task = runtime.add({
      name: uniqueName('t').replace(/_/g, '-'),
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', partitionPolicy: 'keyHash' } },
      objects: [{ schema: 'public', table: 'orders' }, { schema: 'public', table: 'order_items' }, { schema: 'public', table: 'events' }],
      checkpoints: { store: 'file', dir },
      fullSync: { chunkRows: 700, parallelism: 3 },
    });
    await state.follow(topic);
    task.start();

    // Writes while the full sync runs, and after.
    let writing = true;
    const writer = withPg(db.database, async (c) => {
      let i = 0;
      while (writing || i < 50) {
        i += 1;
        await c.query('BEGIN');
        await c.query(`UPDATE public.orders SET total = total + 1, paid = NOT paid WHERE id = $1`, [(i * 37) % 3000 + 1]);
        await c.query(`INSERT INTO public.orders (id, customer, total) VALUES ($1, 'new', 9.99)`, [100000 + i]);
        await c.query(`DELETE FROM public.order_items WHERE order_id = $1 AND line = 0`, [(i * 13) % 2000 + 1]);
        await c.query(`UPDATE public.events SET payload = jsonb_build_object('i', $1::int) WHERE id = $2`, [i, (i % 2000) + 1]);
        await c.query('COMMIT');
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      // The WAL insert position after the last write's commit: the slot must be confirmed up to here.
      const lsn = (await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn ?? '';
      return { writes: i, lsn };
    });
    await task.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 90_000);
    expect(task.status.lastError).toBeNull();
    expect(task.status.state).toBe('incremental');
    writing = false;
    const { writes, lsn: afterWrites } = await writer;
    expect(writes).toBeGreaterThanOrEqual(50);
    expect(afterWrites).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    const tables: Array<[string, string[]]> = [
      ['orders', ['id']],
      ['order_items', ['order_id', 'line']],
      ['events', ['id', 'region']],
    ];
    let lastDiff = '';
    await until(
      async () => {
        for (const [table, key] of tables) {
          const expected = await sourceRows(db.database, table, key);
          const got = state.rows.get(`public.${table}`) ?? new Map();
          if (got.size !== expected.size) {
            lastDiff = `${table}: ${got.size} rows in Kafka, ${expected.size} in PostgreSQL`;
            return false;
          }
          for (const [k, row] of expected) {
            const g = got.get(k);
            // Every column exactly as PostgreSQL prints it (`::text`), jsonb included: no parsing on
            // this side, so a number the pipeline rounded (12345678901234567890) is a difference.
            for (const col of Object.keys(row)) {
              const want = row[col];
              const have = g?.[col];
              if (have !== want) {
                lastDiff = `${table} ${k}.${col}: Kafka ${String(have)} vs PostgreSQL ${String(want)}`;
                return false;
              }
            }
          }
        }
        return true;
      },
      60_000,
      'Kafka to match PostgreSQL',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last difference: ${lastDiff}`);
    });
    expect(state.rows.get('public.orders')?.size).toBe(3000 + writes);
    expect(task.status.counters.snapshotRows).toBeGreaterThanOrEqual(3000 + 6000 + 2000);

    // The slot is confirmed past the writes: once the acks are in, its confirmed_flush_lsn reaches
    // the WAL position after the last write's commit (compared as pg_lsn by PostgreSQL).
    const slotState = () =>
      withPg(db.database, async (c) =>
        (
          await c.query<{ slot_name: string; confirmed: string | null; past: boolean | null }>(
            `SELECT slot_name, confirmed_flush_lsn::text AS confirmed, confirmed_flush_lsn >= $2::pg_lsn AS past FROM pg_replication_slots WHERE database = $1`,
            [db.database, afterWrites],
          )
        ).rows,
      );
    let slots = await slotState();
    for (const end = Date.now() + 30_000; !(slots.length === 1 && slots[0]?.past === true) && Date.now() < end; slots = await slotState()) await new Promise((r) => setTimeout(r, 250));
    expect(slots, `the task's slot, confirmed at or past ${afterWrites} (the WAL position after the last write)`).toEqual([
      { slot_name: expect.any(String) as string, confirmed: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/) as string, past: true },
    ]);
  }, 180_000);
});
