/**
 * Db2 (emulated SQL Replication) → Kafka, what happens to the registrations and the CD tables while
 * a task runs or is stopped: a table registered while the task runs joins the stream; changes that
 * Capture pruned before a stopped task read them fail the task with LostHistoryError, naming the
 * retention limit, instead of skipping them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { ScriptedCapture, defineTable, installEmulatedServer, type EmulatedColumn } from '../fixtures/db2/emulation.js';
import { emulatedDb2Registry } from '../fixtures/db2/registry.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, pgConfig, readTopic, uniqueName } from './support.js';

const COLS: EmulatedColumn[] = [
  { name: 'ID', db2: 'INTEGER' },
  { name: 'V', db2: 'VARCHAR(40)' },
];

interface Canal {
  table: string;
  type: string;
  data: Array<Record<string, string | null>> | null;
}

describe('Db2 (emulated): registrations and pruning', () => {
  let db: { database: string; drop: () => Promise<void> };
  let capture: ScriptedCapture;
  let dir: string;
  let client: pg.Client;
  let runtime: Runtime;
  const topics: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('db2regs');
    dir = await mkdtemp(join(tmpdir(), 'trib-db2regs-'));
    client = new pg.Client(pgConfig(db.database));
    await client.connect();
    await installEmulatedServer(client);
    await defineTable(client, 'APP', 'FIRST', COLS, ['ID']);
    await defineTable(client, 'OPS', 'GONE', COLS, ['ID']);
    capture = new ScriptedCapture(pgConfig(db.database), { intervalMs: 100 });
    await capture.start();
    await capture.registerAndActivate('APP', 'FIRST', { prefix: 'X' });
    await capture.registerAndActivate('OPS', 'GONE', { prefix: 'X' });
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

  function config(name: string, topic: string, schema: string) {
    return {
      name,
      source: { type: 'db2' as const, host: servers.postgres.host, user: 'postgres', password: 'emulated', database: db.database, heartbeat: { enabled: false } },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' as const } },
      objects: [{ schema }],
      syncTypes: { full: false, incremental: true },
      checkpoints: { store: 'file' as const, dir },
    };
  }

  it('follows a table registered while the task runs, from the moment Capture activated it', async () => {
    const topic = uniqueName('db2late');
    topics.push(topic);
    await createTopic(topic, 1);
    const task = runtime.add(config(uniqueName('db2-late').replace(/_/g, '-'), topic, 'APP'));
    task.start();
    await task.waitFor((s) => s.state === 'incremental', 30_000);
    await client.query(`INSERT INTO "APP"."FIRST" VALUES (1, 'before')`);

    // A new table in the selected schema, registered and activated while the task runs.
    await defineTable(client, 'APP', 'LATE', COLS, ['ID']);
    await client.query(`INSERT INTO "APP"."LATE" VALUES (100, 'not captured: before the registration')`);
    await capture.registerAndActivate('APP', 'LATE', { prefix: 'X' });
    await client.query('BEGIN');
    await client.query(`INSERT INTO "APP"."LATE" VALUES (1, 'one'), (2, 'two')`);
    await client.query(`INSERT INTO "APP"."FIRST" VALUES (2, 'same commit')`);
    await client.query('COMMIT');
    await client.query(`UPDATE "APP"."LATE" SET "V" = 'uno' WHERE "ID" = 1`);

    const messages = (await readTopic(topic, 5, { timeoutMs: 20_000 })).map((m) => JSON.parse(m.value?.toString() ?? 'null') as Canal);
    const summary = messages.map((m) => `${m.table} ${m.type} ${m.data?.map((d) => `${d.ID}=${d.V}`).join(',')}`);
    expect(summary).toEqual(['FIRST INSERT 1=before', 'LATE INSERT 1=one', 'LATE INSERT 2=two', 'FIRST INSERT 2=same commit', 'LATE UPDATE 1=uno']);
    expect(task.status.state).toBe('incremental');
    await runtime.remove(task.id);
  }, 60_000);

  it('fails when Capture\'s progress goes back behind the task (a switchover to a standby that was behind, a restore)', async () => {
    const topic = uniqueName('db2back');
    topics.push(topic);
    await createTopic(topic, 1);
    const task = runtime.add(config(uniqueName('db2-back').replace(/_/g, '-'), topic, 'APP'));
    task.start();
    await task.waitFor((s) => s.state === 'incremental' && s.position !== null, 30_000);
    capture.pause();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const early = Buffer.alloc(16);
      early[15] = 1;
      await client.query(`UPDATE "ASN"."IBMSNAP_REGISTER" SET "SYNCHPOINT" = $1 WHERE "GLOBAL_RECORD" = 'Y'`, [early]);
      await client.query(`UPDATE "ASN"."IBMSNAP_RESTART" SET "MAX_COMMITSEQ" = $1`, [early]);
      const s = await task.waitFor((st) => st.state === 'failed', 20_000);
      expect(s.lastError).toMatchObject({ code: 'DB2_CAPTURE_BEHIND' });
      expect(s.lastError?.message).toMatch(/went back in its log/);
    } finally {
      capture.resume();
      await capture.caughtUp();
      await runtime.remove(task.id);
    }
  }, 60_000);

  it('fails with LostHistoryError when Capture pruned, by its retention limit, changes the stopped task had not read', async () => {
    const topic = uniqueName('db2gap');
    topics.push(topic);
    await createTopic(topic, 1);
    const name = uniqueName('db2-gap').replace(/_/g, '-');
    let task = runtime.add(config(name, topic, 'OPS'));
    task.start();
    await task.waitFor((s) => s.state === 'incremental', 30_000);
    await client.query(`INSERT INTO "OPS"."GONE" VALUES (1, 'read')`);
    await readTopic(topic, 1, { timeoutMs: 20_000 });
    await task.waitFor((s) => s.position !== null && s.counters.events >= 1, 10_000);
    await runtime.remove(name);

    // While the task is stopped: a change twelve hours later, then one eight days later; Capture
    // prunes what is older than RETENTION_LIMIT (7 days by its clock): the first one is gone.
    capture.clockOffsetMs = 12 * 3600_000;
    await client.query(`INSERT INTO "OPS"."GONE" VALUES (2, 'pruned before the task read it')`);
    await capture.caughtUp();
    capture.clockOffsetMs = 8 * 24 * 3600_000;
    await client.query(`INSERT INTO "OPS"."GONE" VALUES (3, 'still there')`);
    await capture.caughtUp();
    await capture.pruneOlderThan(10_080);
    expect((await client.query(`SELECT 1 FROM "OPS"."CDGONE" WHERE "ID" = 2`)).rowCount).toBe(0);

    task = runtime.add(config(name, topic, 'OPS'));
    task.start();
    const s = await task.waitFor((st) => st.state === 'failed', 30_000);
    expect(s.lastError?.code).toBe('LOST_HISTORY');
    expect(s.lastError?.message).toMatch(/RETENTION_LIMIT \(10080 minutes\)/);
    expect(s.lastError?.message).toContain('OPS.CDGONE holds nothing at or before it');
    expect(s.lastError?.fix).toMatch(/full synchronization/);
    capture.clockOffsetMs = 0;
  }, 60_000);
});
