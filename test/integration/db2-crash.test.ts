/**
 * Db2 (emulated SQL Replication) → Kafka: the runtime is SIGKILLed while it has delivered part of
 * one large commit (its checkpoint names a change inside the commit), then started again: the rest
 * of the commit arrives, nothing is lost (at least once), and the final state equals the source.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db2Position } from '../../src/sources/db2/position.js';
import { Db2TaskProcess } from '../fixtures/db2/child.js';
import { ScriptedCapture, defineTable, installEmulatedServer, type EmulatedColumn } from '../fixtures/db2/emulation.js';
import { diffRows, expectedRows } from '../fixtures/db2/verify.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, pgConfig, uniqueName } from './support.js';
import { readTopicByPartition, rebuildFromCanal, type CanalMessage } from './verify-topic.js';

const A: EmulatedColumn[] = [
  { name: 'ID', db2: 'BIGINT' },
  { name: 'V', db2: 'VARCHAR(40)' },
];

describe('Db2 (emulated) → Kafka: SIGKILL in the middle of a commit, then restart', () => {
  let db: { database: string; drop: () => Promise<void> };
  let capture: ScriptedCapture;
  let dir: string;
  let client: pg.Client;
  const children: Db2TaskProcess[] = [];
  const topic = uniqueName('db2crash');
  const ROWS = 3000;

  beforeAll(async () => {
    db = await createTestDatabase('db2crash');
    dir = await mkdtemp(join(tmpdir(), 'trib-db2crash-'));
    await createTopic(topic, 2);
    client = new pg.Client(pgConfig(db.database));
    await client.connect();
    await installEmulatedServer(client);
    await defineTable(client, 'DB2INST1', 'A', A, ['ID']);
    await defineTable(client, 'DB2INST1', 'B', A, ['ID']);
    capture = new ScriptedCapture(pgConfig(db.database), { intervalMs: 100 });
    await capture.start();
    await capture.registerAndActivate('DB2INST1', 'A', { prefix: 'X' });
    await capture.registerAndActivate('DB2INST1', 'B', { updatesAsDeleteInsert: true });
  }, 120_000);

  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await capture?.stop();
    await client?.end().catch(() => undefined);
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('resumes inside the partly delivered commit and loses no change', async () => {
    const config = {
      name: uniqueName('db2-crash').replace(/_/g, '-'),
      source: { type: 'db2', host: servers.postgres.host, user: 'postgres', password: 'emulated', database: db.database, heartbeat: { enabled: false } },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', partitionPolicy: 'keyHash' } },
      objects: [{ schema: 'DB2INST1' }],
      syncTypes: { full: false, incremental: true },
      checkpoints: { store: 'file', dir },
    };
    const server = { ...servers.postgres, database: db.database };
    // Small pages and batches: the commit is delivered over many batches and checkpoints.
    const env = { TRIBUTARY_DB2_PAGE_ROWS: '40', TRIBUTARY_BATCH_EVENTS: '40', TRIBUTARY_CONFIRM_MS: '50' };
    const first = new Db2TaskProcess(config, server, env);
    children.push(first);
    await first.waitFor((l) => l.state === 'incremental', 40_000);

    // One commit: rows of A and B interleaved, then updates of B (stored as delete + insert pairs).
    await client.query('BEGIN');
    for (let i = 1; i <= ROWS / 2; i++) {
      await client.query('INSERT INTO "DB2INST1"."A" VALUES ($1, $2)', [i, `a${i}`]);
      await client.query('INSERT INTO "DB2INST1"."B" VALUES ($1, $2)', [i, `b${i}`]);
    }
    await client.query(`UPDATE "DB2INST1"."B" SET "V" = "V" || '!' WHERE "ID" % 7 = 0`);
    await client.query('COMMIT');
    // Kill once the checkpoint names a change inside a commit (the only commit in flight is that one).
    const inside = await first.waitFor((l) => l.position !== null && Db2Position.decode(l.position).intent !== null, 40_000);
    await first.kill('SIGKILL');
    const commitHex = (await client.query<{ c: string }>(`SELECT encode("IBMSNAP_COMMITSEQ", 'hex') AS c FROM "DB2INST1"."CDA" ORDER BY "IBMSNAP_COMMITSEQ" DESC LIMIT 1`)).rows[0]?.c ?? '';
    expect(Db2Position.decode(inside.position ?? '').commit.toString('hex')).toBe(commitHex);
    expect(inside.events).toBeLessThan(ROWS + 200);

    const second = new Db2TaskProcess(config, server, env);
    children.push(second);
    await second.waitFor((l) => l.state === 'incremental', 40_000);

    const wantA = await expectedRows(pgConfig(db.database), 'DB2INST1', 'A', A, ['ID']);
    const wantB = await expectedRows(pgConfig(db.database), 'DB2INST1', 'B', A, ['ID']);
    let problems: string[] = ['not read'];
    let inserted = new Set<string>();
    const end = Date.now() + 30_000;
    while (problems.length > 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 1000));
      const parts = await readTopicByPartition(topic, { idleMs: 500 });
      inserted = new Set();
      for (const recs of parts.values()) {
        for (const r of recs) {
          const m = JSON.parse(r.value?.toString() ?? 'null') as CanalMessage;
          if (m.type === 'INSERT') for (const d of m.data ?? []) inserted.add(`${m.table}:${d.ID}`);
        }
      }
      const rebuilt = rebuildFromCanal(parts);
      const table = (t: string) => {
        const e = [...rebuilt.tables].find(([n]) => n.endsWith(`.${t}`));
        return e ? new Map([...e[1]].map(([k, v]) => [k, v.row])) : undefined;
      };
      problems = [...rebuilt.problems, ...diffRows('A', table('A'), wantA), ...diffRows('B', table('B'), wantB)];
    }
    expect(problems.slice(0, 20)).toEqual([]);
    expect(inserted.size).toBe(ROWS);
  }, 60_000);
});
