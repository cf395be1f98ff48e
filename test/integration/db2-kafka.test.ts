/**
 * Db2 for LUW → Kafka against SQL Replication's tables emulated in the real PostgreSQL, driven by a
 * scripted Capture that reads PostgreSQL's log (test/fixtures/db2/emulation.ts): a full +
 * incremental task whose every row in Kafka equals the source, with changes made while the tables
 * are copied (several tables in one commit, an update stored as delete + insert, a key change,
 * before images, LOBs read from the source, NULLs).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { ScriptedCapture, defineTable, installEmulatedServer, runstats, type EmulatedColumn } from '../fixtures/db2/emulation.js';
import { emulatedDb2Registry } from '../fixtures/db2/registry.js';
import { diffRows, expectedRows } from '../fixtures/db2/verify.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, pgConfig, uniqueName } from './support.js';
import { readTopicByPartition, rebuildFromCanal } from './verify-topic.js';

export const ORDERS: EmulatedColumn[] = [
  { name: 'ID', db2: 'BIGINT' },
  { name: 'QTY', db2: 'INTEGER' },
  { name: 'PRICE', db2: 'DECIMAL(31,8)' },
  { name: 'RATE', db2: 'DECFLOAT(34)' },
  { name: 'RATIO', db2: 'DOUBLE' },
  { name: 'NAME', db2: 'VARCHAR(40)' },
  { name: 'CODE', db2: 'CHAR(4)' },
  { name: 'TAG', db2: 'VARCHAR(8) FOR BIT DATA' },
  { name: 'DOC', db2: 'BLOB(1000)' },
  { name: 'NOTE', db2: 'CLOB(1000)' },
  { name: 'TITLE', db2: 'VARGRAPHIC(20)' },
  { name: 'DAY', db2: 'DATE' },
  { name: 'AT', db2: 'TIME' },
  { name: 'STAMP', db2: 'TIMESTAMP(12)' },
  { name: 'SPEC', db2: 'XML' },
  { name: 'OK', db2: 'BOOLEAN' },
];
const ITEMS: EmulatedColumn[] = [
  { name: 'ORDER_ID', db2: 'BIGINT' },
  { name: 'LINE', db2: 'INTEGER' },
  { name: 'SKU', db2: 'VARCHAR(20)' },
  { name: 'AMOUNT', db2: 'DECIMAL(12,2)' },
];
const EVENTS: EmulatedColumn[] = [
  { name: 'ID', db2: 'INTEGER' },
  { name: 'AT', db2: 'TIMESTAMP(6)' },
  { name: 'BODY', db2: 'VARCHAR(100)' },
];
export const HEARTBEAT: EmulatedColumn[] = [
  { name: 'TASK_NAME', db2: 'VARCHAR(128)' },
  { name: 'BEAT_TIME', db2: 'TIMESTAMP(6)' },
  { name: 'BEAT_SEQ', db2: 'BIGINT' },
];

const BIG = 1152921504606846976n; // 2^60

/** An ORDERS row's values for `g`, as SQL over generate_series or a single number. */
export const orderValues = (g: string) =>
  `${BIG} + ${g}, ${g}, (${g} * 1.25)::numeric, ${g} || '.5E+3', ${g} / 4.0, 'order ' || ${g}, 'C' || (${g} % 10), decode(lpad(to_hex(${g}), 4, '0'), 'hex'),
   decode(repeat('ab', ${g} % 5 + 1), 'hex'), repeat('note ', ${g} % 3), '漢字' || ${g}, date '2024-01-01' + ${g}::int, time '10:00:00' + ${g} * interval '1 minute',
   '2024-01-02-03.04.05.' || lpad(${g}::text, 6, '0') || '987654', ('<o id="' || ${g} || '"/>')::xml, ${g} % 2 = 0`;

describe('Db2 (SQL Replication, emulated) → Kafka: full + incremental', () => {
  let db: { database: string; drop: () => Promise<void> };
  let capture: ScriptedCapture;
  let runtime: Runtime;
  let dir: string;
  let client: pg.Client;
  const topic = uniqueName('db2full');

  beforeAll(async () => {
    db = await createTestDatabase('db2full');
    dir = await mkdtemp(join(tmpdir(), 'trib-db2-'));
    await createTopic(topic, 3);
    client = new pg.Client(pgConfig(db.database));
    await client.connect();
    await installEmulatedServer(client);
    await defineTable(client, 'DB2INST1', 'ORDERS', ORDERS, ['ID']);
    await defineTable(client, 'DB2INST1', 'ITEMS', ITEMS, ['ORDER_ID', 'LINE']);
    await defineTable(client, 'DB2INST1', 'EVENTS', EVENTS, ['ID']);
    await defineTable(client, 'public', 'DTS_DB2_HEARTBEAT', HEARTBEAT, ['TASK_NAME']);
    await client.query(`INSERT INTO "DB2INST1"."ORDERS" SELECT ${orderValues('g')} FROM generate_series(1, 300) g`);
    await client.query(`INSERT INTO "DB2INST1"."ITEMS" SELECT ${BIG} + (g % 300) + 1, g, 'sku-' || g, g * 0.5 FROM generate_series(1, 500) g`);
    await client.query(`INSERT INTO "DB2INST1"."EVENTS" SELECT g, timestamp '2024-03-01 00:00:00' + g * interval '1.000001 second', 'event ' || g FROM generate_series(1, 50) g`);
    for (const t of ['ORDERS', 'ITEMS', 'EVENTS']) await runstats(client, 'DB2INST1', t);
    capture = new ScriptedCapture(pgConfig(db.database), { intervalMs: 150 });
    await capture.start();
    await capture.registerAndActivate('DB2INST1', 'ORDERS', { prefix: 'X' });
    await capture.registerAndActivate('DB2INST1', 'ITEMS', { updatesAsDeleteInsert: true });
    await capture.registerAndActivate('DB2INST1', 'EVENTS', { prefix: 'X' });
    await capture.registerAndActivate('public', 'DTS_DB2_HEARTBEAT');
  }, 120_000);

  afterAll(async () => {
    await runtime?.shutdown().catch(() => undefined);
    await capture?.stop();
    await client?.end().catch(() => undefined);
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  /** One round of DML: several tables in one commit, LOB and NULL updates, a key change, deletes. */
  async function churn(i: number): Promise<void> {
    const n = 1000 + i;
    await client.query('BEGIN');
    await client.query(`INSERT INTO "DB2INST1"."ORDERS" SELECT ${orderValues(String(n))}`);
    await client.query(`INSERT INTO "DB2INST1"."ITEMS" VALUES (${BIG} + ${n}, 1, 'new-${n}', ${n}.25), (${BIG} + ${n}, 2, 'new-${n}b', 1.10)`);
    await client.query(`UPDATE "DB2INST1"."EVENTS" SET "BODY" = 'changed ' || $1::text WHERE "ID" = $2`, [String(i), (i % 50) + 1]);
    await client.query('COMMIT');
    await client.query(`UPDATE "DB2INST1"."ORDERS" SET "PRICE" = "PRICE" + 0.00000001, "DOC" = decode('ff00' || lpad(to_hex($1::int), 4, '0'), 'hex'), "NOTE" = NULL WHERE "ID" = ${BIG} + $1::int`, [(i % 300) + 1]);
    await client.query(`UPDATE "DB2INST1"."ITEMS" SET "LINE" = "LINE" + 1000 WHERE "ORDER_ID" = ${BIG} + ${n} AND "LINE" = 2`);
    await client.query(`UPDATE "DB2INST1"."ITEMS" SET "AMOUNT" = "AMOUNT" * 2 WHERE "ORDER_ID" = ${BIG} + ${(i % 300) + 1}`);
    if (i % 3 === 0) await client.query(`DELETE FROM "DB2INST1"."ORDERS" WHERE "ID" = ${BIG} + ${300 - i}`);
    if (i % 4 === 0) await client.query(`DELETE FROM "DB2INST1"."EVENTS" WHERE "ID" = $1`, [50 - i]);
  }

  it('copies the tables and streams every change made during and after the copy; every row in Kafka equals the source', async () => {
    runtime = createRuntime({ registry: emulatedDb2Registry({ ...servers.postgres, database: db.database }), confirmIntervalMs: 200 });
    const task = runtime.add({
      name: uniqueName('db2-full').replace(/_/g, '-'),
      source: { type: 'db2', host: servers.postgres.host, user: 'postgres', password: 'emulated', database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', partitionPolicy: 'keyHash' } },
      objects: [{ schema: 'DB2INST1' }],
      syncTypes: { full: true, incremental: true },
      fullSync: { chunkRows: 64 },
      checkpoints: { store: 'file', dir },
    });
    task.start();
    // Changes while the task prechecks and copies.
    for (let i = 0; i < 20; i++) await churn(i);
    await task.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 50_000);
    expect(capture.lastError).toBeNull();
    expect(task.status.lastError).toBeNull();
    expect(task.status.precheck?.filter((p) => p.status !== 'pass')).toEqual([]);
    for (let i = 20; i < 40; i++) await churn(i);
    await capture.caughtUp();

    const want = {
      ORDERS: await expectedRows(pgConfig(db.database), 'DB2INST1', 'ORDERS', ORDERS, ['ID']),
      ITEMS: await expectedRows(pgConfig(db.database), 'DB2INST1', 'ITEMS', ITEMS, ['ORDER_ID', 'LINE']),
      EVENTS: await expectedRows(pgConfig(db.database), 'DB2INST1', 'EVENTS', EVENTS, ['ID']),
    };
    let problems: string[] = ['not read yet'];
    const end = Date.now() + 30_000;
    while (problems.length > 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 1000));
      const rebuilt = rebuildFromCanal(await readTopicByPartition(topic, { idleMs: 500 }));
      const table = (t: string) => {
        const entry = [...rebuilt.tables].find(([name]) => name.endsWith(`.${t}`));
        return entry ? new Map([...entry[1]].map(([k, v]) => [k, v.row])) : undefined;
      };
      problems = [...rebuilt.problems, ...(['ORDERS', 'ITEMS', 'EVENTS'] as const).flatMap((t) => diffRows(t, table(t), want[t]))];
    }
    expect(problems.slice(0, 20)).toEqual([]);
    expect(task.status.state).toBe('incremental');
    expect(task.status.counters.heartbeats).toBeGreaterThan(0);
    // The task's heartbeat row, written every second by the MERGE statement, reached Capture too.
    const beat = await client.query<{ BEAT_SEQ: string }>(`SELECT "BEAT_SEQ" FROM "public"."DTS_DB2_HEARTBEAT" WHERE "TASK_NAME" = $1`, [task.id]);
    expect(Number(beat.rows[0]?.BEAT_SEQ)).toBeGreaterThan(1);
    expect((await client.query(`SELECT 1 FROM "public"."CDDTS_DB2_HEARTBEAT" LIMIT 1`)).rowCount).toBe(1);
  }, 60_000);
});
