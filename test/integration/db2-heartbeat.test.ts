/**
 * Db2 heartbeat settings against the SQL Replication emulation in the real PostgreSQL
 * (test/fixtures/db2/emulation.ts): `source.heartbeat.schema` and `table` name where the task's
 * MERGE writes, and `intervalMs` how often.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { ScriptedCapture, defineTable, installEmulatedServer, runstats, type EmulatedColumn } from '../fixtures/db2/emulation.js';
import { emulatedDb2Registry } from '../fixtures/db2/registry.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, pgConfig, uniqueName } from './support.js';

const HEARTBEAT: EmulatedColumn[] = [
  { name: 'TASK_NAME', db2: 'VARCHAR(128)' },
  { name: 'BEAT_TIME', db2: 'TIMESTAMP(6)' },
  { name: 'BEAT_SEQ', db2: 'BIGINT' },
];

describe('Db2 heartbeat: schema, table and interval', () => {
  let db: { database: string; drop: () => Promise<void> };
  let capture: ScriptedCapture;
  let runtime: Runtime;
  let dir: string;
  let client: pg.Client;
  const topic = uniqueName('db2beat');

  beforeAll(async () => {
    db = await createTestDatabase('db2beat');
    dir = await mkdtemp(join(tmpdir(), 'trib-db2beat-'));
    await createTopic(topic, 1);
    client = new pg.Client(pgConfig(db.database));
    await client.connect();
    await installEmulatedServer(client);
    await defineTable(client, 'DB2INST1', 'ITEMS', [{ name: 'ID', db2: 'INTEGER' }, { name: 'V', db2: 'VARCHAR(20)' }], ['ID']);
    await client.query(`INSERT INTO "DB2INST1"."ITEMS" SELECT g, 'v' || g FROM generate_series(1, 10) g`);
    await runstats(client, 'DB2INST1', 'ITEMS');
    // The default table exists too, so a task ignoring the settings would have somewhere to write.
    await defineTable(client, 'public', 'DTS_DB2_HEARTBEAT', HEARTBEAT, ['TASK_NAME']);
    await defineTable(client, 'HB', 'BEATS', HEARTBEAT, ['TASK_NAME']);
    capture = new ScriptedCapture(pgConfig(db.database), { intervalMs: 150 });
    await capture.start();
    await capture.registerAndActivate('DB2INST1', 'ITEMS', { prefix: 'X' });
    await capture.registerAndActivate('HB', 'BEATS');
  }, 120_000);

  afterAll(async () => {
    await runtime?.shutdown().catch(() => undefined);
    await capture?.stop();
    await client?.end().catch(() => undefined);
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const seq = async (schema: string, table: string, task: string): Promise<number | null> => {
    const r = await client.query<{ BEAT_SEQ: string }>(`SELECT "BEAT_SEQ" FROM "${schema}"."${table}" WHERE "TASK_NAME" = $1`, [task]);
    return r.rows[0] ? Number(r.rows[0].BEAT_SEQ) : null;
  };

  it('beats into the named schema and table at the configured interval, never into the default table', async () => {
    runtime = createRuntime({ registry: emulatedDb2Registry({ ...servers.postgres, database: db.database }), confirmIntervalMs: 200 });
    const task = runtime.add({
      name: uniqueName('db2-beat').replace(/_/g, '-'),
      source: { type: 'db2', host: servers.postgres.host, user: 'postgres', password: 'emulated', database: db.database, heartbeat: { enabled: true, schema: 'HB', table: 'BEATS', intervalMs: 200 } },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'DB2INST1', table: 'ITEMS' }],
      syncTypes: { full: true, incremental: true },
      checkpoints: { store: 'file', dir },
    });
    task.start();
    await task.waitFor((s) => ['incremental', 'failed', 'precheckFailed', 'awaitingAlertIgnore'].includes(s.state), 50_000);
    expect(task.status.precheck?.filter((p) => p.status !== 'pass')).toEqual([]);
    expect(task.status.state).toBe('incremental');
    expect(task.status.precheck?.find((p) => p.id === 'source.heartbeat')).toMatchObject({ status: 'pass', detail: expect.stringContaining('BEATS') });
    const first = (await seq('HB', 'BEATS', task.id)) ?? 0;
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 4000));
    const last = (await seq('HB', 'BEATS', task.id)) ?? 0;
    const seconds = (Date.now() - started) / 1000;
    // Every 200 ms is about 20 beats in 4 s; the default (1000 ms) would give about 4.
    console.log(`[db2 heartbeat] ${last - first} beats in ${seconds.toFixed(1)} s at intervalMs 200`);
    expect(last - first).toBeGreaterThanOrEqual(10);
    expect(await seq('public', 'DTS_DB2_HEARTBEAT', task.id)).toBeNull();
    await capture.caughtUp();
    expect(task.status.counters.heartbeats).toBeGreaterThan(0);
    // Capture read the named table's beats into its change-data table.
    expect((await client.query(`SELECT 1 FROM "HB"."CDBEATS" LIMIT 1`)).rowCount).toBe(1);
  }, 60_000);
});
