import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from './support.js';
import { describeReport, readTopicByPartition, verifyTopic, type CanalMessage, type PartitionedTopic } from './verify-topic.js';

/**
 * Issue 13: updates that change a row's primary key, under partitionPolicy keyHash, read back by a
 * consumer that applies each partition on its own. Every key's history has to stay on its own
 * partition, so the rebuilt table equals the source (no ghost rows under the old keys).
 */
describe('PostgreSQL → Kafka (Canal JSON, keyHash): primary keys that change', () => {
  let db: { database: string; drop: () => Promise<void> };
  let runtime: Runtime;
  let dir: string;
  const topic = uniqueName('pgkey');
  const partitions = 6;
  let topicRead: PartitionedTopic;

  beforeAll(async () => {
    db = await createTestDatabase('pgkey');
    dir = await mkdtemp(join(tmpdir(), 'trib-ckpt-'));
    await createTopic(topic, partitions);
    await withPg(db.database, async (c) => {
      await c.query(`CREATE TABLE public.accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric(12,2), version int NOT NULL DEFAULT 0)`);
      await c.query(`CREATE TABLE public.lines (order_id int, line int, sku text, qty int, PRIMARY KEY (order_id, line))`);
      await c.query(`INSERT INTO public.accounts (id, owner, balance) SELECT g, 'o' || g, g * 1.5 FROM generate_series(1, 300) g`);
      await c.query(`INSERT INTO public.lines SELECT g / 4 + 1, g % 4 + 1, 'sku-' || g, g % 7 FROM generate_series(0, 199) g`);
    });
    runtime = createRuntime({ confirmIntervalMs: 200 });
  }, 120_000);

  afterAll(async () => {
    await runtime?.shutdown();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('rebuilds every table from partitions read one at a time, equal to the source', async () => {
    const task = runtime.add({
      name: uniqueName('t').replace(/_/g, '-'),
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', partitionPolicy: 'keyHash' } },
      objects: [{ schema: 'public', table: 'accounts' }, { schema: 'public', table: 'lines' }],
      checkpoints: { store: 'file', dir },
      fullSync: { chunkRows: 100, parallelism: 2 },
    });
    task.start();
    await task.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 90_000);
    expect(task.status.lastError).toBeNull();
    expect(task.status.state).toBe('incremental');
    const eventsBefore = task.status.counters.events;

    // Row changes made, so the test knows when the destination acknowledged all of them.
    const changes = await withPg(db.database, async (c) => {
      let n = 0;
      const q = async (sql: string, params: unknown[] = []) => {
        n += (await c.query(sql, params)).rowCount ?? 0;
      };
      const tx = async (fn: () => Promise<void>) => {
        await c.query('BEGIN');
        await fn();
        await c.query('COMMIT');
      };
      // 1 → 1001, with other rows' updates around it and the moved row updated again under its new key.
      for (let i = 1; i <= 40; i++) {
        await tx(async () => {
          await q('UPDATE public.accounts SET balance = balance + 1 WHERE id = $1', [50 + ((i * 7) % 140)]);
          await q('UPDATE public.accounts SET id = $1, version = version + 1 WHERE id = $2', [i + 1000, i]);
          await q('UPDATE public.accounts SET version = version + 1 WHERE id = $1', [i + 1000]);
        });
      }
      // 1001 → 10001; some old keys are used again by new rows, some rows move back, some are deleted.
      for (let i = 1; i <= 40; i++) {
        await tx(async () => {
          await q('UPDATE public.accounts SET id = $1 WHERE id = $2', [i + 10000, i + 1000]);
          if (i % 3 === 0) await q(`INSERT INTO public.accounts (id, owner, balance) VALUES ($1, 'reused', 0)`, [i]);
          else if (i % 4 === 0) await q('UPDATE public.accounts SET id = $1, owner = owner || $3 WHERE id = $2', [i, i + 10000, '-back']);
          if (i % 5 === 0) await q('DELETE FROM public.accounts WHERE id = $1', [i + 10000]);
          await q('UPDATE public.accounts SET balance = balance - 1 WHERE id = $1', [60 + i]);
        });
      }
      // Many keys in one statement, then those rows' histories go on under the new keys.
      await q('UPDATE public.accounts SET id = id + 100000 WHERE id BETWEEN 200 AND 220');
      await q('UPDATE public.accounts SET balance = balance * 2 WHERE id > 100000');
      // Two rows swap keys through a third key, in one transaction.
      await tx(async () => {
        await q('UPDATE public.accounts SET id = -1 WHERE id = 250');
        await q('UPDATE public.accounts SET id = 250 WHERE id = 251');
        await q('UPDATE public.accounts SET id = 251 WHERE id = -1');
      });
      // Composite keys: one key column changes, or the other; then plain updates of moved rows.
      await q('UPDATE public.lines SET line = line + 10 WHERE order_id BETWEEN 1 AND 10');
      await q('UPDATE public.lines SET order_id = order_id + 500 WHERE order_id BETWEEN 11 AND 15 AND line = 2');
      await q('UPDATE public.lines SET qty = qty + 1 WHERE order_id <= 20 OR order_id > 500');
      return n;
    });
    expect(changes).toBeGreaterThan(300);

    await task.waitFor((s) => s.counters.events - eventsBefore >= changes || s.state === 'failed', 60_000);
    expect(task.status.lastError).toBeNull();

    const report = await verifyTopic({ topic, database: db.database, tables: ['public.accounts', 'public.lines'], strict: true });
    expect(report.ok, describeReport(topic, report)).toBe(true);
    // 300 copied, 13 old keys used again, 6 deleted (i = 20 and 40 had moved back to their old key).
    expect(report.counts.get('public.accounts')?.source).toBe(300 + 13 - 6);
    // Rows spread over every partition: the check had partitions to get wrong.
    expect([...report.perPartition.values()].filter((n) => n > 0)).toHaveLength(partitions);
    topicRead = await readTopicByPartition(topic);
  }, 240_000);

  it('writes a key change as a DELETE under the old key on its partition, then an INSERT under the new key on its own', () => {
    const all = [...topicRead.values()].flat().map((r) => ({ r, m: JSON.parse(r.value?.toString() ?? 'null') as CanalMessage }));
    // No UPDATE carries a changed key column in `old`.
    const keyUpdates = all.filter(({ m }) => m.type === 'UPDATE' && (m.pkNames ?? []).some((k) => m.old?.[0]?.[k] !== undefined));
    expect(keyUpdates.map(({ r }) => r.key)).toEqual([]);

    const of = (table: string, key: string) => all.filter(({ r, m }) => m.table === table && r.key === key);
    const p = (key: string) => of('accounts', key).map(({ r, m }) => `${m.type}@${r.partition}`);
    // Key 1: copied, ended by the key change, and used again later by a row moved back (i = 1 is
    // neither reused nor moved back, so key 1 ends); key 1001 begins and ends; 10001 begins.
    const p1 = of('accounts', '["1"]')[0]!.r.partition;
    const p1001 = of('accounts', '["1001"]')[0]!.r.partition;
    expect(p('["1"]')).toEqual([`INSERT@${p1}`, `DELETE@${p1}`]);
    expect(p('["1001"]')).toEqual([`INSERT@${p1001}`, `UPDATE@${p1001}`, `DELETE@${p1001}`]);
    expect(p('["10001"]')).toEqual([expect.stringMatching(/^INSERT@/)]);
    // Key 4 moves away and back: its history stays on one partition, in order.
    expect(new Set(of('accounts', '["4"]').map(({ r }) => r.partition)).size).toBe(1);
    expect(of('accounts', '["4"]').map(({ m }) => m.type)).toEqual(['INSERT', 'DELETE', 'INSERT']);

    // The halves say which key they came from or went to, and carry the old and new images.
    const del = of('accounts', '["1"]')[1]!;
    const ins = of('accounts', '["1001"]')[0]!;
    expect(del.r.headers).toEqual({ 'tributary.newKey': '["1001"]' });
    expect(ins.r.headers).toEqual({ 'tributary.oldKey': '["1"]' });
    expect(del.m.data).toEqual([{ id: '1', owner: 'o1', balance: '1.50', version: '0' }]);
    expect(ins.m.data).toEqual([{ id: '1001', owner: 'o1', balance: '1.50', version: '1' }]);
    expect(del.m.es).toBe(ins.m.es);
  });
});
