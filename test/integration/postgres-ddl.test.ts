import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, kafkaClient, uniqueName, withPg } from './support.js';

interface CanalMessage {
  database: string;
  table: string;
  type: string;
  isDdl: boolean;
  sql: string;
  data: Array<Record<string, string | null>> | null;
}

/** Every message of a topic, in order (single partition), parsed. */
class Follower {
  readonly messages: CanalMessage[] = [];
  private consumer: Consumer | null = null;
  async follow(topic: string): Promise<void> {
    this.consumer = kafkaClient().consumer({ groupId: uniqueName('g') });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        this.messages.push(JSON.parse(message.value?.toString() ?? 'null') as CanalMessage);
      },
    });
  }
  async until(pred: (m: CanalMessage[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred(this.messages)) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; have ${JSON.stringify(this.messages.map((m) => m.sql || m.type))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  async close(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

const pgSource = (database: string) => ({ type: 'postgres' as const, host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database });

describe('PostgreSQL / PolarDB DDL capture through dts_ddl_command', () => {
  let runtime: Runtime;
  let dir: string;
  const dbs: Array<{ drop: () => Promise<void> }> = [];
  const topics: string[] = [];
  const followers: Follower[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-ddl-'));
    runtime = createRuntime({ confirmIntervalMs: 200 });
  });
  afterAll(async () => {
    await runtime?.shutdown();
    for (const f of followers) await f.close();
    for (const d of dbs) await d.drop().catch(() => undefined);
    if (topics.length) await deleteTopics(...topics).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('emits supported DDL in stream order to the DDL topic, skips the excluded forms, applies new definitions, and cleans up on release', async () => {
    const db = await createTestDatabase('ddl');
    dbs.push(db);
    const topic = uniqueName('ddldata');
    const ddlTopic = uniqueName('ddlddl');
    topics.push(topic, ddlTopic);
    await createTopic(topic, 1);
    await createTopic(ddlTopic, 1);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.orders (id int PRIMARY KEY, customer text)');
      await c.query(`INSERT INTO public.orders VALUES (1, 'a')`);
    });
    const name = uniqueName('ddl').replace(/_/g, '-');
    const task = runtime.add({
      name,
      source: { ...pgSource(db.database), flavour: 'polardb' },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, ddlTopic, format: 'canal-json' } },
      objects: [{ schema: 'public' }],
      checkpoints: { store: 'file', dir },
    });
    const data = new Follower();
    const ddl = new Follower();
    followers.push(data, ddl);
    await data.follow(topic);
    await ddl.follow(ddlTopic);
    task.start();
    await task.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
    expect(task.status.lastError).toBeNull();
    expect(task.status.state).toBe('incremental');
    expect(task.status.precheck?.find((i) => i.id === 'source.ddl_capture')?.status).toBe('pass');

    const synced = [
      'CREATE TABLE public.t2 (id int PRIMARY KEY, v text)',
      'ALTER TABLE public.orders ADD COLUMN note text',
      'ALTER TABLE public.t2 RENAME TO t3',
      'CREATE INDEX idx_orders_note ON public.orders (note)',
      'CREATE VIEW public.v1 AS SELECT id, note FROM public.orders',
      `CREATE FUNCTION public.f1() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
      `CREATE PROCEDURE public.p1() LANGUAGE sql AS 'SELECT 1'`,
      'DROP VIEW public.v1',
      'DROP FUNCTION public.f1()',
      'DROP PROCEDURE public.p1()',
      'DROP INDEX public.idx_orders_note',
      'DROP TABLE public.t3',
    ];
    const excluded = [
      'CREATE TABLE IF NOT EXISTS public.x1 (id int)', // IF NOT EXISTS
      'DROP TABLE public.x1 CASCADE', // CASCADE
      'CREATE TABLE x2 (id int)', // no schema
      `DO $$ BEGIN EXECUTE 'CREATE TABLE public.x4 (id int)'; END $$`, // from a function
    ];
    await withPg(db.database, async (c) => {
      await c.query(synced[0]!);
      await c.query(synced[1]!);
      // The new definition applies from here on: the insert carries the new column.
      await c.query(`INSERT INTO public.orders VALUES (2, 'b', 'hello')`);
      for (const sql of synced.slice(2)) await c.query(sql);
      for (const sql of excluded) await c.query(sql);
      // A transaction mixing DML and DDL: the row is synchronized, the DDL is not.
      await c.query('BEGIN');
      await c.query(`INSERT INTO public.orders VALUES (3, 'c', 'mixed')`);
      await c.query('ALTER TABLE public.orders ADD COLUMN c2 int');
      await c.query('COMMIT');
      // A session with session_replication_role = replica: no capture.
      await c.query('SET session_replication_role = replica');
      await c.query('CREATE TABLE public.x3 (id int)');
      await c.query('RESET session_replication_role');
      await c.query('TRUNCATE TABLE public.orders');
      await c.query('CREATE TABLE public.sentinel (id int PRIMARY KEY)');
    });

    await ddl.until((m) => m.some((x) => x.sql.includes('sentinel')), 30_000, 'the sentinel DDL');
    const sqls = ddl.messages.map((m) => m.sql);
    expect(sqls).toEqual([...synced, 'TRUNCATE TABLE public.orders', 'CREATE TABLE public.sentinel (id int PRIMARY KEY)']);
    expect(ddl.messages.every((m) => m.isDdl && m.type === 'DDL' || m.type === 'TRUNCATE')).toBe(true);
    const byTable = ddl.messages.map((m) => `${m.table}`);
    expect(byTable.slice(0, 4)).toEqual(['t2', 'orders', 't3', 'orders']); // an index is reported under its table
    console.log('[ddl] DDL topic:', JSON.stringify(ddl.messages.slice(0, 2)));

    // Data topic: no DDL, and rows inserted after the ALTERs carry the new columns.
    await data.until((m) => m.some((x) => x.data?.[0]?.id === '3'), 30_000, 'the insert of id 3');
    expect(data.messages.some((m) => m.isDdl)).toBe(false);
    expect(data.messages.find((m) => m.data?.[0]?.id === '2')?.data?.[0]).toEqual({ id: '2', customer: 'b', note: 'hello' });
    expect(data.messages.find((m) => m.data?.[0]?.id === '3')?.data?.[0]).toEqual({ id: '3', customer: 'c', note: 'mixed' });
    const captured = await withPg(db.database, async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM public.dts_ddl_command')).rows[0]?.n);
    // The trigger recorded the mixed transaction's ALTER too; the stream reader dropped it (seed 003).
    expect(captured).toBe(synced.length + 2);

    // Release removes the trigger, function and helper table with the slot.
    await task.stop();
    task.release();
    await task.waitFor((s) => s.state === 'released' || s.state === 'releaseFailed', 30_000);
    expect(task.status.state).toBe('released');
    const left = await withPg(db.database, async (c) => ({
      triggers: (await c.query(`SELECT evtname FROM pg_event_trigger WHERE evtname LIKE 'dts_%'`)).rowCount,
      table: (await c.query(`SELECT to_regclass('public.dts_ddl_command') AS t`)).rows[0]?.t as string | null,
      slots: (await c.query('SELECT 1 FROM pg_replication_slots WHERE database = $1', [db.database])).rowCount,
    }));
    expect(left).toEqual({ triggers: 0, table: null, slots: 0 });
  }, 120_000);

  it('fails the task with a clear message when a selected table is altered during full synchronization', async () => {
    const db = await createTestDatabase('ddlfull');
    dbs.push(db);
    const topic = uniqueName('ddlfull');
    topics.push(topic);
    await createTopic(topic, 1);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.big (id int PRIMARY KEY, v text)');
      await c.query(`INSERT INTO public.big SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g`);
      await c.query('ANALYZE public.big');
    });
    const task = runtime.add({
      name: uniqueName('ddlfull').replace(/_/g, '-'),
      source: pgSource(db.database),
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'big' }],
      checkpoints: { store: 'file', dir },
      fullSync: { chunkRows: 1000, parallelism: 1 },
      throttle: { full: { rps: 2000 } },
    });
    task.start();
    await task.waitFor((s) => (s.state === 'full' && s.counters.snapshotRows > 0) || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
    expect(task.status.state).toBe('full');
    await withPg(db.database, (c) => c.query('ALTER TABLE public.big ADD COLUMN extra int'));
    const s = await task.waitFor((st) => st.state === 'failed' || st.state === 'incremental', 60_000);
    expect(s.state).toBe('failed');
    expect(s.lastError?.code).toBe('DDL_DURING_FULL_SYNC');
    expect(s.lastError?.message).toBe('Table public.big changed from (id integer, v text) to (id integer, v text, extra integer) while full synchronization was copying it; the copied rows may not match its definition.');
    expect(s.lastError?.fix).toContain('Do not run DDL on selected tables during schema or full synchronization');
    console.log('[ddl during full]', JSON.stringify(s.lastError));
  }, 120_000);

  it('AnalyticDB for PostgreSQL does not synchronize DDL: no trigger, no helper table', async () => {
    const db = await createTestDatabase('adb');
    dbs.push(db);
    const topic = uniqueName('adb');
    topics.push(topic);
    await createTopic(topic, 1);
    await withPg(db.database, (c) => c.query('CREATE TABLE public.facts (id int PRIMARY KEY, v text)'));
    const task = runtime.add({
      name: uniqueName('adb').replace(/_/g, '-'),
      source: { ...pgSource(db.database), flavour: 'analyticdb' },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public' }],
      checkpoints: { store: 'file', dir },
    });
    const data = new Follower();
    followers.push(data);
    await data.follow(topic);
    task.start();
    await task.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
    expect(task.status.state).toBe('incremental');
    await withPg(db.database, async (c) => {
      await c.query('ALTER TABLE public.facts ADD COLUMN w int');
      await c.query(`INSERT INTO public.facts VALUES (1, 'a', 7)`);
    });
    await data.until((m) => m.length >= 1, 30_000, 'the insert');
    expect(data.messages.map((m) => m.type)).toEqual(['INSERT']);
    expect(data.messages[0]?.data?.[0]).toEqual({ id: '1', v: 'a', w: '7' });
    const objs = await withPg(db.database, async (c) => ({
      triggers: (await c.query(`SELECT 1 FROM pg_event_trigger WHERE evtname LIKE 'dts_%'`)).rowCount,
      table: (await c.query(`SELECT to_regclass('public.dts_ddl_command') AS t`)).rows[0]?.t as string | null,
    }));
    expect(objs).toEqual({ triggers: 0, table: null });
  }, 90_000);
});
