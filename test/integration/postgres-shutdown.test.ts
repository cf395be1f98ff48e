import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { createTopic, deleteTopics, deliveredCanalIds, uniqueName } from './support.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A private cluster: stopping it disturbs no other test. */
const PORT = 15532;
const HOME = '/var/lib/postgresql/tributary-shutdown-test';
const ENV = { ...process.env, TRIBUTARY_PG_PORT: String(PORT), TRIBUTARY_PG_HOME: HOME };
const cluster = (verb: 'up' | 'down') => run('bash', ['scripts/postgres.sh', verb], { cwd: ROOT, env: ENV, timeout: 120_000 });
const PGBIN = '/usr/lib/postgresql/15/bin';

async function sql(text: string, params: unknown[] = [], database = 'postgres'): Promise<pg.QueryResult> {
  const c = new pg.Client({ host: '127.0.0.1', port: PORT, user: 'postgres', database });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

describe('PostgreSQL stops (pg_ctl -m fast) while a task streams from it', () => {
  let runtime: Runtime | undefined;
  let dir: string;
  const topic = uniqueName('pgstop');
  const database = uniqueName('pgstop');

  beforeAll(async () => {
    await cluster('up');
    await sql(`CREATE DATABASE ${database}`);
    await sql('CREATE TABLE public.items (id int PRIMARY KEY, v text)', [], database);
    await sql("INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(1, 20) g", [], database);
    await createTopic(topic, 1);
    dir = await mkdtemp(join(tmpdir(), 'trib-pgstop-'));
  }, 180_000);

  afterAll(async () => {
    await runtime?.shutdown().catch(() => undefined);
    await cluster('up').catch(() => undefined);
    await sql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await sql(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1`, [database]).catch(() => undefined);
    await cluster('down').catch(() => undefined);
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 180_000);

  it('the server shuts down promptly; the task retries and resumes with nothing lost once it is back', async () => {
    runtime = createRuntime({ confirmIntervalMs: 200 });
    const task = runtime.add({
      name: database.replace(/_/g, '-'),
      source: { type: 'postgres', host: '127.0.0.1', port: PORT, user: 'postgres', database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'items' }],
      checkpoints: { store: 'file', dir },
    });
    task.start();
    await task.waitFor((s) => s.state === 'incremental' && s.healthy, 90_000);
    await sql("INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(21, 40) g", [], database);
    await task.waitFor((s) => s.counters.events >= 40, 30_000);

    // The walsender of a stopping server waits until the client reported everything it sent.
    const started = Date.now();
    let stopError: unknown = null;
    await run('runuser', ['-u', 'postgres', '--', `${PGBIN}/pg_ctl`, '-D', `${HOME}/data`, '-m', 'fast', '-w', '-t', '30', 'stop'], { timeout: 60_000 }).catch((e: unknown) => (stopError = e));
    const stopMs = Date.now() - started;
    expect(stopError, `pg_ctl stop -m fast did not finish within 30 s while the task was connected`).toBeNull();
    expect(stopMs).toBeLessThan(20_000);

    await task.waitFor((s) => s.state.startsWith('retrying'), 30_000);
    await cluster('up');
    await sql("INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(41, 60) g", [], database);
    await task.waitFor((s) => s.state === 'incremental' && s.healthy, 120_000);
    const want = [...Array(60).keys()].map((i) => String(i + 1));
    const ids = await deliveredCanalIds(topic, want, 60_000);
    expect(want.filter((id) => !ids.has(id))).toEqual([]);
  }, 300_000);
  it('during full sync: the server stops under the copy (its backends terminated) without ending the process; the copy completes after the restart', async () => {
    await runtime?.shutdown();
    await sql("CREATE TABLE public.big (id int PRIMARY KEY, v text); INSERT INTO public.big SELECT g, repeat('y', 50) FROM generate_series(1, 20000) g; ANALYZE public.big", [], database);
    const topic2 = uniqueName('pgstop_full');
    await createTopic(topic2, 1);
    runtime = createRuntime({ confirmIntervalMs: 200 });
    const task = runtime.add({
      name: topic2.replace(/_/g, '-'),
      source: { type: 'postgres', host: '127.0.0.1', port: PORT, user: 'postgres', database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic: topic2, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'big' }],
      checkpoints: { store: 'file', dir },
      fullSync: { parallelism: 2, chunkRows: 5000 },
      throttle: { full: { rps: 2000 } },
    });
    task.start();
    await task.waitFor((s) => s.state === 'full' && s.counters.snapshotRows > 1000, 90_000);
    await run('runuser', ['-u', 'postgres', '--', `${PGBIN}/pg_ctl`, '-D', `${HOME}/data`, '-m', 'fast', '-w', '-t', '30', 'stop'], { timeout: 60_000 });
    await task.waitFor((s) => s.state.startsWith('retrying'), 60_000);
    await cluster('up');
    await task.waitFor((s) => s.state === 'incremental', 180_000);
    const want = Array.from({ length: 20000 }, (_, i) => String(i + 1));
    const ids = await deliveredCanalIds(topic2, want, 90_000);
    expect(want.filter((id) => !ids.has(id))).toEqual([]);
    await deleteTopics(topic2).catch(() => undefined);
  }, 400_000);
});
