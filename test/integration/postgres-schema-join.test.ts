import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { dropSchemaJoin, ensureSchemaJoin, JOIN_TABLE, JOIN_TRIGGER, joinExistingTables } from '../../src/sources/postgres/schemaJoin.js';
import { createTestDatabase, pgConfig, uniqueName, withPg } from './support.js';

/**
 * The way tables created later in a whole selected schema join the publication on servers older
 * than PostgreSQL 15 (which have no FOR TABLES IN SCHEMA): an event trigger adds them in the
 * creating transaction. Only PostgreSQL 15 runs here, so the mechanism is driven directly (the
 * runtime picks it by server version; see test/unit/sources/postgres/schemaJoin.test.ts), with a
 * table-list publication as an older server would have, and pgoutput itself says what it publishes.
 */

type Db = { database: string; drop: () => Promise<void> };
let db: Db;
const pub = 'join_pub';
const slot = 'join_slot';
const role = uniqueName('join_app');

/** Relation name of every INSERT pgoutput (protocol 1) has for the slot, in order, without consuming them. */
async function publishedInserts(c: pg.Client): Promise<string[]> {
  const rows = (await c.query<{ data: Buffer }>(`SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)`, [slot, pub])).rows;
  const names = new Map<number, string>();
  const out: string[] = [];
  for (const { data } of rows) {
    const kind = String.fromCharCode(data[0] ?? 0);
    if (kind === 'R') {
      const relid = data.readUInt32BE(1);
      const nsEnd = data.indexOf(0, 5);
      const relEnd = data.indexOf(0, nsEnd + 1);
      names.set(relid, `${data.toString('utf8', 5, nsEnd)}.${data.toString('utf8', nsEnd + 1, relEnd)}`);
    } else if (kind === 'I') {
      out.push(names.get(data.readUInt32BE(1)) ?? '?');
    }
  }
  return out;
}

async function publicationTables(c: pg.Client): Promise<string[]> {
  return (await c.query<{ t: string }>(`SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, [pub])).rows.map((r) => r.t);
}

describe('tables created later join a table-list publication through the event trigger (servers before PostgreSQL 15)', () => {
  beforeAll(async () => {
    db = await createTestDatabase('schemajoin');
    await withPg(db.database, async (c) => {
      await c.query('CREATE SCHEMA live');
      await c.query('CREATE SCHEMA other');
      await c.query('CREATE TABLE live.t1 (id int PRIMARY KEY, v text)');
      await c.query(`CREATE PUBLICATION ${pub} FOR TABLE live.t1 WITH (publish_via_partition_root = true)`);
      await c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
      // An ordinary account creates tables: the trigger's ALTER PUBLICATION runs as its owner.
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
      await c.query(`GRANT USAGE, CREATE ON SCHEMA live, other TO ${role}`);
    });
  });

  afterAll(async () => {
    await withPg(db.database, async (c) => {
      await c.query(`SELECT pg_drop_replication_slot($1)`, [slot]).catch(() => undefined);
      await c.query(`DROP EVENT TRIGGER IF EXISTS ${JOIN_TRIGGER}`).catch(() => undefined);
      await c.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    }).catch(() => undefined);
    await db.drop();
    await withPg('postgres', (c) => c.query(`DROP ROLE IF EXISTS ${role}`)).catch(() => undefined);
  });

  it('a table created in a registered schema by any account is published from the creating transaction on; others are not', async () => {
    await withPg(db.database, async (c) => {
      await ensureSchemaJoin(c, 'public', pub, ['live']);
      await ensureSchemaJoin(c, 'public', pub, ['live']); // idempotent on every start
    });
    const { Client } = (await import('pg')).default;
    const app = new Client({ ...pgConfig(db.database), user: role, password: 'pw' });
    await app.connect();
    try {
      await app.query('BEGIN');
      await app.query('CREATE TABLE live.t2 (id int PRIMARY KEY, v text)');
      await app.query(`INSERT INTO live.t2 VALUES (1, 'same transaction')`);
      await app.query('COMMIT');
      await app.query(`INSERT INTO live.t2 VALUES (2, 'b'), (3, 'c')`);
      await app.query('CREATE TABLE other.t3 (id int PRIMARY KEY)');
      await app.query('INSERT INTO other.t3 VALUES (1)');
      await app.query('CREATE TABLE live.parted (id int PRIMARY KEY) PARTITION BY RANGE (id)');
      await app.query('CREATE TABLE live.parted_1 PARTITION OF live.parted FOR VALUES FROM (0) TO (100)');
      await app.query('INSERT INTO live.parted VALUES (5)');
      await app.query('CREATE TEMP TABLE scratch (id int)');
    } finally {
      await app.end();
    }
    await withPg(db.database, async (c) => {
      expect(await publicationTables(c)).toEqual(['live.parted', 'live.t1', 'live.t2']);
      // The insert made in the creating transaction is published too; the partition's row arrives as its root.
      expect(await publishedInserts(c)).toEqual(['live.t2', 'live.t2', 'live.t2', 'live.parted']);
    });
  });

  it('a table created before the registration joins when the task starts; releasing the last publication removes the trigger', async () => {
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE live.t5 (id int PRIMARY KEY)');
      // As the runtime does on start: the list is set again, then what exists in the schemas is added.
      await c.query(`ALTER PUBLICATION ${pub} SET TABLE live.t1`);
      await joinExistingTables(c, pub, ['live']);
      expect(await publicationTables(c)).toEqual(['live.parted', 'live.t1', 'live.t2', 'live.t5']);

      // Another publication registered for the same schema keeps the trigger alive.
      await c.query('CREATE PUBLICATION join_pub_2 FOR TABLE live.t1');
      await ensureSchemaJoin(c, 'public', 'join_pub_2', ['live', 'other']);
      await dropSchemaJoin(c, 'public', pub);
      expect((await c.query('SELECT 1 FROM pg_event_trigger WHERE evtname = $1', [JOIN_TRIGGER])).rowCount).toBe(1);
      await c.query('CREATE TABLE live.t6 (id int PRIMARY KEY)');
      expect(await publicationTables(c)).not.toContain('live.t6');
      expect((await c.query<{ t: string }>(`SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = 'join_pub_2' ORDER BY 1`)).rows.map((r) => r.t)).toEqual(['live.t1', 'live.t6']);

      await dropSchemaJoin(c, 'public', 'join_pub_2');
      expect((await c.query('SELECT 1 FROM pg_event_trigger WHERE evtname = $1', [JOIN_TRIGGER])).rowCount).toBe(0);
      expect((await c.query(`SELECT to_regclass('public.${JOIN_TABLE}') AS r`)).rows[0]).toEqual({ r: null });
      await c.query('CREATE TABLE live.t7 (id int PRIMARY KEY)'); // no trigger left: nothing fails
    });
  });
});
