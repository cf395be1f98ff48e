import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { serveHttp, type HttpApi } from '../../src/http/server.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from './support.js';

/** One sample of a text exposition: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = l[2] ?? '';
    out.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * `/metrics` of a real PostgreSQL → Kafka task (full, then incremental), as Prometheus reads it:
 * `promtool check metrics` (Debian's prometheus package) finds nothing to say, and every family the
 * README lists is there with its `task` (and `table`) labels.
 */
describe('management HTTP API: Prometheus metrics', () => {
  let runtime: Runtime;
  let api: HttpApi;
  let base: string;
  let dir: string;
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('httpmetrics');
  const token = `m-${uniqueName('token')}`;
  const task = 'http-metrics';
  const inflight = { maxEvents: 4000, maxBytes: 3 * 1024 * 1024 };

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  const status = async () => JSON.parse((await get(`/tasks/${task}`)).text) as { state: string; counters: { events: number }; progress: { rowsDone: number; tables?: Record<string, { rowsDone: number }> } };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-httpmetrics-'));
    db = await createTestDatabase('httpmetrics');
    await createTopic(topic);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.items (id int PRIMARY KEY, v text)');
      await c.query('CREATE TABLE public.orders (id int PRIMARY KEY, v text)');
      await c.query("INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(1, 300) g");
      await c.query("INSERT INTO public.orders SELECT g, 'o' || g FROM generate_series(1, 200) g");
    });
    runtime = createRuntime({ confirmIntervalMs: 200, inflight });
    api = await serveHttp(runtime, { port: 0, token, dataDir: dir });
    base = `http://127.0.0.1:${api.port}`;
    const created = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: task,
        environment: 'staging',
        labels: { team: 'data "core"', 'cost-center': '42' },
        source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: db.database },
        destination: { kafka: { brokers: servers.kafka.brokers, topic, format: 'canal-json' } },
        objects: [{ schema: 'public', table: 'items' }, { schema: 'public', table: 'orders' }],
        checkpoints: { store: 'file', dir },
      }),
    });
    expect(created.status).toBe(201);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await status()).state !== 'incremental') await new Promise((r) => setTimeout(r, 200));
    expect((await status()).state).toBe('incremental');
    await withPg(db.database, (c) => c.query("INSERT INTO public.items SELECT g, 'new' FROM generate_series(301, 310) g"));
    const end = Date.now() + 30_000;
    while (Date.now() < end && (await status()).counters.events < 510) await new Promise((r) => setTimeout(r, 200));
    expect((await status()).counters.events).toBe(510);
  }, 120_000);

  afterAll(async () => {
    await runtime?.shutdown();
    await api?.close();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('passes promtool check metrics on the real /metrics of a running task', async () => {
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    if (promtool.error) throw new Error(`promtool (Debian package 'prometheus') is needed: ${promtool.error.message}`);
    expect({ status: promtool.status, out: `${promtool.stdout}${promtool.stderr}`.trim() }).toEqual({ status: 0, out: '' });
    // Without the token: 401, no metrics.
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
  });

  it('has the process metrics, the task counters, the latency histogram, in-flight capacity and full-sync rows per table', async () => {
    const text = (await get('/metrics')).text;
    const all = samples(text);
    // Tables are named database.schema.table.
    const one = (name: string, labels: Record<string, string> = {}) => {
      const matches = (k: string, v: string, actual: string | undefined) => (k === 'table' ? actual?.endsWith(`.${v}`) === true : actual === v);
      const found = all.filter((s) => s.name === name && Object.entries({ task, ...labels }).every(([k, v]) => matches(k, v, s.labels[k])));
      expect({ name, labels, found: found.length }).toEqual({ name, labels, found: 1 });
      return found[0]?.value ?? NaN;
    };
    // Process metrics (prom-client's defaults).
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(all.some((s) => s.name === name)).toBe(true);
    }
    // environment and labels as metric labels, on the info metric
    expect(text).toContain(`tributary_task_info{task="${task}",environment="staging",label_cost_center="42",label_team="data \\"core\\""} 1`);
    // The sink's report of the kafkajs fast path (0 or 1 for the task: the test process may have loaded kafkajs first).
    expect([0, 1]).toContain(one('tributary_sink_kafka_fast_path'));
    // Counters end in _total; every tributary family has HELP and TYPE.
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      if (m[2] === 'counter') expect(m[1]).toMatch(/_total$/);
      if ((m[1] ?? '').startsWith('tributary_')) expect(text).toContain(`# HELP ${m[1]} `);
    }

    expect(one('tributary_events_total')).toBe(510);
    expect(one('tributary_snapshot_rows_total')).toBe(500);
    expect(one('tributary_table_events_total', { table: 'public.items' })).toBe(310);
    expect(one('tributary_table_events_total', { table: 'public.orders' })).toBe(200);
    expect(one('tributary_bytes_total')).toBeGreaterThan(0);
    expect(one('tributary_batches_total')).toBeGreaterThan(0);
    expect(one('tributary_task_state', { state: 'incremental' })).toBe(1);
    expect(one('tributary_task_healthy')).toBe(1);
    expect(one('tributary_latency_seconds')).toBeGreaterThanOrEqual(0);
    expect(one('tributary_postgres_slot_retained_wal_bytes')).toBeGreaterThanOrEqual(0);
    expect(one('tributary_precheck_items', { status: 'fail' })).toBe(0);

    // Latency histogram: cumulative buckets up to +Inf = count, at least one acknowledgement observed.
    const count = one('tributary_delivery_latency_seconds_count');
    expect(count).toBeGreaterThanOrEqual(1);
    expect(one('tributary_delivery_latency_seconds_bucket', { le: '+Inf' })).toBe(count);
    expect(one('tributary_delivery_latency_seconds_sum')).toBeGreaterThanOrEqual(0);

    // In-flight window: what is in flight, and the limits the runtime was given.
    expect(one('tributary_inflight_max_events')).toBe(inflight.maxEvents);
    expect(one('tributary_inflight_max_bytes')).toBe(inflight.maxBytes);
    expect(one('tributary_inflight_events')).toBeGreaterThanOrEqual(0);
    expect(one('tributary_inflight_bytes')).toBeGreaterThanOrEqual(0);

    // Full sync: the total, and per table adding up to it.
    expect(one('tributary_fullsync_rows_done')).toBe(500);
    const perTable = (await status()).progress.tables;
    if (perTable !== undefined) {
      expect(one('tributary_fullsync_table_rows_done', { table: 'public.items' })).toBe(300);
      expect(one('tributary_fullsync_table_rows_done', { table: 'public.orders' })).toBe(200);
      expect(one('tributary_fullsync_table_rows_estimated', { table: 'public.items' })).toBeGreaterThanOrEqual(300);
    }
  });
});
