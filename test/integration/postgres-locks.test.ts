import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, pgConfig, uniqueName, withPg } from './support.js';

/**
 * The task's initialization sets REPLICA IDENTITY FULL, which needs an ACCESS EXCLUSIVE lock. A
 * long transaction holding the table must not make that request wait (and block every reader of
 * the user's table behind it) for ever: it gives up after a short lock timeout and retries.
 */
describe('PostgreSQL: a table locked by a long transaction during initialization', () => {
  let db: { database: string; drop: () => Promise<void> };
  let dir: string;
  let runtime: Runtime | undefined;
  const topic = uniqueName('locks');

  beforeAll(async () => {
    db = await createTestDatabase('locks');
    dir = await mkdtemp(join(tmpdir(), 'trib-locks-'));
    await createTopic(topic, 1);
    await withPg(db.database, (c) => c.query("CREATE TABLE public.busy (id int PRIMARY KEY, v text); INSERT INTO public.busy VALUES (1, 'a')"));
  });

  afterAll(async () => {
    await runtime?.shutdown().catch(() => undefined);
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('the lock request gives up with LOCK_TIMEOUT (never queueing for ever), readers keep reading, and the task proceeds once the lock is free', async () => {
    const holder = new pg.Client(pgConfig(db.database));
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM public.busy'); // ACCESS SHARE held until COMMIT
    try {
      runtime = createRuntime({ confirmIntervalMs: 200 });
      const task = runtime.add({
        name: topic.replace(/_/g, '-'),
        source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
        destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
        objects: [{ schema: 'public', table: 'busy' }],
        checkpoints: { store: 'file', dir },
      });
      task.start();
      await task.waitFor((s) => s.state.startsWith('retrying'), 60_000);
      expect(task.status.lastError).toMatchObject({ code: 'LOCK_TIMEOUT', kind: 'other' });
      expect(task.status.lastError?.message).toContain('public.busy');
      // Between attempts nothing of the task waits for the lock: a reader is served at once.
      const reader = new pg.Client(pgConfig(db.database));
      await reader.connect();
      try {
        await reader.query("SET statement_timeout = '1500ms'");
        const waiting = async () => (await reader.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'busy' AND NOT l.granted")).rows[0]?.n;
        // sample until a moment with no queued request (attempts wait at most 2 s, then back off)
        let queued = await waiting();
        for (let i = 0; i < 20 && queued !== '0'; i++) {
          await new Promise((r) => setTimeout(r, 250));
          queued = await waiting();
        }
        expect(queued).toBe('0');
      } finally {
        await reader.end();
      }
    } finally {
      await holder.query('COMMIT').catch(() => undefined);
      await holder.end();
    }
    const task = runtime.list()[0];
    await task?.waitFor((s) => s.state === 'incremental', 90_000);
    expect(await withPg(db.database, async (c) => (await c.query<{ r: string }>("SELECT relreplident::text AS r FROM pg_class WHERE relname = 'busy'")).rows[0]?.r)).toBe('f');
  }, 180_000);
});
