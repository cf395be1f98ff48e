/**
 * The Db2 source's prechecks against the emulated server: what passes on a healthy one, and what
 * fails (or warns) with a fix when registrations, Capture, retention, keys or authority are wrong.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrecheckItem } from '../../src/core/contracts.js';
import { describeTables, readRegistrations, type Db2Table } from '../../src/sources/db2/catalog.js';
import { Db2Sql } from '../../src/sources/db2/dialect.js';
import { Db2Source, type Db2SourceOptions } from '../../src/sources/db2/index.js';
import { precheckDb2 } from '../../src/sources/db2/precheck.js';
import { PG_RENDERING, ScriptedCapture, defineTable, installEmulatedServer, pgConnector, type EmulatedServerOptions } from '../fixtures/db2/emulation.js';
import { createTestDatabase, pgConfig } from './support.js';

const COLS = [
  { name: 'ID', db2: 'INTEGER' },
  { name: 'V', db2: 'VARCHAR(10)' },
];

async function server(opts: EmulatedServerOptions, setup: (c: pg.Client, capture: ScriptedCapture) => Promise<void>) {
  const db = await createTestDatabase('db2pre');
  const c = new pg.Client(pgConfig(db.database));
  await c.connect();
  await installEmulatedServer(c, opts);
  const capture = new ScriptedCapture(pgConfig(db.database), { intervalMs: 100 });
  await capture.start();
  await setup(c, capture);
  return { db, c, capture };
}

function source(database: string, overrides: Partial<Db2SourceOptions> = {}): Db2Source {
  return new Db2Source({
    taskId: 'pre',
    database,
    connect: pgConnector(pgConfig(database)),
    rendering: PG_RENDERING,
    select: (ref) => ref.schema === 'APP',
    full: true,
    mapsNames: false,
    heartbeat: { enabled: false, intervalMs: 1000, table: 'DTS_DB2_HEARTBEAT', schema: null },
    chunkRows: 100,
    ...overrides,
  });
}

const byId = (items: PrecheckItem[]) => Object.fromEntries(items.map((i) => [i.id, i]));

describe('Db2 prechecks (emulated server)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const f of cleanups) await f();
  });

  let healthy: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    healthy = await server({}, async (c, capture) => {
      await defineTable(c, 'APP', 'T', COLS, ['ID']);
      await capture.registerAndActivate('APP', 'T', { prefix: 'X' });
    });
    cleanups.push(async () => {
      await healthy.capture.stop();
      await healthy.c.end();
      await healthy.db.drop();
    });
  }, 60_000);

  it('pass on a healthy server: registered and active, Capture moving, 7-day retention, keys, key changes visible, DBADM', async () => {
    const items = await source(healthy.db.database).precheck();
    expect(items.filter((i) => i.status !== 'pass')).toEqual([]);
    expect(items.map((i) => i.id)).toEqual(['source.connect', 'source.registered', 'source.registrations_active', 'source.capture_running', 'source.retention', 'source.primary_keys', 'source.key_changes', 'source.table_limit', 'source.authority']);
  });

  it('fail with a fix when tables are not registered or not active, keys are missing, retention is short, the account lacks DBADM', async () => {
    const bad = await server({ retentionMinutes: 600, authorities: [] }, async (c, capture) => {
      await defineTable(c, 'APP', 'T', COLS, ['ID']);
      await defineTable(c, 'APP', 'NOKEY', COLS, []);
      await defineTable(c, 'APP', 'IDLE', COLS, ['ID']);
      await capture.registerAndActivate('APP', 'T');
      await capture.register('APP', 'IDLE');
    });
    cleanups.push(async () => {
      await bad.capture.stop();
      await bad.c.end();
      await bad.db.drop();
    });
    const items = byId(await source(bad.db.database, { heartbeat: { enabled: true, intervalMs: 1000, table: 'DTS_DB2_HEARTBEAT', schema: null } }).precheck());
    expect(items['source.registered']).toMatchObject({ status: 'fail', detail: expect.stringContaining('APP.NOKEY') });
    expect(items['source.registered']?.fix).toMatch(/CREATE REGISTRATION/);
    expect(items['source.registrations_active']).toMatchObject({ status: 'fail', detail: expect.stringContaining('APP.IDLE (state I)') });
    expect(items['source.retention']).toMatchObject({ status: 'fail', detail: expect.stringContaining('600 minutes') });
    expect(items['source.retention']?.fix).toMatch(/RETENTION_LIMIT = 10080/);
    expect(items['source.primary_keys']).toMatchObject({ status: 'fail', detail: expect.stringContaining('APP.NOKEY') });
    expect(items['source.authority']).toMatchObject({ status: 'fail', fix: expect.stringContaining('GRANT DBADM') });
    expect(items['source.heartbeat']).toMatchObject({ status: 'warn' });
    // APP.T is registered without update-as-delete+insert and without before images.
    expect(items['source.key_changes']).toMatchObject({ status: 'warn', detail: expect.stringContaining('APP.T') });
    expect(items['source.capture_running']?.status).toBe('pass');
  }, 30_000);

  it('warn between 1 and 7 days of retention for full + incremental; incremental-only needs more than 24 hours', async () => {
    await healthy.c.query(`UPDATE "ASN"."IBMSNAP_CAPPARMS" SET "RETENTION_LIMIT" = 2880`);
    try {
      expect(byId(await source(healthy.db.database).precheck())['source.retention']?.status).toBe('warn');
      expect(byId(await source(healthy.db.database, { full: false }).precheck())['source.retention']?.status).toBe('pass');
      await healthy.c.query(`UPDATE "ASN"."IBMSNAP_CAPPARMS" SET "RETENTION_LIMIT" = 1440`);
      expect(byId(await source(healthy.db.database, { full: false }).precheck())['source.retention']?.status).toBe('fail');
    } finally {
      await healthy.c.query(`UPDATE "ASN"."IBMSNAP_CAPPARMS" SET "RETENTION_LIMIT" = 10080`);
    }
  });

  it('fail when Capture stopped moving its progress', async () => {
    healthy.capture.pause();
    try {
      await healthy.c.query(`UPDATE "ASN"."IBMSNAP_REGISTER" SET "SYNCHTIME" = "SYNCHTIME" - interval '1 hour' WHERE "GLOBAL_RECORD" = 'Y'`);
      await healthy.c.query(`UPDATE "ASN"."IBMSNAP_RESTART" SET "CURR_COMMIT_TIME" = "CURR_COMMIT_TIME" - interval '1 hour'`);
      const item = byId(await source(healthy.db.database).precheck())['source.capture_running'];
      expect(item).toMatchObject({ status: 'fail', fix: expect.stringContaining('asncap') });
      expect(item?.detail).toMatch(/s ago/);
    } finally {
      healthy.capture.resume();
    }
  });

  it('fail the table count when more than 5,000 tables are selected with name mapping', async () => {
    const client = await pgConnector(pgConfig(healthy.db.database))();
    try {
      const sql = new Db2Sql(PG_RENDERING, 'ASN');
      const regs = await readRegistrations(client, sql);
      const [table] = await describeTables(client, sql, healthy.db.database, [{ name: { schema: 'APP', table: 'T' }, cardinality: 0, createTime: '' }]);
      const many = Array.from({ length: 5001 }, () => table as Db2Table);
      const run = (mapsNames: boolean) => precheckDb2({ client, sql, database: healthy.db.database, selected: many, registrations: regs, full: true, mapsNames, heartbeat: null });
      expect(byId(await run(true))['source.table_limit']).toMatchObject({ status: 'fail', detail: '5001 tables selected with name mapping' });
      expect(byId(await run(false))['source.table_limit']?.status).toBe('pass');
    } finally {
      await client.close();
    }
  });

  it('report an unreachable server as a connectivity failure', async () => {
    const items = await source(healthy.db.database, { connect: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:50000'), { code: 'ECONNREFUSED' })) }).precheck();
    expect(items).toEqual([expect.objectContaining({ id: 'source.connect', group: 'connectivity', status: 'fail' })]);
  });
});
