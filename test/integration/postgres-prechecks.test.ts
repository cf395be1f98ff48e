import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrecheckItem } from '../../src/core/contracts.js';
import { readCatalog } from '../../src/sources/postgres/catalog.js';
import { precheckPostgres } from '../../src/sources/postgres/precheck.js';
import { startTinyCluster, type TinyCluster } from './fixtures/pgcluster.js';
import { createTestDatabase, withPg } from './support.js';
import { servers } from './servers.js';
import { createRuntime } from '../../src/index.js';

/** Runs the source precheck over the named `schema.table`s of a database, as a task selecting them would. */
async function precheck(client: pg.Client, database: string, tables: string[]): Promise<PrecheckItem[]> {
  const all = await readCatalog(client, database);
  const selected = all.filter((t) => tables.includes(`${t.ref.schema}.${t.ref.table}`));
  expect(selected.map((t) => `${t.ref.schema}.${t.ref.table}`).sort()).toEqual([...tables].sort());
  return precheckPostgres({ client, database, flavour: 'postgres', selected, slot: 'tributary_precheck_test', heartbeatSchema: null, exactlyOnce: false, full: true });
}

function item(items: PrecheckItem[], id: string): PrecheckItem {
  const found = items.find((i) => i.id === id);
  if (!found) throw new Error(`precheck item ${id} missing; got ${JSON.stringify(items.map((i) => i.id))}`);
  return found;
}

describe('PostgreSQL precheck: objects that cannot be synchronized, high availability', () => {
  let db: { database: string; drop: () => Promise<void> };

  beforeAll(async () => {
    db = await createTestDatabase('prechk');
    await withPg(db.database, async (c) => {
      await c.query('CREATE SCHEMA a');
      await c.query('CREATE SCHEMA b');
      // Classic inheritance across schemas, and within one schema.
      await c.query('CREATE TABLE a.parent (id int PRIMARY KEY, v text)');
      await c.query('CREATE TABLE b.child (extra text) INHERITS (a.parent)');
      await c.query('ALTER TABLE b.child ADD PRIMARY KEY (id)');
      await c.query('CREATE TABLE public.base (id int PRIMARY KEY)');
      await c.query('CREATE TABLE public.derived () INHERITS (public.base)');
      await c.query('ALTER TABLE public.derived ADD PRIMARY KEY (id)');
      // Declarative partitions in another schema are read through their root: not flagged.
      await c.query('CREATE TABLE public.measures (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region)');
      await c.query(`CREATE TABLE b.measures_eu PARTITION OF public.measures FOR VALUES IN ('eu')`);
      // Unique indexes that are no key.
      await c.query('CREATE TABLE public.emails (email text NOT NULL, note text)');
      await c.query('CREATE UNIQUE INDEX emails_lower_idx ON public.emails (lower(email))');
      await c.query('CREATE TABLE public.partial (id int NOT NULL, live boolean)');
      await c.query('CREATE UNIQUE INDEX partial_live_idx ON public.partial (id) WHERE live');
      await c.query('CREATE TABLE public.plain (a int, b text)');
      await c.query('CREATE TABLE public.good (id int PRIMARY KEY)');
      // A schema (and a table) made members of an extension: pg_depend deptype 'e'.
      await c.query('CREATE EXTENSION citext');
      await c.query('CREATE SCHEMA extschema');
      await c.query('ALTER EXTENSION citext ADD SCHEMA extschema');
      await c.query('CREATE TABLE extschema.settings (id int PRIMARY KEY, v citext)');
      await c.query('CREATE TABLE public.ext_config (id int PRIMARY KEY)');
      await c.query('ALTER EXTENSION citext ADD TABLE public.ext_config');
    });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('clean tables pass every new item; the HA item passes with "no standby attached"', async () => {
    await withPg(db.database, async (c) => {
      const items = await precheck(c, db.database, ['public.good', 'public.base', 'public.derived', 'public.measures']);
      for (const id of ['source.inheritance', 'source.hypertables', 'source.extension_objects', 'source.primary_keys', 'source.high_availability']) {
        expect(item(items, id).status, id).toBe('pass');
      }
      // TimescaleDB is not installed here: the guarded query reports it instead of failing.
      expect(item(items, 'source.hypertables').detail).toBe('the timescaledb extension is not installed');
      const ha = item(items, 'source.high_availability');
      expect(ha.detail).toBe('no standby attached');
      console.log('[ha]', JSON.stringify(ha));
    });
  });

  it('a whole selected schema: tables created later join with a superuser; without one the precheck warns they never will', async () => {
    const target = (selected: Awaited<ReturnType<typeof readCatalog>>) => ({ name: 'tributary_newtables', taskId: 'newtables', selected, helpers: [], schemas: ['a'] });
    await withPg(db.database, async (c) => {
      const selected = (await readCatalog(c, db.database)).filter((t) => t.ref.schema === 'a');
      const items = await precheckPostgres({ client: c, database: db.database, flavour: 'postgres', selected, slot: 'tributary_precheck_test', heartbeatSchema: null, exactlyOnce: false, full: true, publication: target(selected) });
      expect(item(items, 'source.new_tables')).toMatchObject({ status: 'pass', detail: 'the publication covers schema a (FOR TABLES IN SCHEMA)' });
      const role = `prechk_plain_${process.pid}`;
      await c.query(`CREATE ROLE ${role} LOGIN REPLICATION`);
      try {
        await c.query(`GRANT USAGE ON SCHEMA a TO ${role}`);
        await c.query(`SET ROLE ${role}`);
        const plain = await precheckPostgres({ client: c, database: db.database, flavour: 'postgres', selected, slot: 'tributary_precheck_test', heartbeatSchema: null, exactlyOnce: false, full: true, publication: target(selected) });
        await c.query('RESET ROLE');
        const warn = item(plain, 'source.new_tables');
        expect(warn.status).toBe('warn');
        expect(warn.detail).toContain(`role ${role} is not a superuser`);
        expect(warn.detail).toContain('a table created there later is never synchronized');
        expect(warn.fix).toContain('superuser');
      } finally {
        await c.query('RESET ROLE');
        await c.query(`DROP OWNED BY ${role}`);
        await c.query(`DROP ROLE ${role}`);
      }
    });
  });

  it('a table inheriting from a table in another schema fails, naming both', async () => {
    await withPg(db.database, async (c) => {
      const items = await precheck(c, db.database, ['b.child', 'public.good']);
      const inh = item(items, 'source.inheritance');
      expect(inh.status).toBe('fail');
      expect(inh.detail).toBe('tables inheriting from a table in another schema cannot be synchronized: b.child inherits a.parent');
      expect(inh.fix).toContain('Exclude the parent and child tables');
      // Selecting the parent alone is flagged too.
      expect(item(await precheck(c, db.database, ['a.parent']), 'source.inheritance').detail).toContain('b.child inherits a.parent');
      console.log('[inheritance]', JSON.stringify(inh));
    });
  });

  it('a table whose only unique index is on an expression (or partial) is told so, not just "no primary key"', async () => {
    await withPg(db.database, async (c) => {
      const items = await precheck(c, db.database, ['public.emails', 'public.partial', 'public.plain', 'public.good']);
      const pk = item(items, 'source.primary_keys');
      expect(pk.status).toBe('fail');
      expect(pk.detail).toBe(
        'no primary key or usable UNIQUE constraint: public.plain; ' +
          'no primary key, and their only unique indexes cannot identify rows (an index on expressions, partial, deferrable or over nullable columns is no key): ' +
          'public.emails (unique index emails_lower_idx is on expressions), public.partial (unique index partial_live_idx is partial (WHERE live))',
      );
      expect(pk.fix).toContain('UNIQUE constraint on plain NOT NULL columns');
      console.log('[expression key]', JSON.stringify(pk));
    });
  });

  it('a schema or a table that belongs to an extension (pg_depend deptype e) fails, naming the extension', async () => {
    await withPg(db.database, async (c) => {
      const deps = await c.query(`SELECT count(*)::int AS n FROM pg_depend WHERE deptype = 'e' AND classid = 'pg_namespace'::regclass AND objid = 'extschema'::regnamespace`);
      expect(deps.rows[0]?.n).toBe(1);
      const items = await precheck(c, db.database, ['extschema.settings', 'public.ext_config', 'public.good']);
      const ext = item(items, 'source.extension_objects');
      expect(ext.status).toBe('fail');
      expect(ext.detail).toBe(
        'objects created by CREATE EXTENSION cannot be synchronized: schema extschema belongs to extension citext (selected: extschema.settings); tables belonging to an extension: public.ext_config (extension citext)',
      );
      expect(ext.fix).toBe('Exclude schema extschema, public.ext_config from the task; create the extension on the destination instead.');
      console.log('[extension]', JSON.stringify(ext));
    });
  });

  it('a selected TimescaleDB hypertable fails (catalog stand-in: TimescaleDB itself is not installable here)', async () => {
    const other = await createTestDatabase('prechk_ts');
    try {
      await withPg(other.database, async (c) => {
        // The shape TimescaleDB's catalog has for what the check reads: _timescaledb_catalog.hypertable(schema_name, table_name).
        await c.query('CREATE SCHEMA _timescaledb_catalog');
        await c.query('CREATE TABLE _timescaledb_catalog.hypertable (id serial PRIMARY KEY, schema_name name NOT NULL, table_name name NOT NULL)');
        await c.query('CREATE TABLE public.metrics (id int PRIMARY KEY, at timestamptz)');
        await c.query('CREATE TABLE public.other (id int PRIMARY KEY)');
        await c.query(`INSERT INTO _timescaledb_catalog.hypertable (schema_name, table_name) VALUES ('public', 'metrics'), ('public', 'not_selected')`);
        const ht = item(await precheck(c, other.database, ['public.metrics', 'public.other']), 'source.hypertables');
        expect(ht.status).toBe('fail');
        expect(ht.detail).toBe('TimescaleDB hypertables store rows in chunk tables and cannot be synchronized: public.metrics');
        expect(ht.fix).toBe('Exclude these hypertables from the task.');
        const clean = item(await precheck(c, other.database, ['public.other']), 'source.hypertables');
        expect(clean.status).toBe('pass');
        expect(clean.detail).toBeUndefined();
        console.log('[hypertables]', JSON.stringify(ht));
      });
    } finally {
      await other.drop();
    }
  });

  describe('a server with a physical replication slot (a private cluster)', () => {
    let cluster: TinyCluster;
    beforeAll(async () => {
      cluster = await startTinyCluster({ wal_level: 'logical', max_wal_senders: 4, max_replication_slots: 4 });
    }, 120_000);
    afterAll(async () => {
      await cluster?.stop();
    });

    it('warns that a switchover fails the task while the standby sends no hot_standby_feedback', async () => {
      const client = new pg.Client({ host: cluster.host, port: cluster.port, user: 'postgres', database: 'postgres' });
      await client.connect();
      try {
        await client.query('CREATE TABLE public.t (id int PRIMARY KEY)');
        await client.query(`SELECT pg_create_physical_replication_slot('standby1')`);
        const ha = item(await precheck(client, 'postgres', ['public.t']), 'source.high_availability');
        expect(ha.status).toBe('warn');
        expect(ha.detail).toBe(
          'physical replication slots (a standby that is not connected now): standby1, but hot_standby_feedback is off (no feedback reported) for slot standby1: without it a switchover to a standby fails the task (its replication slot is missing or unusable there)',
        );
        expect(ha.fix).toContain('hot_standby_feedback = on');
        console.log('[ha standby]', JSON.stringify(ha));
      } finally {
        await client.end();
      }
    });

    it('counts physical walsenders (pg_receivewal) as standbys, never a logical replication client, with or without its slot', async () => {
      const client = new pg.Client({ host: cluster.host, port: cluster.port, user: 'postgres', database: 'postgres' });
      // A logical replication connection that has not started streaming (holds no slot): another
      // task's, or a new cluster owner's between connecting and START_REPLICATION.
      const logical = new pg.Client({ host: cluster.host, port: cluster.port, user: 'postgres', database: 'postgres', replication: 'database', application_name: 'logical-client' } as pg.ClientConfig);
      const dir = mkdtempSync(join(tmpdir(), 'receivewal-'));
      const receiver = spawn('pg_receivewal', ['-D', dir, '-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', '--no-password'], { stdio: 'ignore' });
      await client.connect();
      await logical.connect();
      try {
        await logical.query('IDENTIFY_SYSTEM');
        const until = Date.now() + 20_000;
        while ((await client.query(`SELECT 1 FROM pg_stat_replication WHERE application_name = 'pg_receivewal'`)).rowCount === 0) {
          if (Date.now() > until) throw new Error('pg_receivewal did not connect');
          await new Promise((r) => setTimeout(r, 100));
        }
        expect((await client.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'logical-client' AND backend_type = 'walsender'`)).rowCount).toBe(1);
        const ha = item(await precheck(client, 'postgres', ['public.t']), 'source.high_availability');
        expect(ha.status).toBe('warn');
        expect(ha.detail).toMatch(/^physical standbys attached: pg_receivewal at 127\.0\.0\.1, but hot_standby_feedback is off/);
        expect(ha.detail).not.toContain('logical-client');
      } finally {
        receiver.kill('SIGTERM');
        await logical.end().catch(() => undefined);
        await client.end();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('PostgreSQL precheck: a table named in objects that does not exist', () => {
  let db: { database: string; drop: () => Promise<void> };
  beforeAll(async () => {
    db = await createTestDatabase('prechkmiss');
    await withPg(db.database, (c) => c.query('CREATE TABLE public.present (id int PRIMARY KEY)'));
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('fails source.objects naming the missing table, even when others match', async () => {
    const runtime = createRuntime();
    try {
      const task = runtime.add({
        name: 'missing-table-check',
        source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
        destination: { kafka: { brokers: [...servers.kafka.brokers], topic: 'missing-table-check' } },
        objects: [
          { schema: 'public', table: 'present' },
          { schema: 'public', table: 'absent_one' },
        ],
        checkpoints: { store: 'file', dir: '/tmp/trib-missing-table-check' },
      });
      const items = await task.precheck();
      const objects = item(items, 'source.objects');
      expect(objects.status).toBe('fail');
      expect(objects.detail).toContain('public.absent_one');
      expect(objects.detail).not.toContain('public.present');
    } finally {
      await runtime.shutdown();
    }
  });

  it('fails source.columns before the task runs when a filter or column list names a column the table lacks', async () => {
    const runtime = createRuntime();
    try {
      const task = runtime.add({
        name: 'unknown-column-check',
        source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
        destination: { kafka: { brokers: [...servers.kafka.brokers], topic: 'unknown-column-check' } },
        objects: [{ schema: 'public', table: 'present', filter: 'idd > 3', columns: ['id', 'nope'] }],
        checkpoints: { store: 'file', dir: '/tmp/trib-unknown-column-check' },
      });
      const columns = item(await task.precheck(), 'source.columns');
      expect(columns.status).toBe('fail');
      expect(columns.detail).toContain("unknown column 'idd'");
      expect(columns.detail).toContain("'nope'");
    } finally {
      await runtime.shutdown();
    }
  });
});
