import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import type { PrecheckItem } from '../../src/core/contracts.js';
import type { TaskStatus } from '../../src/runtime/task.js';
import { publicationMark } from '../../src/sources/postgres/publication.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, kafkaClient, pgConfig, uniqueName, withPg } from './support.js';

type Db = { database: string; drop: () => Promise<void> };

function item(items: readonly PrecheckItem[] | null, id: string): PrecheckItem {
  const found = items?.find((i) => i.id === id);
  if (!found) throw new Error(`precheck item ${id} missing; got ${JSON.stringify(items?.map((i) => i.id))}`);
  return found;
}

const settled = (st: TaskStatus) => ['precheckFailed', 'awaitingAlertIgnore', 'incremental', 'failed'].includes(st.state);

/** The slots and publications of a database, as PostgreSQL lists them. */
async function replicationObjects(database: string) {
  return withPg(database, async (c) => ({
    slots: (await c.query<{ slot_name: string; plugin: string; active: boolean }>('SELECT slot_name, plugin, active FROM pg_replication_slots WHERE database = $1 ORDER BY 1', [database])).rows,
    publications: (await c.query<{ pubname: string; note: string | null }>(`SELECT pubname, obj_description(oid, 'pg_publication') AS note FROM pg_publication ORDER BY 1`)).rows,
    tables: (await c.query<{ pubname: string; t: string }>(`SELECT pubname, schemaname || '.' || tablename AS t FROM pg_publication_tables ORDER BY 1, 2`)).rows.map((r) => `${r.pubname}:${r.t}`),
  }));
}

/** Collects the ids of the rows Canal JSON messages of a topic carry, until `want` are all there. */
async function idsInTopic(topic: string, table: string, want: string[], timeoutMs = 30_000): Promise<Set<string>> {
  const seen = new Set<string>();
  const consumer = kafkaClient().consumer({ groupId: uniqueName('g') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ids ${want.filter((w) => !seen.has(w)).join(', ')} of ${table} not in ${topic} within ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const m = JSON.parse(message.value?.toString() ?? 'null') as { table: string; data: Array<{ id: string }> | null } | null;
          if (m?.table === table) for (const row of m.data ?? []) seen.add(row.id);
          if (want.every((w) => seen.has(w))) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('PostgreSQL source: the configured slot and publication, and the ones already there', () => {
  let runtime: Runtime;
  let dir: string;
  const topics: string[] = [];
  const dbs: Db[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-slotpub-'));
    runtime = createRuntime({ confirmIntervalMs: 200 });
  });

  afterAll(async () => {
    await runtime?.shutdown();
    for (const d of dbs) await d.drop().catch(() => undefined);
    if (topics.length > 0) await deleteTopics(...topics).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(prefix: string, tables = ['items']): Promise<{ db: Db; topic: string }> {
    const db = await createTestDatabase(prefix);
    dbs.push(db);
    const topic = uniqueName(prefix);
    topics.push(topic);
    await createTopic(topic, 1);
    await withPg(db.database, async (c) => {
      for (const t of tables) {
        await c.query(`CREATE TABLE public.${t} (id int PRIMARY KEY, v text)`);
        await c.query(`INSERT INTO public.${t} SELECT g, 'v' || g FROM generate_series(1, 3) g`);
      }
    });
    return { db, topic };
  }

  function config(name: string, database: string, topic: string, extra: Record<string, unknown> = {}, tables = ['items']) {
    return {
      name,
      source: { type: 'postgres' as const, host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database, ...extra },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' as const } },
      objects: tables.map((table) => ({ schema: 'public', table })),
      checkpoints: { store: 'file' as const, dir },
      conflictMode: 'ignoreAndProceed' as const,
    };
  }

  it('creates exactly the configured slot and publication, streams through them, resumes from them and drops them on release', async () => {
    const { db, topic } = await setup('named');
    const slot = uniqueName('my_slot');
    // Capitals: the publication name is taken verbatim, also by START_REPLICATION's publication_names.
    const publication = `My_Pub_${slot.slice('my_slot_'.length)}`;
    const name = uniqueName('named').replace(/_/g, '-');
    const cfg = config(name, db.database, topic, { slotName: slot, publication });

    const first = createRuntime({ confirmIntervalMs: 200 });
    try {
      const t1 = first.add(cfg);
      t1.start();
      const s = await t1.waitFor(settled, 60_000);
      expect(s.state, JSON.stringify(s.lastError ?? s.precheck?.filter((i) => i.status !== 'pass'))).toBe('incremental');
      expect(item(s.precheck, 'source.slot')).toMatchObject({ status: 'pass', detail: `replication slot ${slot} does not exist yet: the task creates it (pgoutput, database ${db.database})` });
      expect(item(s.precheck, 'source.publication').status).toBe('pass');
      await withPg(db.database, (c) => c.query(`INSERT INTO public.items VALUES (4, 'streamed through ${slot}')`));
      await idsInTopic(topic, 'items', ['1', '2', '3', '4']);

      const objects = await replicationObjects(db.database);
      expect(objects.slots).toEqual([{ slot_name: slot, plugin: 'pgoutput', active: true }]);
      expect(objects.publications.map((p) => p.pubname)).toEqual([publication]);
      expect(objects.publications[0]?.note).toBe(publicationMark(name));
      expect(objects.tables).toEqual([`${publication}:public.dts_ddl_command`, `${publication}:public.dts_postgres_heartbeat`, `${publication}:public.items`]);

      // While the task streams, its own walsender holds the slot: that is no "other connection".
      const running = await t1.precheck();
      expect(item(running, 'source.slot')).toMatchObject({ status: 'pass', detail: `replication slot ${slot} exists in database ${db.database} (pgoutput): the task reads from it` });
      expect(item(running, 'source.publication')).toMatchObject({ status: 'pass', detail: `publication ${publication} was created by Tributary for this task; its tables are set to the selection when the task starts` });
      await t1.waitFor((st) => st.position !== null, 30_000);
    } finally {
      await first.shutdown();
    }

    // A restarted runtime resumes from its own checkpoint through its own slot and publication.
    await withPg(db.database, (c) => c.query(`INSERT INTO public.items VALUES (5, 'written while the task was down')`));
    const second = createRuntime({ confirmIntervalMs: 200 });
    try {
      const t2 = second.add(cfg);
      t2.start();
      const s = await t2.waitFor(settled, 60_000);
      expect(s.state, JSON.stringify(s.lastError ?? s.precheck?.filter((i) => i.status !== 'pass'))).toBe('incremental');
      expect(item(s.precheck, 'source.slot').status).toBe('pass');
      expect(item(s.precheck, 'source.publication').status).toBe('pass');
      await withPg(db.database, (c) => c.query(`INSERT INTO public.items VALUES (6, 'after the restart')`));
      await idsInTopic(topic, 'items', ['5', '6']);
      expect((await replicationObjects(db.database)).slots.map((x) => x.slot_name)).toEqual([slot]);

      await t2.stop();
      t2.release();
      await t2.waitFor((st) => st.state === 'released' || st.state === 'releaseFailed', 30_000);
      expect(t2.status.state).toBe('released');
      const left = await replicationObjects(db.database);
      expect(left.slots).toEqual([]);
      expect(left.publications).toEqual([]);
    } finally {
      await second.shutdown();
    }
  }, 180_000);

  it('without slotName and publication, names both tributary_<task name> with "-" written "_"', async () => {
    const { db, topic } = await setup('dflt');
    const name = uniqueName('dflt').replace(/_/g, '-');
    const task = runtime.add(config(name, db.database, topic));
    task.start();
    const s = await task.waitFor(settled, 60_000);
    expect(s.state, JSON.stringify(s.lastError ?? s.precheck?.filter((i) => i.status !== 'pass'))).toBe('incremental');
    const expected = `tributary_${name.replace(/-/g, '_')}`;
    const objects = await replicationObjects(db.database);
    expect(objects.slots.map((x) => x.slot_name)).toEqual([expected]);
    expect(objects.publications.map((p) => p.pubname)).toEqual([expected]);
    await withPg(db.database, (c) => c.query(`INSERT INTO public.items VALUES (4, 'x')`));
    await idsInTopic(topic, 'items', ['4']);
    await task.stop();
  }, 90_000);

  describe('an existing slot that is not the task\'s fails the precheck, naming it and the fix', () => {
    let db: Db;
    let other: Db;
    let topic: string;
    beforeAll(async () => {
      ({ db, topic } = await setup('slotchk'));
      other = await createTestDatabase('slotother');
      dbs.push(other);
    });

    async function failedSlot(extra: Record<string, unknown>, name = uniqueName('slotchk').replace(/_/g, '-')): Promise<PrecheckItem> {
      const task = runtime.add(config(name, db.database, topic, extra));
      task.start();
      const s = await task.waitFor(settled, 60_000);
      expect(s.state).toBe('precheckFailed');
      const it = item(s.precheck, 'source.slot');
      expect(it.status).toBe('fail');
      console.log('[slot precheck]', JSON.stringify(it));
      return it;
    }

    it('a slot decoding with test_decoding', async () => {
      const slot = uniqueName('td_slot');
      await withPg(db.database, (c) => c.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [slot]));
      const it = await failedSlot({ slotName: slot });
      expect(it.detail).toBe(`replication slot ${slot} exists but decodes with plugin test_decoding; Tributary reads pgoutput`);
      expect(it.fix).toContain('set source.slotName to a name no other slot on this server has');
      expect(it.fix).toContain(`SELECT pg_drop_replication_slot('${slot}');`);
      // The slot is left as it was, and nothing else was created.
      const objects = await replicationObjects(db.database);
      expect(objects.slots).toEqual([{ slot_name: slot, plugin: 'test_decoding', active: false }]);
      expect(objects.publications).toEqual([]);
    });

    it('a pgoutput slot of another database', async () => {
      const slot = uniqueName('elsewhere');
      await withPg(other.database, (c) => c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]));
      const it = await failedSlot({ slotName: slot });
      expect(it.detail).toBe(`replication slot ${slot} exists but belongs to database ${other.database}, not ${db.database} (slot names are unique per server)`);
      expect(it.fix).toContain(`drop it in database ${other.database}`);
    });

    it('a slot another connection is reading', async () => {
      const slot = uniqueName('busy');
      const pub = uniqueName('busy_pub');
      await withPg(db.database, async (c) => {
        await c.query(`CREATE PUBLICATION ${pub} FOR TABLE public.items`);
        await c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
      });
      const reader = new LogicalReplicationService({ ...pgConfig(db.database), application_name: 'someone-else' }, { acknowledge: { auto: false, timeoutSeconds: 0 } });
      void reader.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [pub] }), slot).catch(() => undefined);
      try {
        await expect
          .poll(async () => withPg(db.database, async (c) => (await c.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0]?.active), { timeout: 10_000 })
          .toBe(true);
        const it = await failedSlot({ slotName: slot });
        expect(it.detail).toMatch(new RegExp(`^replication slot ${slot} is in use by another connection \\(pid \\d+, application_name 'someone-else', from 127\\.0\\.0\\.1\\)`));
        expect(it.fix).toMatch(/SELECT pg_terminate_backend\(\d+\);/);
      } finally {
        await reader.stop();
      }
    });

    it('a slot under the name an earlier version gave the task', async () => {
      const name = uniqueName('legacy').replace(/_/g, '-');
      const legacy = `dts_sync_${name.replace(/-/g, '_')}`;
      await withPg(db.database, (c) => c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [legacy]));
      const it = await failedSlot({}, name);
      expect(it.detail).toContain(`replication slot tributary_${name.replace(/-/g, '_')} does not exist, but ${legacy} does, in database ${db.database}`);
      expect(it.fix).toContain(`set source.slotName: ${legacy} and source.publication: ${legacy}`);
    });
  });

  it('a publication the task did not create is never altered: a missing table fails, missing helper tables warn, release keeps it', async () => {
    const { db, topic } = await setup('userpub', ['a', 'b']);
    const pub = uniqueName('user_pub');
    await withPg(db.database, (c) => c.query(`CREATE PUBLICATION ${pub} FOR TABLE public.a`));
    const name = uniqueName('userpub').replace(/_/g, '-');
    const task = runtime.add(config(name, db.database, topic, { publication: pub }, ['a', 'b']));
    task.start();
    let s = await task.waitFor(settled, 60_000);
    expect(s.state).toBe('precheckFailed');
    const missing = item(s.precheck, 'source.publication');
    console.log('[publication missing a table]', JSON.stringify(missing));
    expect(missing.status).toBe('fail');
    expect(missing.detail).toContain(`publication ${pub} exists and was not created by this task, so Tributary reads through it as it is and never alters or drops it`);
    expect(missing.detail).toContain('it does not include the selected table public.b, whose changes would never arrive');
    expect(missing.fix).toContain(`ALTER PUBLICATION "${pub}" ADD TABLE "public"."b";`);
    expect((await replicationObjects(db.database)).tables).toEqual([`${pub}:public.a`]);

    // The user adds the table; the helper tables are still missing: a warning to acknowledge.
    await withPg(db.database, (c) => c.query(`ALTER PUBLICATION ${pub} ADD TABLE public.b`));
    task.start();
    s = await task.waitFor(settled, 60_000);
    expect(s.state).toBe('awaitingAlertIgnore');
    const helpers = item(s.precheck, 'source.publication');
    expect(helpers.status).toBe('warn');
    expect(helpers.detail).toContain("it does not include Tributary's helper tables public.dts_ddl_command, public.dts_postgres_heartbeat");
    expect(helpers.fix).toContain(`ALTER PUBLICATION "${pub}" ADD TABLE "public"."dts_ddl_command", "public"."dts_postgres_heartbeat";`);
    task.ignoreAlert('source.publication');
    s = await task.waitFor(settled, 60_000);
    expect(s.state, JSON.stringify(s.lastError)).toBe('incremental');
    await withPg(db.database, (c) => c.query(`INSERT INTO public.b VALUES (4, 'through the user publication')`));
    await idsInTopic(topic, 'b', ['1', '2', '3', '4']);
    expect((await replicationObjects(db.database)).tables).toEqual([`${pub}:public.a`, `${pub}:public.b`]);

    await task.stop();
    task.release();
    await task.waitFor((st) => st.state === 'released' || st.state === 'releaseFailed', 30_000);
    expect(task.status.state).toBe('released');
    const left = await replicationObjects(db.database);
    expect(left.slots).toEqual([]);
    expect(left.publications.map((p) => p.pubname)).toEqual([pub]);
    expect(left.tables).toEqual([`${pub}:public.a`, `${pub}:public.b`]);
  }, 120_000);

  it('a FOR ALL TABLES publication is read as it is; another task\'s publication is refused', async () => {
    const { db, topic } = await setup('allpub');
    const all = uniqueName('all_pub');
    const theirs = uniqueName('their_pub');
    await withPg(db.database, async (c) => {
      await c.query(`CREATE PUBLICATION ${all} FOR ALL TABLES`);
      await c.query(`CREATE PUBLICATION ${theirs} FOR TABLE public.items`);
      await c.query(`COMMENT ON PUBLICATION ${theirs} IS '${publicationMark('orders-elsewhere').replace(/'/g, "''")}'`);
    });

    const refused = runtime.add(config(uniqueName('theirs').replace(/_/g, '-'), db.database, topic, { publication: theirs }));
    const items = await refused.precheck();
    const it = item(items, 'source.publication');
    expect(it).toMatchObject({
      status: 'fail',
      detail: `publication ${theirs} was created by Tributary for task orders-elsewhere, which sets its tables to its own selection whenever it starts`,
    });
    expect(it.fix).toContain('release task orders-elsewhere first');

    const task = runtime.add(config(uniqueName('allpub').replace(/_/g, '-'), db.database, topic, { publication: all }));
    task.start();
    const s = await task.waitFor(settled, 60_000);
    expect(s.state, JSON.stringify(s.lastError ?? s.precheck?.filter((i) => i.status !== 'pass'))).toBe('incremental');
    expect(item(s.precheck, 'source.publication').detail).toContain('it covers all tables');
    await withPg(db.database, (c) => c.query(`INSERT INTO public.items VALUES (4, 'through FOR ALL TABLES')`));
    await idsInTopic(topic, 'items', ['4']);
    const pubs = await withPg(db.database, async (c) => (await c.query<{ pubname: string; puballtables: boolean }>('SELECT pubname, puballtables FROM pg_publication ORDER BY 1')).rows);
    expect(pubs).toEqual([{ pubname: all, puballtables: true }, { pubname: theirs, puballtables: false }].sort((x, y) => x.pubname.localeCompare(y.pubname)));
    await task.stop();
  }, 90_000);
});
