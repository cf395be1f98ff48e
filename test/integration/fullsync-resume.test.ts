import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from './support.js';
import { expectTopicMatchesSource } from './verify-topic.js';
import { TaskProcess } from './taskProcess.js';

/**
 * The full-sync resume case of the end-to-end check: a copy interrupted by SIGKILL after its first
 * chunk was checkpointed, a mass DELETE and VACUUM ANALYZE while the task is down (statistics now
 * plan other page ranges), then a restart. Every row the source still has must arrive.
 */
describe('PostgreSQL → Kafka: full sync resumed after a crash covers exactly the first plan', () => {
  let db: { database: string; drop: () => Promise<void> };
  let dir: string;
  const children: TaskProcess[] = [];
  const topic = uniqueName('resume');

  beforeAll(async () => {
    db = await createTestDatabase('resume');
    dir = await mkdtemp(join(tmpdir(), 'trib-resume-'));
    await createTopic(topic, 3);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.items (id bigint PRIMARY KEY, v text NOT NULL)');
      await c.query(`INSERT INTO public.items SELECT g, 'row ' || g FROM generate_series(1, 20000) g`);
      await c.query('ANALYZE public.items');
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('every row of the source arrives after SIGKILL, mass delete, VACUUM ANALYZE and restart', async () => {
    const name = uniqueName('resume').replace(/_/g, '-');
    const base = {
      name,
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json', partitionPolicy: 'keyHash' } },
      objects: [{ schema: 'public', table: 'items' }],
      checkpoints: { store: 'file', dir },
      fullSync: { parallelism: 1, chunkRows: 3000 },
    };
    const config = { ...base, throttle: { full: { rps: 500 } } };
    const file = join(dir, `${encodeURIComponent(name)}.json`);
    const first = new TaskProcess(config);
    children.push(first);
    await first.waitForState('full', 90_000);
    // SIGKILL right after the checkpoint shows the first chunk copied.
    let checkpoint: { chunksDone?: Record<string, number>; plan?: unknown[] } = {};
    const end = Date.now() + 60_000;
    while (Object.keys(checkpoint.chunksDone ?? {}).length === 0) {
      if (Date.now() > end) throw new Error(`no chunk checkpointed; child: ${JSON.stringify(first.lines)} ${first.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
      checkpoint = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as typeof checkpoint;
    }
    await first.kill('SIGKILL');
    expect(first.proc.signalCode).toBe('SIGKILL');
    const done = Object.keys(checkpoint.chunksDone ?? {});
    expect(done.length).toBeLessThan(7); // the copy was interrupted, not finished

    // While the task is down: every other row deleted, statistics refreshed (autovacuum would do it).
    await withPg(db.database, async (c) => {
      await c.query('DELETE FROM public.items WHERE id % 2 = 0');
      await c.query('VACUUM ANALYZE public.items');
    });

    const second = new TaskProcess(base); // the rest of the copy unthrottled
    children.push(second);
    await second.waitForState('incremental', 120_000);

    expect(await withPg(db.database, async (c) => (await c.query<{ n: string }>('SELECT count(*)::text AS n FROM public.items')).rows[0]?.n)).toBe('10000');
    // The table rebuilt from the topic one partition at a time equals the source, row by row.
    const report = await expectTopicMatchesSource({ topic, database: db.database, tables: ['public.items'], timeoutMs: 60_000 });
    expect(report.counts.get('public.items')).toEqual({ source: 10_000, kafka: 10_000 });
    expect(done.length).toBeGreaterThan(0);
    await second.kill('SIGTERM');
  }, 300_000);
});
