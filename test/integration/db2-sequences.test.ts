/**
 * Db2 (emulated SQL Replication) → Kafka: a Capture that still writes 10-byte sequences (before
 * Db2 V10), a registration Capture re-activated while the task was stopped (its changes in between
 * were never captured: the task fails), and rows as DTS Avro (the default format for Db2).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dtsRecordType } from '../../src/formats/index.js';
import { createRuntime, type Runtime } from '../../src/index.js';
import { Db2Position } from '../../src/sources/db2/position.js';
import { ScriptedCapture, defineTable, installEmulatedServer, type EmulatedColumn } from '../fixtures/db2/emulation.js';
import { emulatedDb2Registry } from '../fixtures/db2/registry.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, pgConfig, readTopic, uniqueName } from './support.js';

const COLS: EmulatedColumn[] = [
  { name: 'ID', db2: 'BIGINT' },
  { name: 'PRICE', db2: 'DECIMAL(31,8)' },
  { name: 'STAMP', db2: 'TIMESTAMP(12)' },
  { name: 'DOC', db2: 'BLOB(100)' },
  { name: 'V', db2: 'VARCHAR(20)' },
];

describe('Db2 (emulated, 10-byte sequences) → Kafka', () => {
  let db: { database: string; drop: () => Promise<void> };
  let capture: ScriptedCapture;
  let dir: string;
  let client: pg.Client;
  let runtime: Runtime;
  const topics: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('db2seq');
    dir = await mkdtemp(join(tmpdir(), 'trib-db2seq-'));
    client = new pg.Client(pgConfig(db.database));
    await client.connect();
    await installEmulatedServer(client, { width: 10 });
    await defineTable(client, 'APP', 'T', COLS, ['ID']);
    await defineTable(client, 'APP', 'U', COLS, ['ID']);
    capture = new ScriptedCapture(pgConfig(db.database), { intervalMs: 100, width: 10 });
    await capture.start();
    await capture.registerAndActivate('APP', 'T', { updatesAsDeleteInsert: true });
    await capture.registerAndActivate('APP', 'U', { prefix: 'X' });
    runtime = createRuntime({ registry: emulatedDb2Registry({ ...servers.postgres, database: db.database }), confirmIntervalMs: 100 });
  }, 120_000);

  afterAll(async () => {
    await runtime?.shutdown().catch(() => undefined);
    await capture?.stop();
    await client?.end().catch(() => undefined);
    await db?.drop();
    for (const t of topics) await deleteTopics(t).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  function config(name: string, topic: string, table: string, format: 'dts-avro' | 'canal-json') {
    return {
      name,
      source: { type: 'db2' as const, host: servers.postgres.host, user: 'postgres', password: 'emulated', database: db.database, heartbeat: { enabled: false } },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format } },
      objects: [{ schema: 'APP', table }],
      syncTypes: { full: false, incremental: true },
      checkpoints: { store: 'file' as const, dir },
    };
  }

  it('streams changes with 10-byte positions and writes DTS Avro records with full-precision values', async () => {
    const topic = uniqueName('db2avro');
    topics.push(topic);
    await createTopic(topic, 1);
    const task = runtime.add(config(uniqueName('db2-avro').replace(/_/g, '-'), topic, 'T', 'dts-avro'));
    task.start();
    await task.waitFor((s) => s.state === 'incremental', 30_000);
    await client.query(`INSERT INTO "APP"."T" VALUES (9223372036854775807, 12345678901234567890123.12345678, '2024-02-29-23.59.59.999999999999', '\\x00ff', 'a')`);
    await client.query(`UPDATE "APP"."T" SET "V" = 'b' WHERE "ID" = 9223372036854775807`);
    const ns = 'com.alibaba.dts.formats.avro.';
    type Img = Array<Record<string, Record<string, unknown>> | null>;
    const recs = (await readTopic(topic, 2, { timeoutMs: 20_000 })).map(
      (m) => dtsRecordType().fromBuffer(m.value as Buffer) as { operation: string; objectName: { string: string }; sourcePosition: string; source: { sourceType: string }; beforeImages: { array: Img } | null; afterImages: { array: Img } },
    );
    expect(recs.map((r) => r.operation)).toEqual(['INSERT', 'UPDATE']);
    const [ins, upd] = recs as [(typeof recs)[number], (typeof recs)[number]];
    expect(ins.source.sourceType).toBe('DB2');
    expect(ins.objectName.string).toBe(`${db.database}.APP.T`);
    const img = ins.afterImages.array;
    expect(img[0]?.[`${ns}Integer`]).toEqual({ precision: 8, value: '9223372036854775807' });
    expect(img[1]?.[`${ns}Decimal`]).toEqual({ value: '12345678901234567890123.12345678', precision: 31, scale: 8 });
    expect(img[2]?.[`${ns}DateTime`]).toMatchObject({ year: { int: 2024 }, month: { int: 2 }, day: { int: 29 }, hour: { int: 23 }, second: { int: 59 }, millis: { int: 999999 } });
    expect((img[3]?.[`${ns}BinaryObject`] as { value: Buffer }).value).toEqual(Buffer.from([0, 255]));
    // The update Capture stored as delete + insert arrives as one UPDATE with its before image.
    expect((upd.beforeImages?.array[4]?.[`${ns}Character`] as { value: Buffer }).value.toString()).toBe('a');
    expect((upd.afterImages.array[4]?.[`${ns}Character`] as { value: Buffer }).value.toString()).toBe('b');
    // Positions are Capture's own 10-byte values.
    const pos = Db2Position.decode(upd.sourcePosition);
    expect(pos.commit.length).toBe(10);
    expect(pos.intent?.length).toBe(10);
    await task.waitFor((s) => s.position !== null, 10_000);
    expect(Db2Position.decode(task.status.position ?? '').commit.length).toBe(10);
    await runtime.remove(task.id);
  }, 60_000);

  it('keeps every delete + insert pair together when pages of 3 rows cut through them', async () => {
    const topic = uniqueName('db2pages');
    topics.push(topic);
    await createTopic(topic, 1);
    const paged = createRuntime({ registry: emulatedDb2Registry({ ...servers.postgres, database: db.database }, { pageRows: 3 }), confirmIntervalMs: 100 });
    try {
      const task = paged.add(config(uniqueName('db2-pages').replace(/_/g, '-'), topic, 'T', 'canal-json'));
      task.start();
      await task.waitFor((s) => s.state === 'incremental', 30_000);
      await client.query(`INSERT INTO "APP"."T" SELECT 100 + g, g, '2024-01-01-00.00.00.000000000000', NULL, 'v' || g FROM generate_series(1, 5) g`);
      await client.query(`UPDATE "APP"."T" SET "V" = "V" || '+' WHERE "ID" BETWEEN 101 AND 105`);
      const got = (await readTopic(topic, 10, { timeoutMs: 20_000 })).map((m) => JSON.parse(m.value?.toString() ?? 'null') as { type: string; data: Array<{ ID: string; V: string }>; old: Array<{ V?: string }> | null });
      expect(got.map((m) => `${m.type} ${m.data[0]?.ID} ${m.data[0]?.V}${m.old ? ` was ${m.old[0]?.V}` : ''}`)).toEqual([
        ...[1, 2, 3, 4, 5].map((g) => `INSERT ${100 + g} v${g}`),
        ...[1, 2, 3, 4, 5].map((g) => `UPDATE ${100 + g} v${g}+ was v${g}`),
      ]);
    } finally {
      await paged.shutdown();
    }
  }, 60_000);

  it('merges the CD tables in commit order, not in the order the changes were made', async () => {
    const topic = uniqueName('db2order');
    topics.push(topic);
    await createTopic(topic, 1);
    const task = runtime.add({ ...config(uniqueName('db2-order').replace(/_/g, '-'), topic, 'T', 'canal-json'), objects: [{ schema: 'APP', table: 'T' }, { schema: 'APP', table: 'U' }] });
    task.start();
    await task.waitFor((s) => s.state === 'incremental', 30_000);
    const other = new pg.Client(pgConfig(db.database));
    await other.connect();
    try {
      // The first transaction (T 10, T 11, U delete) writes first and commits last.
      await client.query('BEGIN');
      await client.query(`INSERT INTO "APP"."T" VALUES (10, 1, '2024-01-01-00.00.00.000000000000', NULL, 'first')`);
      await other.query('BEGIN');
      await other.query(`INSERT INTO "APP"."U" VALUES (20, 1, '2024-01-01-00.00.00.000000000000', NULL, 'second')`);
      await other.query('COMMIT');
      await client.query(`INSERT INTO "APP"."T" VALUES (11, 1, '2024-01-01-00.00.00.000000000000', NULL, 'first again')`);
      await client.query(`DELETE FROM "APP"."U" WHERE "ID" = 20`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await other.end();
    }
    const got = (await readTopic(topic, 4, { timeoutMs: 20_000 })).map((m) => JSON.parse(m.value?.toString() ?? 'null') as { table: string; type: string; data: Array<{ ID: string }> });
    expect(got.map((m) => `${m.table} ${m.type} ${m.data[0]?.ID}`)).toEqual(['U INSERT 20', 'T INSERT 10', 'T INSERT 11', 'U DELETE 20']);
    await runtime.remove(task.id);
  }, 60_000);

  it('fails with LostHistoryError when Capture re-activated a registration while the task was stopped', async () => {
    const topic = uniqueName('db2react');
    topics.push(topic);
    await createTopic(topic, 1);
    const name = uniqueName('db2-react').replace(/_/g, '-');
    let task = runtime.add(config(name, topic, 'U', 'canal-json'));
    task.start();
    await task.waitFor((s) => s.state === 'incremental', 30_000);
    await client.query(`INSERT INTO "APP"."U" VALUES (1, 1, '2024-01-01-00.00.00.000000000000', NULL, 'x')`);
    await readTopic(topic, 1, { timeoutMs: 20_000 });
    await task.waitFor((s) => s.counters.events >= 1 && s.position !== null, 10_000);
    await runtime.remove(name);

    await capture.deactivate('APP', 'U');
    await client.query(`INSERT INTO "APP"."U" VALUES (2, 2, '2024-01-01-00.00.00.000000000000', NULL, 'never captured')`);
    await capture.caughtUp();
    await capture.reactivate('APP', 'U');

    task = runtime.add(config(name, topic, 'U', 'canal-json'));
    task.start();
    const s = await task.waitFor((st) => st.state === 'failed', 30_000);
    expect(s.lastError?.code).toBe('LOST_HISTORY');
    expect(s.lastError?.message).toMatch(/Capture started capturing APP\.U at [0-9a-f]{20}, after the task's position/);
  }, 60_000);
});
