import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { createTestDatabase, pgConfig, uniqueName, withPg } from './support.js';

describe('PostgreSQL logical replication (smoke)', () => {
  let db: { database: string; drop: () => Promise<void> };
  beforeAll(async () => {
    db = await createTestDatabase('smoke');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('runs with wal_level=logical and streams an insert through a pgoutput slot', async () => {
    const slot = uniqueName('dts_sync_smoke');
    const walLevel = await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.items (id bigint PRIMARY KEY, name text, price numeric(20,4))');
      await c.query('CREATE PUBLICATION smoke_pub FOR TABLE public.items');
      await c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
      await c.query("INSERT INTO public.items VALUES (9007199254740993, 'first', 12345678901234.5678)");
      return (await c.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
    });
    expect(walLevel).toBe('logical');

    const service = new LogicalReplicationService(pgConfig(db.database), { acknowledge: { auto: false, timeoutSeconds: 0 } });
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['smoke_pub'] });
    const received = new Promise<Pgoutput.MessageInsert>((resolve, reject) => {
      service.on('data', (_lsn: string, msg: Pgoutput.Message) => {
        if (msg.tag === 'insert') resolve(msg);
      });
      service.on('error', reject);
    });
    void service.subscribe(plugin, slot).catch(() => undefined);
    try {
      const insert = await received;
      expect(insert.relation.schema).toBe('public');
      expect(insert.relation.name).toBe('items');
      expect(insert.relation.keyColumns).toEqual(['id']);
      expect(insert.new).toEqual({ id: '9007199254740993', name: 'first', price: '12345678901234.5678' });
    } finally {
      await service.stop();
    }
    const active = await withPg(db.database, async (c) => {
      // the walsender may take a moment to notice the closed connection
      for (let i = 0; i < 50; i++) {
        const r = await c.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
        if (r.rows[0]?.active === false) return false;
        await new Promise((res) => setTimeout(res, 100));
      }
      return true;
    });
    expect(active).toBe(false);
  });
});
