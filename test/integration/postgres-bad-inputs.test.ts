import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import type { PrecheckItem } from '../../src/core/contracts.js';
import { servers } from './servers.js';
import { startTinyCluster, type TinyCluster } from './fixtures/pgcluster.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from './support.js';

type SourceConn = { host: string; port: number; user: string; password?: string; database: string };

function taskConfig(name: string, source: SourceConn, topic: string, dir: string, tables: string[]) {
  return {
    name,
    source: { type: 'postgres' as const, ...source },
    destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' as const } },
    objects: tables.map((table) => ({ schema: 'public', table })),
    checkpoints: { store: 'file' as const, dir },
  };
}

function item(items: PrecheckItem[] | null, id: string): PrecheckItem {
  const found = items?.find((i) => i.id === id);
  if (!found) throw new Error(`precheck item ${id} missing; got ${JSON.stringify(items?.map((i) => i.id))}`);
  return found;
}

describe('PostgreSQL bad inputs: clear errors naming the object and the fix', () => {
  let runtime: Runtime;
  let dir: string;
  const topic = uniqueName('bad');
  const dbs: Array<{ drop: () => Promise<void> }> = [];
  const roles: string[] = [];
  /** Topics of single tests, deleted with the shared one. */
  const ownTopics: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-bad-'));
    await createTopic(topic, 1);
    runtime = createRuntime({ confirmIntervalMs: 200 });
  });

  afterAll(async () => {
    await runtime?.shutdown();
    for (const d of dbs) await d.drop().catch(() => undefined);
    for (const r of roles) await withPg('postgres', (c) => c.query(`DROP ROLE IF EXISTS ${r}`)).catch(() => undefined);
    await deleteTopics(topic, ...ownTopics).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const pgSource = (database: string): SourceConn => ({ host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database });

  it('a table without a primary key or UNIQUE constraint fails the precheck, naming the table', async () => {
    const db = await createTestDatabase('nokey');
    dbs.push(db);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.keyed (id int PRIMARY KEY, v text)');
      await c.query('CREATE TABLE public.nokey (a int, b text)');
      await c.query(`INSERT INTO public.nokey VALUES (1, 'x')`);
    });
    const task = runtime.add(taskConfig(uniqueName('nokey').replace(/_/g, '-'), pgSource(db.database), topic, dir, ['keyed', 'nokey']));
    task.start();
    const s = await task.waitFor((st) => st.state === 'precheckFailed' || st.state === 'full' || st.state === 'incremental' || st.state === 'failed', 30_000);
    expect(s.state).toBe('precheckFailed');
    const pk = item(s.precheck, 'source.primary_keys');
    expect(pk.status).toBe('fail');
    expect(pk.detail).toBe('no primary key or usable UNIQUE constraint: public.nokey');
    expect(pk.fix).toContain('ADD PRIMARY KEY');
    expect(item(s.precheck, 'source.wal_level').status).toBe('pass');
    // Nothing was created in the source: precheck failures stop before initialization.
    const slots = await withPg(db.database, async (c) => (await c.query('SELECT slot_name FROM pg_replication_slots WHERE database = $1', [db.database])).rowCount);
    expect(slots).toBe(0);
    console.log('[no key]', JSON.stringify(pk));
  });

  describe('wal_level = replica (a second private cluster)', () => {
    let cluster: TinyCluster;
    beforeAll(async () => {
      cluster = await startTinyCluster({ wal_level: 'replica', max_wal_senders: 4 });
    }, 120_000);
    afterAll(async () => {
      await cluster?.stop();
    });

    it('fails the precheck with the ALTER SYSTEM fix', async () => {
      const client = new pg.Client({ host: cluster.host, port: cluster.port, user: 'postgres', database: 'postgres' });
      await client.connect();
      try {
        expect((await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level).toBe('replica');
        await client.query('CREATE TABLE public.t (id int PRIMARY KEY, v text)');
      } finally {
        await client.end();
      }
      const task = runtime.add(taskConfig(uniqueName('wal').replace(/_/g, '-'), { host: cluster.host, port: cluster.port, user: 'postgres', database: 'postgres' }, topic, dir, ['t']));
      task.start();
      const s = await task.waitFor((st) => st.state === 'precheckFailed' || st.state === 'full' || st.state === 'incremental' || st.state === 'failed', 30_000);
      expect(s.state).toBe('precheckFailed');
      const wal = item(s.precheck, 'source.wal_level');
      expect(wal.status).toBe('fail');
      expect(wal.detail).toBe(`wal_level is 'replica' on database postgres's server`);
      expect(wal.fix).toBe("Run ALTER SYSTEM SET wal_level = 'logical'; then restart PostgreSQL.");
      // Only that item fails.
      expect(s.precheck?.filter((i) => i.status === 'fail').map((i) => i.id)).toEqual(['source.wal_level']);
      console.log('[wal_level]', JSON.stringify(wal));
    });
  });

  it('an account without REPLICATION, and one without SELECT, fail the precheck with the GRANT to run', async () => {
    const db = await createTestDatabase('priv');
    dbs.push(db);
    const noRepl = uniqueName('norepl');
    const noSelect = uniqueName('nosel');
    roles.push(noRepl, noSelect);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.accounts (id int PRIMARY KEY, v text)');
      await c.query(`CREATE ROLE ${noRepl} LOGIN PASSWORD 'pw-norepl'`);
      await c.query(`CREATE ROLE ${noSelect} LOGIN REPLICATION PASSWORD 'pw-nosel'`);
      await c.query(`GRANT SELECT ON public.accounts TO ${noRepl}`);
      await c.query(`GRANT CREATE ON SCHEMA public TO ${noRepl}, ${noSelect}`);
    });

    const t1 = runtime.add(taskConfig(uniqueName('norepl').replace(/_/g, '-'), { ...pgSource(db.database), user: noRepl, password: 'pw-norepl' }, topic, dir, ['accounts']));
    t1.start();
    const s1 = await t1.waitFor((st) => st.state === 'precheckFailed' || st.state === 'full' || st.state === 'incremental' || st.state === 'failed', 30_000);
    expect(s1.state).toBe('precheckFailed');
    expect(item(s1.precheck, 'source.connect').status).toBe('pass');
    const repl = item(s1.precheck, 'source.replication_privilege');
    expect(repl.status).toBe('fail');
    expect(repl.detail).toBe(`role ${noRepl} has neither REPLICATION nor SUPERUSER`);
    expect(repl.fix).toBe(`Run ALTER ROLE ${noRepl} REPLICATION; as a superuser.`);
    expect(item(s1.precheck, 'source.select_privilege').status).toBe('pass');
    // DDL capture (on by default) needs CREATE EVENT TRIGGER, which only a superuser has.
    const ddl = item(s1.precheck, 'source.ddl_capture');
    expect(ddl.status).toBe('fail');
    expect(ddl.detail).toBe(`role ${noRepl} is not a superuser, and only a superuser may CREATE EVENT TRIGGER (needed to capture DDL into dts_ddl_command)`);
    expect(ddl.fix).toBe('Run the task with a superuser account, or set source.captureDdl: false to synchronize DML only.');

    const t2 = runtime.add(taskConfig(uniqueName('nosel').replace(/_/g, '-'), { ...pgSource(db.database), user: noSelect, password: 'pw-nosel' }, topic, dir, ['accounts']));
    t2.start();
    const s2 = await t2.waitFor((st) => st.state === 'precheckFailed' || st.state === 'full' || st.state === 'incremental' || st.state === 'failed', 30_000);
    expect(s2.state).toBe('precheckFailed');
    expect(item(s2.precheck, 'source.replication_privilege').status).toBe('pass');
    const sel = item(s2.precheck, 'source.select_privilege');
    expect(sel.status).toBe('fail');
    expect(sel.detail).toBe('no SELECT on public.accounts');
    expect(sel.fix).toBe(`Run GRANT SELECT ON public.accounts TO ${noSelect};`);
    console.log('[privileges]', JSON.stringify(repl), JSON.stringify(sel));

    // A wrong password is a connectivity failure naming the database and the fix.
    const t3 = runtime.add(taskConfig(uniqueName('badpw').replace(/_/g, '-'), { ...pgSource(db.database), user: noSelect, password: 'wrong' }, topic, dir, ['accounts']));
    t3.start();
    const s3 = await t3.waitFor((st) => st.state === 'precheckFailed' || st.state === 'full' || st.state === 'incremental' || st.state === 'failed', 30_000);
    expect(s3.state).toBe('precheckFailed');
    const conn = item(s3.precheck, 'source.connect');
    expect(conn.status).toBe('fail');
    expect(conn.detail).toContain(`Cannot connect to PostgreSQL database ${db.database}`);
    expect(conn.detail).toContain(`password authentication failed for user "${noSelect}"`);
  });

  it('a slot dropped while the task streams fails the task with LOST_HISTORY; it never restarts from now', async () => {
    const db = await createTestDatabase('lost');
    dbs.push(db);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.items (id int PRIMARY KEY, v text)');
      await c.query(`INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(1, 10) g`);
    });
    const name = uniqueName('lost').replace(/_/g, '-');
    const task = runtime.add(taskConfig(name, pgSource(db.database), topic, dir, ['items']));
    task.start();
    await task.waitFor((st) => st.state === 'incremental' || st.state === 'failed' || st.state === 'precheckFailed', 60_000);
    expect(task.status.state).toBe('incremental');
    await withPg(db.database, (c) => c.query(`INSERT INTO public.items VALUES (11, 'streamed')`));
    await task.waitFor((st) => st.counters.events >= 11, 30_000);

    const slot = `tributary_${name.replace(/-/g, '_')}`;
    await withPg(db.database, async (c) => {
      // The walsender is terminated, then the slot dropped before the task reconnects.
      for (let i = 0; i < 100; i++) {
        await c.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [slot]);
        const r = await c.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]);
        if (r.rowCount === 1) return;
        await new Promise((res) => setTimeout(res, 20));
      }
      throw new Error(`could not drop ${slot}`);
    });
    await withPg(db.database, (c) => c.query(`INSERT INTO public.items VALUES (12, 'after the drop')`));

    const s = await task.waitFor((st) => st.state === 'failed', 60_000);
    expect(s.lastError?.code).toBe('LOST_HISTORY');
    expect(s.lastError?.kind).toBe('fatal');
    expect(s.lastError?.message).toContain(`replication slot ${slot} of database ${db.database} no longer exists`);
    expect(s.lastError?.fix).toMatch(/full synchronization/);
    console.log('[lost slot]', JSON.stringify(s.lastError));

    // It stays failed and does not quietly create a new slot to continue from "now".
    await new Promise((res) => setTimeout(res, 4000));
    expect(task.status.state).toBe('failed');
    const slots = await withPg(db.database, async (c) => (await c.query('SELECT slot_name FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount);
    expect(slots).toBe(0);
  });
  it('a slot dropped while the runtime is down: the restarted task fails with LOST_HISTORY instead of reading from a new slot', async () => {
    const db = await createTestDatabase('gone');
    dbs.push(db);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.items (id int PRIMARY KEY, v text)');
      await c.query(`INSERT INTO public.items VALUES (1, 'a')`);
    });
    const name = uniqueName('gone').replace(/_/g, '-');
    // Its own topic, empty at the first start: the file's shared one holds the other tests' output,
    // which the first start's precheck would rightly refuse.
    const own = uniqueName('bad_gone');
    await createTopic(own, 1);
    ownTopics.push(own);
    // No conflictMode: the restart goes through the real precheck (precheckAndReport) against a
    // topic that holds the task's own earlier output.
    const config = taskConfig(name, pgSource(db.database), own, dir, ['items']);
    const first = createRuntime({ confirmIntervalMs: 200 });
    const t1 = first.add(config);
    t1.start();
    await t1.waitFor((st) => st.state === 'incremental' || st.state === 'failed' || st.state === 'precheckFailed', 60_000);
    expect(t1.status.state).toBe('incremental');
    await withPg(db.database, (c) => c.query(`INSERT INTO public.items VALUES (2, 'streamed')`));
    await t1.waitFor((st) => st.counters.events >= 2 && st.position !== null, 30_000);
    await first.shutdown();

    const slot = `tributary_${name.replace(/-/g, '_')}`;
    await withPg(db.database, async (c) => {
      await c.query('SELECT pg_drop_replication_slot($1)', [slot]);
      await c.query(`INSERT INTO public.items VALUES (3, 'written while nothing read it')`);
    });

    const second = createRuntime({ confirmIntervalMs: 200 });
    try {
      const t2 = second.add(config);
      t2.start();
      const s = await t2.waitFor((st) => st.state === 'failed' || st.state === 'precheckFailed', 60_000);
      expect(s.state).toBe('failed');
      expect(s.lastError?.code).toBe('LOST_HISTORY');
      expect(s.lastError?.message).toMatch(new RegExp(`^The replication slot ${slot} of database ${db.database} starts at [0-9A-F]+/[0-9A-F]+, after the task's checkpoint [0-9A-F]+/[0-9A-F]+: the changes in between are no longer available`));
      expect(s.lastError?.fix).toBe(`Release the task (drops ${slot} and the checkpoint) and start it again with full synchronization.`);
      expect(t2.status.counters.events).toBe(0);
      // It got there through the precheck: the topic's messages (the first run's) were recognised as
      // the task's own, and nothing else failed.
      const conflict = item(s.precheck, 'destination.conflicting_topics');
      expect(conflict.status).toBe('pass');
      expect(conflict.detail).toMatch(new RegExp(`^resuming from the task's checkpoint; already hold messages: ${own} \\([1-9]\\d* messages\\)$`));
      expect(s.precheck?.filter((i) => i.status === 'fail')).toEqual([]);
      console.log('[slot gone while down]', JSON.stringify(s.lastError));
    } finally {
      await second.shutdown();
    }
  });
});
