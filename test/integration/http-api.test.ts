import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { serveHttp, type HttpApi } from '../../src/http/server.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from './support.js';

describe('management HTTP API', () => {
  let runtime: Runtime;
  let api: HttpApi;
  let base: string;
  let dir: string;
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('http');
  const inspected: Array<{ type: string; value?: unknown }> = [];
  const token = `t-${uniqueName('token')}`;

  const call = async (method: string, path: string, body?: string, type = 'application/json') => {
    const headers = { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': type } : {}) };
    const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    return { status: res.status, text, json: (() => { try { return JSON.parse(text) as unknown; } catch { return undefined; } })() };
  };
  const config = (name: string, database: string, password?: string) =>
    JSON.stringify({
      name,
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database, ...(password ? { password } : {}) },
      destination: { kafka: { brokers: servers.kafka.brokers, topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'items' }],
      checkpoints: { store: 'file', dir },
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-http-'));
    db = await createTestDatabase('http');
    await createTopic(topic);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.items (id int PRIMARY KEY, v text)');
      await c.query("INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(1, 50) g");
    });
    runtime = createRuntime({
      confirmIntervalMs: 200,
      inspect: (e) => {
        if (e.type === '@xstate.snapshot') inspected.push({ type: e.type, value: (e.snapshot as { value?: unknown }).value });
      },
    });
    api = await serveHttp(runtime, { port: 0, token, dataDir: dir });
    base = `http://127.0.0.1:${api.port}`;
  });
  afterAll(async () => {
    await runtime?.shutdown();
    await api?.close();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves healthz, creates and runs a task, reports it ready, and exposes metrics', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).json).toEqual({ ready: true, tasks: [] });

    const created = await call('POST', '/tasks', config('http-ok', db.database, 'not-used-but-secret'));
    expect(created.status).toBe(201);
    expect(created.text).not.toContain('not-used-but-secret');
    const deadline = Date.now() + 60_000;
    let state = '';
    while (Date.now() < deadline && state !== 'incremental') {
      state = ((await call('GET', '/tasks/http-ok')).json as { state: string }).state;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(state).toBe('incremental');
    const one = await call('GET', '/tasks/http-ok');
    expect((one.json as { config: { source: { password: string } } }).config.source.password).not.toBe('not-used-but-secret');
    expect(((await call('GET', '/tasks')).json as Array<{ taskId: string }>).map((t) => t.taskId)).toEqual(['http-ok']);
    const ready = await call('GET', '/readyz');
    expect(ready.status).toBe(200);

    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('# TYPE tributary_events_total counter');
    expect(metrics.text).toMatch(/tributary_table_events_total\{task="http-ok",table="[^"]*items"\} 50/);
    expect(metrics.text).toContain('tributary_task_state{task="http-ok",state="incremental"} 1');
    expect(metrics.text).toMatch(/tributary_postgres_slot_retained_wal_bytes\{task="http-ok"\} \d+/);

    expect((await call('PUT', '/tasks/http-ok/throttle', JSON.stringify({ incrementalRps: 1000 }))).json).toEqual({ incrementalRps: 1000 });
    // 0 and null lift a limit (documented as unlimited); a field left out keeps its value.
    expect((await call('PUT', '/tasks/http-ok/throttle', JSON.stringify({ incrementalRps: 0, fullRps: 50 }))).json).toEqual({ fullRps: 50 });
    expect((await call('PUT', '/tasks/http-ok/throttle', JSON.stringify({ fullRps: null }))).json).toEqual({});
    expect((await call('PUT', '/tasks/http-ok/throttle', JSON.stringify({ bogus: 1 }))).status).toBe(400);
    expect(((await call('POST', '/tasks/http-ok/pause')).json as { state: string }).state).toBe('paused');
    expect(((await call('POST', '/tasks/http-ok/resume')).json as { state: string }).state).not.toBe('paused');
    const offsets = await call('GET', '/tasks/http-ok/offsets');
    expect(offsets.status).toBe(200);
    expect(((await call('POST', '/tasks/http-ok/stop')).json as { state: string }).state).toBe('stopped');
    // A stopped task starts again, from its checkpoint, and delivers what was written meanwhile.
    const waitState = async (want: string) => {
      const end = Date.now() + 60_000;
      let now = '';
      while (Date.now() < end && now !== want) {
        now = ((await call('GET', '/tasks/http-ok')).json as { state: string }).state;
        await new Promise((r) => setTimeout(r, 200));
      }
      return now;
    };
    const eventsOf = async () => ((await call('GET', '/tasks/http-ok')).json as { counters: { events: number } }).counters.events;
    const eventsWhenStopped = await eventsOf();
    await withPg(db.database, (c) => c.query("INSERT INTO public.items VALUES (51, 'while stopped')"));
    expect((await call('POST', '/tasks/http-ok/start')).status).toBe(202);
    expect(await waitState('incremental')).toBe('incremental');
    const end = Date.now() + 30_000;
    while (Date.now() < end && (await eventsOf()) <= eventsWhenStopped) await new Promise((r) => setTimeout(r, 200));
    expect(await eventsOf()).toBeGreaterThan(eventsWhenStopped);
    expect((await call('POST', '/tasks/http-ok/restart')).status).toBe(202);
    expect(await waitState('incremental')).toBe('incremental');
    expect((await call('POST', '/tasks/http-ok/frobnicate')).status).toBe(404);
    expect((await call('GET', '/tasks/nope')).status).toBe(404);

    // The task's transitions reached the inspector.
    const states = inspected.map((i) => JSON.stringify(i.value));
    expect(states).toEqual(expect.arrayContaining(['"prechecking"', '"incremental"', '"paused"', '"stopped"']));
  }, 120_000);

  it('rejects a bad config with every issue, and turns /readyz unready when a task fails its precheck', async () => {
    const bad = await call('POST', '/tasks', 'name: Bad!\nsource: { type: postgres }\n', 'application/yaml');
    expect(bad.status).toBe(400);
    const issues = (bad.json as { error: { code: string; issues: Array<{ path: string }> } }).error.issues.map((i) => i.path);
    expect((bad.json as { error: { code: string } }).error.code).toBe('CONFIG_INVALID');
    expect(issues).toEqual(expect.arrayContaining(['name', 'source.database', 'destination', 'objects']));

    const created = await call('POST', '/tasks', config('http-bad', 'no_such_database_here'));
    expect(created.status).toBe(201);
    const deadline = Date.now() + 30_000;
    let ready = await call('GET', '/readyz');
    while (Date.now() < deadline && ready.status === 200) {
      await new Promise((r) => setTimeout(r, 200));
      ready = await call('GET', '/readyz');
    }
    expect(ready.status).toBe(503);
    const entry = (ready.json as { tasks: Array<{ task: string; state: string; healthy: boolean }> }).tasks.find((t) => t.task === 'http-bad');
    expect(entry).toMatchObject({ state: 'precheckFailed', healthy: false });
    expect((await call('DELETE', '/tasks/http-bad')).status).toBe(200);
  }, 60_000);
});
