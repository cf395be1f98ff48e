import { connect } from 'node:net';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { serveHttp, type HttpApi } from '../../src/http/server.js';
import { servers } from './servers.js';

/**
 * The management API's description of itself (`GET /openapi.json`) against the routes the server
 * really has, the state-chart routes mounted in it, and the framework's own errors (media types,
 * malformed HTTP, methods) in the one error shape. Real HTTP over loopback; the task is added but
 * never started, so no server is contacted.
 */

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

function raw(base: string, method: string, path: string, opts: { body?: string; type?: string; token?: string } = {}): Promise<Reply> {
  const url = new URL(base);
  return new Promise((done, fail) => {
    const headers: Record<string, string> = {};
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) {
      headers['content-type'] = opts.type ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    }
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text) as unknown;
        } catch {
          json = undefined;
        }
        done({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', fail);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

function expectErrorShape(r: { status: number; headers: Record<string, unknown>; json: unknown }, status: number, code?: string): void {
  expect({ status: r.status, type: r.headers['content-type'] }).toEqual({ status, type: 'application/json; charset=utf-8' });
  const body = r.json as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.code).toBe('string');
  expect(typeof body.error.message).toBe('string');
  for (const k of Object.keys(body.error)) expect(['code', 'message', 'fix', 'issues']).toContain(k);
  if (code !== undefined) expect(body.error.code).toBe(code);
}

interface Operation {
  summary?: string;
  security?: unknown[];
  parameters?: Array<{ in: string; name: string; schema?: { pattern?: string } }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  security: unknown[];
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
  paths: Record<string, Record<string, Operation>>;
}

const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('management HTTP API: OpenAPI, state-chart routes, framework errors', () => {
  let runtime: Runtime;
  let api: HttpApi;
  let base: string;
  let doc: Doc;
  const token = 'openapi-test-token-0123456789';
  const task = 'http-doc-task';

  beforeAll(async () => {
    runtime = createRuntime();
    runtime.add({
      name: task,
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: 'postgres' },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic: 'never-written', format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'items' }],
    });
    api = await serveHttp(runtime, { port: 0, token });
    base = `http://127.0.0.1:${api.port}`;
    const res = await raw(base, 'GET', '/openapi.json', { token });
    expect(res.status).toBe(200);
    doc = res.json as Doc;
  });
  afterAll(async () => {
    await runtime?.shutdown();
    await api?.close();
  });

  it('lists every registered route, with its request and response shapes and the bearer scheme', async () => {
    expectErrorShape(await raw(base, 'GET', '/openapi.json'), 401, 'UNAUTHORIZED');
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);

    // The server's routes include at least these (so the checks below cannot pass on an empty list).
    const registered = api.routes.map((r) => `${r.method} ${r.url}`);
    expect(registered).toEqual(
      expect.arrayContaining([
        'GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /tasks', 'POST /tasks', 'GET /tasks/:id', 'PUT /tasks/:id', 'DELETE /tasks/:id',
        'POST /tasks/:id/start', 'POST /tasks/:id/pause', 'POST /tasks/:id/resume', 'POST /tasks/:id/stop', 'POST /tasks/:id/restart', 'POST /tasks/:id/release',
        'POST /tasks/:id/ignore-alert', 'PUT /tasks/:id/throttle', 'GET /tasks/:id/offsets',
        'GET /ui', 'GET /ui/assets/:name', 'GET /tasks/:id/chart', 'GET /tasks/:id/events',
      ]),
    );
    // Every registered route is documented, and nothing else is.
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(api.routes.map((r) => `${r.method} ${openapiPath(r.url)}`).sort());

    const refs = new Set<string>();
    const collectRefs = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collectRefs);
      else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.add(x);
          else collectRefs(x);
        }
      }
    };
    for (const r of api.routes) {
      const op = doc.paths[openapiPath(r.url)]?.[r.method.toLowerCase()];
      const where = `${r.method} ${r.url}`;
      expect({ where, summary: typeof op?.summary }).toEqual({ where, summary: 'string' });
      const codes = Object.keys(op?.responses ?? {});
      expect({ where, success: codes.some((c) => /^2\d\d$/.test(c)) }).toEqual({ where, success: true });
      // Errors: the one shape.
      expect({ where, errors: op?.responses['4XX']?.content?.['application/json']?.schema }).toEqual({ where, errors: { $ref: '#/components/schemas/ErrorBody' } });
      // Path parameters are declared; task ids with their pattern.
      for (const name of [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1])) {
        const p = op?.parameters?.find((x) => x.in === 'path' && x.name === name);
        expect({ where, name, declared: p !== undefined }).toEqual({ where, name, declared: true });
        if (name === 'id') expect(p?.schema?.pattern).toBe('^[a-z0-9][a-z0-9_-]{0,62}$');
      }
      // Who needs the token: everyone but /healthz and the static page; /readyz either way.
      const expectedSecurity = ['/healthz', '/ui', '/ui/assets/:name'].includes(r.url) ? [] : r.url === '/readyz' ? [{ bearer: [] }, {}] : undefined;
      expect({ where, security: op?.security }).toEqual({ where, security: expectedSecurity });
      collectRefs(op);
    }
    // Every reference resolves.
    for (const ref of refs) expect(doc.components.schemas[ref.replace('#/components/schemas/', '')]).toBeDefined();

    // Request bodies.
    const throttle = doc.paths['/tasks/{id}/throttle']?.put?.requestBody?.content['application/json']?.schema as { additionalProperties: boolean; properties: Record<string, unknown> };
    expect(throttle.additionalProperties).toBe(false);
    expect(Object.keys(throttle.properties).sort()).toEqual(['fullMBps', 'fullQps', 'fullRps', 'incrementalMBps', 'incrementalRps']);
    expect(doc.paths['/tasks/{id}/throttle']?.put?.requestBody?.required).toBe(false);
    expect(doc.paths['/tasks/{id}/ignore-alert']?.post?.requestBody?.content['application/json']?.schema).toMatchObject({ required: ['itemId'], additionalProperties: false });
    for (const [path, method] of [['/tasks', 'post'], ['/tasks/{id}', 'put']] as const) {
      const content = doc.paths[path]?.[method]?.requestBody?.content ?? {};
      expect(Object.keys(content).sort()).toEqual(['application/json', 'application/yaml']);
      for (const c of Object.values(content)) expect(c.schema).toEqual({ $ref: '#/components/schemas/TaskConfig' });
    }
    expect(doc.components.schemas.TaskConfig?.required).toEqual(expect.arrayContaining(['name', 'source', 'destination', 'objects']));
    // Response shapes.
    expect(doc.components.schemas.TaskStatus?.required).toEqual(expect.arrayContaining(['taskId', 'state', 'healthy', 'progress', 'counters', 'throttle']));
    expect(doc.paths['/tasks']?.get?.responses['200']?.content?.['application/json']?.schema).toEqual({ type: 'array', items: { $ref: '#/components/schemas/TaskStatus' } });
    expect(Object.keys(doc.paths['/metrics']?.get?.responses['200']?.content ?? {})).toEqual(['text/plain']);
    expect(Object.keys(doc.paths['/tasks/{id}/events']?.get?.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
  });

  it('serves every documented operation (none answers NO_ROUTE or 405)', async () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        if (path.endsWith('/events')) continue; // a stream: below
        const concrete = path.replace('{id}', 'no-such-task').replace('{name}', 'statechart.js');
        const r = await raw(base, method.toUpperCase(), concrete, { token });
        const code = (r.json as { error?: { code?: string } } | undefined)?.error?.code;
        const problem = r.status === 405 || code === 'NO_ROUTE' ? `${r.status} ${code}` : null;
        expect({ method, path, problem }).toEqual({ method, path, problem: null });
      }
    }
  });

  it('mounts the state-chart page: /ui and its assets without the token, the chart and the live events with it', async () => {
    const page = await raw(base, 'GET', '/ui');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const assets = [...page.text.matchAll(/\/ui\/assets\/([A-Za-z0-9._-]+)/g)].map((m) => m[1] ?? '');
    expect(assets.length).toBeGreaterThan(0);
    for (const name of new Set(assets)) {
      const a = await raw(base, 'GET', `/ui/assets/${name}`);
      expect({ name, status: a.status, length: a.text.length > 0 }).toEqual({ name, status: 200, length: true });
    }
    expectErrorShape(await raw(base, 'GET', '/ui/assets/nope.js'), 404, 'NO_ASSET');
    expectErrorShape(await raw(base, 'POST', '/ui'), 405, 'METHOD_NOT_ALLOWED');

    expectErrorShape(await raw(base, 'GET', `/tasks/${task}/chart`), 401, 'UNAUTHORIZED');
    const chart = await raw(base, 'GET', `/tasks/${task}/chart`, { token });
    expect(chart.status).toBe(200);
    expect(chart.json).toMatchObject({ taskId: task, graph: { id: 'task' }, state: {} });
    expect((chart.json as { graph: { nodes: unknown[] } }).graph.nodes.length).toBeGreaterThan(5);
    expectErrorShape(await raw(base, 'GET', '/tasks/nope/chart', { token }), 404, 'UNKNOWN_TASK');
    expectErrorShape(await raw(base, 'GET', '/tasks/BAD!/chart', { token }), 400, 'INVALID_TASK_ID');

    expectErrorShape(await raw(base, 'GET', `/tasks/${task}/events`), 401, 'UNAUTHORIZED');
    expectErrorShape(await raw(base, 'GET', '/tasks/nope/events', { token }), 404, 'UNKNOWN_TASK');
    // The stream: the timeline and a snapshot arrive at once.
    const ac = new AbortController();
    const res = await fetch(`${base}/tasks/${task}/events`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    let text = '';
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(text.includes('event: timeline') && text.includes('event: snapshot'))) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    expect(text).toContain('event: timeline');
    expect(text).toContain('event: snapshot');
  });

  it('closes with an event stream open', async () => {
    const other = createRuntime();
    other.add({
      name: task,
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: 'postgres' },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic: 'never-written', format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'items' }],
    });
    const server = await serveHttp(other, { port: 0 });
    const res = await fetch(`http://127.0.0.1:${server.port}/tasks/${task}/events`);
    expect(res.status).toBe(200);
    const body = res.text(); // ends when the server closes the stream
    const started = Date.now();
    await server.close();
    await body;
    expect(Date.now() - started).toBeLessThan(5_000);
    await other.shutdown();
  });

  it("answers the framework's own errors in the one shape too", async () => {
    // A Content-Type that is not a media type.
    expectErrorShape(await raw(base, 'POST', '/tasks', { token, body: '{}', type: 'not a media type' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    // Methods a path does not take, HEAD included, with Allow.
    for (const method of ['OPTIONS', 'PATCH', 'DELETE']) {
      const r = await raw(base, method, '/tasks', { token });
      expectErrorShape(r, 405, 'METHOD_NOT_ALLOWED');
      expect(r.headers.allow).toBe('GET, POST');
    }
    const head = await raw(base, 'HEAD', '/tasks', { token });
    expect({ status: head.status, allow: head.headers.allow, text: head.text }).toEqual({ status: 405, allow: 'GET, POST', text: '' });
    expect((await raw(base, 'HEAD', '/healthz')).status).toBe(200);
    // A trailing slash is the same route.
    expect((await raw(base, 'GET', '/tasks/', { token })).status).toBe(200);
    // Routes without a body leave it unread: no 413, no JSON error for junk.
    expect((await raw(base, 'POST', `/tasks/${task}/pause`, { token, body: 'x'.repeat(2 * 1024 * 1024), type: 'text/plain' })).status).toBe(202);
    expect((await raw(base, 'POST', `/tasks/${task}/resume`, { token, body: '{', type: 'application/json' })).status).toBe(202);
    // An empty throttle body changes nothing.
    const empty = await raw(base, 'PUT', `/tasks/${task}/throttle`, { token, body: '' });
    expect({ status: empty.status, json: empty.json }).toEqual({ status: 200, json: {} });
    // A query the route does not take in that form.
    expectErrorShape(await raw(base, 'POST', '/tasks?start=false&start=true', { token, body: '{}' }), 400, 'INVALID_REQUEST');
    // Not HTTP at all: still JSON in the one shape.
    const reply = await new Promise<string>((done, fail) => {
      const socket = connect(api.port, '127.0.0.1', () => socket.end('NOT HTTP\r\n\r\n'));
      let data = '';
      socket.on('data', (c: Buffer) => (data += c.toString('utf8')));
      socket.on('end', () => done(data));
      socket.on('error', fail);
    });
    const [head400, body400] = reply.split('\r\n\r\n');
    expect(head400).toMatch(/^HTTP\/1\.1 400 /);
    expect(head400?.toLowerCase()).toContain('content-type: application/json; charset=utf-8');
    expect(JSON.parse(body400 ?? '')).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) as unknown } });
    // And the server still serves.
    expect((await raw(base, 'GET', '/healthz')).status).toBe(200);
  });
});
