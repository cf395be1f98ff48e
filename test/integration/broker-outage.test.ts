import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCodecs } from '../../src/codecs/index.js';
import { serveHttp, type HttpApi } from '../../src/http/server.js';
import { createRuntime, type Runtime, type TaskRunner } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, deliveredCanalIds, uniqueName, withPg } from './support.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A private broker, so stopping it disturbs no other test. */
const PORT = 19192;
const BROKERS = [`127.0.0.1:${PORT}`];
const ENV = { ...process.env, TRIBUTARY_KAFKA_INSTANCE: 'outage', TRIBUTARY_KAFKA_PORT: String(PORT) };
const broker = (verb: 'up' | 'down') => run('bash', ['scripts/kafka.sh', verb], { cwd: ROOT, env: ENV, timeout: 120_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function client(): Kafka {
  registerCodecs();
  return new Kafka({ clientId: 'outage-test', brokers: BROKERS, logLevel: logLevel.NOTHING });
}

describe('PostgreSQL → Kafka: the broker stopped during incremental sync', () => {
  let db: { database: string; drop: () => Promise<void> };
  let dir: string;
  let runtime: Runtime | undefined;
  let api: HttpApi | undefined;

  const metric = async (name: string): Promise<number | null> => {
    const text = await (await fetch(`http://127.0.0.1:${api?.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : null;
  };
  const ready = async () => (await fetch(`http://127.0.0.1:${api?.port}/readyz`)).status;
  const taskConfig = (name: string, topic: string) => ({
    name,
    source: { type: 'postgres' as const, host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
    destination: { kafka: { brokers: BROKERS, topic, format: 'canal-json' as const, createTopics: true } },
    objects: [{ schema: 'public', table: 'items' }],
    checkpoints: { store: 'file' as const, dir },
  });
  async function insert(from: number, to: number): Promise<void> {
    await withPg(db.database, (c) => c.query(`INSERT INTO public.items SELECT g, 'v' || g FROM generate_series($1::int, $2::int) g`, [from, to]));
  }

  beforeAll(async () => {
    await broker('up');
    db = await createTestDatabase('outage');
    dir = await mkdtemp(join(tmpdir(), 'trib-outage-'));
    await withPg(db.database, (c) => c.query('CREATE TABLE public.items (id int PRIMARY KEY, v text)'));
    await insert(1, 100);
  }, 180_000);

  afterAll(async () => {
    await api?.close();
    await runtime?.shutdown().catch(() => undefined);
    await broker('up').catch(() => undefined);
    await db?.drop();
    await broker('down').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 180_000);

  it('latency rises past the outage and /readyz answers 503; both recover and nothing is lost', async () => {
    // A 100-event in-flight window: the 300 inserts made during the outage overfill it, so a window
    // that kept the failed writes would stall the task for good after the broker came back.
    runtime = createRuntime({ confirmIntervalMs: 200, inflight: { maxEvents: 100 } });
    api = await serveHttp(runtime, { port: 0 });
    const topic = uniqueName('outage');
    const task = runtime.add(taskConfig(topic.replace(/_/g, '-'), topic));
    task.start();
    await task.waitFor((s) => s.state === 'incremental' && s.healthy, 90_000);
    await insert(101, 200);
    await task.waitFor((s) => s.counters.events >= 200, 30_000);
    expect(await ready()).toBe(200);

    await broker('down');
    const stoppedAt = Date.now();
    await insert(201, 500); // 300 inserts while the broker is down
    let maxLatency = 0;
    let saw503 = false;
    while (Date.now() - stoppedAt < 35_000) {
      maxLatency = Math.max(maxLatency, (await metric('tributary_latency_seconds')) ?? 0);
      if ((await ready()) === 503) saw503 = true;
      await sleep(1000);
    }
    expect(saw503, `state during the outage: ${task.status.state}`).toBe(true);
    expect(maxLatency).toBeGreaterThan(30);
    expect(task.status.healthy).toBe(false);

    await broker('up');
    await task.waitFor((s) => s.healthy && s.state === 'incremental' && (s.latencyMs ?? Infinity) < 5000, 120_000);
    expect(await ready()).toBe(200);
    expect((await metric('tributary_latency_seconds')) ?? Infinity).toBeLessThan(5);
    const want = Array.from({ length: 500 }, (_, i) => String(i + 1));
    const ids = await deliveredCanalIds(topic, want, 60_000, client());
    const missing = want.filter((id) => !ids.has(id));
    expect(missing).toEqual([]);
  }, 300_000);

  it('a broker down for longer than the retry window fails the task (the window is not renewed by restarts)', async () => {
    await runtime?.shutdown();
    await api?.close();
    runtime = createRuntime({ confirmIntervalMs: 200, retryWindowsMs: { connection: 20_000, other: 10_000 } });
    api = undefined;
    const topic = uniqueName('window');
    const task: TaskRunner = runtime.add(taskConfig(topic.replace(/_/g, '-'), topic));
    task.start();
    await task.waitFor((s) => (s.state === 'incremental' && s.healthy) || s.state === 'precheckFailed', 90_000);
    expect(task.status.state).toBe('incremental');
    await broker('down');
    const stoppedAt = Date.now();
    await insert(501, 510);
    const states = new Set<string>();
    const sub = task.status$.subscribe((s) => states.add(s.state));
    try {
      await task.waitFor((s) => s.state === 'failed', 120_000);
    } finally {
      sub.unsubscribe();
    }
    const after = Date.now() - stoppedAt;
    expect(after).toBeGreaterThan(20_000);
    expect([...states].some((s) => s.startsWith('retrying'))).toBe(true);
    expect(task.status.lastError?.kind).toBe('connection');
  }, 300_000);
  it('during full sync: readers of a failed attempt do not linger across retries, the user\'s table stays readable, and the copy completes once the broker is back', async () => {
    await runtime?.shutdown();
    await api?.close();
    api = undefined;
    await broker('up'); // the test before leaves it stopped
    await withPg(db.database, (c) => c.query("CREATE TABLE public.big (id int PRIMARY KEY, v text); INSERT INTO public.big SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g; ANALYZE public.big"));
    runtime = createRuntime({ confirmIntervalMs: 200, inflight: { maxEvents: 500 } });
    const topic = uniqueName('fullout');
    const task = runtime.add({
      ...taskConfig(topic.replace(/_/g, '-'), topic),
      objects: [{ schema: 'public', table: 'big' }],
      fullSync: { parallelism: 2, chunkRows: 4000 },
      throttle: { full: { rps: 3000 } },
    });
    task.start();
    await task.waitFor((s) => s.state === 'full' && s.counters.snapshotRows > 1000, 90_000);
    await broker('down');
    // Several attempts fail in turn (backoff 1, 2, 4 s ...): each leaves nothing behind.
    await task.waitFor((s) => (s.retry?.attempts ?? 0) >= 3, 120_000);
    const readers = await withPg(db.database, async (c) =>
      Number((await c.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND state LIKE 'idle in transaction%' AND query LIKE 'FETCH%'")).rows[0]?.n),
    );
    expect(readers).toBeLessThanOrEqual(2); // at most the current attempt's (parallelism 2), never an earlier one's
    // The user's table is never blocked by the task's initialization queued behind them.
    await withPg(db.database, async (c) => {
      await c.query("SET statement_timeout = '3s'");
      expect((await c.query<{ n: string }>('SELECT count(*)::text AS n FROM public.big')).rows[0]?.n).toBe('20000');
    });
    await broker('up');
    await task.waitFor((s) => s.state === 'incremental', 180_000);
    const want = Array.from({ length: 20000 }, (_, i) => String(i + 1));
    const ids = await deliveredCanalIds(topic, want, 90_000, client());
    expect(want.filter((id) => !ids.has(id))).toEqual([]);
  }, 400_000);
});
