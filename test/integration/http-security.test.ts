import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { serveHttp, type HttpApi } from '../../src/http/server.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from './support.js';

/**
 * The management API as an attacker on the machine (or the network) would try it: no token, a
 * wrong token, `${ENV}` placeholders to read the server's environment, file paths outside the
 * data directory, task ids with traversal, and bodies that are not what a route expects. Real
 * HTTP over loopback against a runtime with a real PostgreSQL → Kafka task.
 */

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** A request with the path sent exactly as given (fetch would resolve `..` and `%2E%2E`). */
function raw(base: string, method: string, path: string, opts: { body?: string | Buffer; type?: string; token?: string } = {}): Promise<Reply> {
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

/** The one error shape: `{ error: { code, message, fix?, issues? } }` and nothing else. */
function expectErrorShape(r: Reply, status: number, code?: string): void {
  expect({ status: r.status, type: r.headers['content-type'] }).toEqual({ status, type: 'application/json; charset=utf-8' });
  const body = r.json as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.code).toBe('string');
  expect(typeof body.error.message).toBe('string');
  expect((body.error.message as string).length).toBeGreaterThan(0);
  for (const k of Object.keys(body.error)) expect(['code', 'message', 'fix', 'issues']).toContain(k);
  if (body.error.fix !== undefined) expect(typeof body.error.fix).toBe('string');
  if (code !== undefined) expect(body.error.code).toBe(code);
}

describe('management HTTP API: authentication, no interpolation, confined paths, clear errors', () => {
  let runtime: Runtime;
  let api: HttpApi;
  let base: string;
  let root: string;
  let dataDir: string;
  let outside: string;
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('httpsec');
  const token = `sec-${uniqueName('tok')}`;
  const task = 'http-sec-live';
  const envName = `TRIB_HTTP_SECRET_${uniqueName('x').toUpperCase()}`;
  const envValue = `leaked-${uniqueName('value')}`;

  const config = (name: string, extra: Record<string, unknown> = {}, checkpoints: unknown = { store: 'file', dir: join(dataDir, 'ckpt') }) => ({
    name,
    source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: 'postgres', database: db.database },
    destination: { kafka: { brokers: servers.kafka.brokers, topic, format: 'canal-json' } },
    objects: [{ schema: 'public', table: 'items' }],
    checkpoints,
    ...extra,
  });
  const call = (method: string, path: string, body?: unknown, type?: string) =>
    raw(base, method, path, { token, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body), ...(type ? { type } : {}) } : {}) });
  const stateOf = async () => ((await call('GET', `/tasks/${task}`)).json as { state: string }).state;

  beforeAll(async () => {
    process.env[envName] = envValue;
    root = await mkdtemp(join(tmpdir(), 'trib-httpsec-'));
    dataDir = join(root, 'data');
    outside = join(root, 'outside');
    await mkdir(outside, { recursive: true });
    db = await createTestDatabase('httpsec');
    await createTopic(topic);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.items (id int PRIMARY KEY, v text)');
      await c.query("INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(1, 20) g");
    });
    runtime = createRuntime({ confirmIntervalMs: 200 });
    api = await serveHttp(runtime, { port: 0, token, dataDir });
    base = `http://127.0.0.1:${api.port}`;
    // A real task, running, that every unauthenticated request below would like to disturb.
    expect((await call('POST', '/tasks', config(task))).status).toBe(201);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await stateOf()) !== 'incremental') await new Promise((r) => setTimeout(r, 200));
    expect(await stateOf()).toBe('incremental');
  }, 120_000);

  afterAll(async () => {
    delete process.env[envName];
    await runtime?.shutdown();
    await api?.close();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  it('never interpolates ${ENV} in request bodies: the server environment is not echoed, the body is refused with the paths', async () => {
    const withPlaceholders = config('http-sec-env', { labels: { owner: `\${${envName}}`, team: `$\${${envName}}`, dflt: `\${${envName}:-x}` } });
    (withPlaceholders.destination.kafka as { topic: string }).topic = `t-\${${envName}}`;
    const json = await call('POST', '/tasks?start=false', withPlaceholders);
    expectErrorShape(json, 400, 'CONFIG_INVALID');
    expect(json.text).not.toContain(envValue);
    const paths = (json.json as { error: { issues: Array<{ path: string; message: string }> } }).error.issues;
    expect(paths.map((i) => i.path).sort()).toEqual(['destination.kafka.topic', 'labels.dflt', 'labels.owner', 'labels.team']);
    for (const i of paths) expect(i.message).toContain('interpolation is not available for the request body');

    const yaml = await call('POST', '/tasks?start=false', `name: http-sec-env\nlabels: { owner: "\${${envName}}" }\nsource: { type: postgres, host: 127.0.0.1, database: "\${${envName}}" }\ndestination: { kafka: { brokers: [127.0.0.1:1], topic: t } }\nobjects: [{ schema: public, table: items }]\n`, 'application/yaml');
    expectErrorShape(yaml, 400, 'CONFIG_INVALID');
    expect(yaml.text).not.toContain(envValue);

    // Modifying the live task with a placeholder: refused, the task keeps its config.
    const put = await call('PUT', `/tasks/${task}`, config(task, { labels: { owner: `\${${envName}}` } }));
    expectErrorShape(put, 400, 'CONFIG_INVALID');
    expect(put.text).not.toContain(envValue);

    const one = await call('GET', '/tasks/http-sec-env');
    expectErrorShape(one, 404, 'UNKNOWN_TASK');
    for (const r of [one, await call('GET', '/tasks'), await call('GET', `/tasks/${task}`), await call('GET', '/metrics')]) expect(r.text).not.toContain(envValue);
    expect(await stateOf()).toBe('incremental');
  });

  it('answers 401 with WWW-Authenticate: Bearer to every route but /healthz without the token or with a wrong one, and changes nothing', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/tasks', config('http-sec-intruder')],
      ['GET', '/tasks'],
      ['GET', `/tasks/${task}`],
      ['PUT', `/tasks/${task}`, config(task, { labels: { by: 'intruder' } })],
      ['DELETE', `/tasks/${task}`],
      ['POST', `/tasks/${task}/pause`],
      ['POST', `/tasks/${task}/stop`],
      ['POST', `/tasks/${task}/restart`],
      ['POST', `/tasks/${task}/release`],
      ['POST', `/tasks/${task}/start`],
      ['POST', `/tasks/${task}/resume`],
      ['POST', `/tasks/${task}/ignore-alert`, { itemId: 'x' }],
      ['PUT', `/tasks/${task}/throttle`, { incrementalRps: 1 }],
      ['GET', `/tasks/${task}/offsets`],
      ['GET', '/metrics'],
      ['GET', '/no/such/route'],
    ];
    for (const [method, path, body] of routes) {
      for (const credential of [undefined, 'wrong', `${token}x`, token.slice(0, -1)]) {
        const r = await raw(base, method, path, { ...(credential !== undefined ? { token: credential } : {}), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
        expect({ method, path, credential, status: r.status }).toEqual({ method, path, credential, status: 401 });
        expectErrorShape(r, 401, 'UNAUTHORIZED');
        expect(r.headers['www-authenticate']).toMatch(/^Bearer realm="tributary"/);
        if (credential !== undefined) expect(r.headers['www-authenticate']).toContain('error="invalid_token"');
      }
    }
    // Another scheme, or the token in a query string, is no token.
    expect((await fetch(`${base}/tasks`, { headers: { authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}` } })).status).toBe(401);
    expect((await fetch(`${base}/tasks?token=${token}`)).status).toBe(401);

    // Nothing changed: the task runs unthrottled with its own config, no task was added.
    const now = (await call('GET', `/tasks/${task}`)).json as { state: string; throttle: unknown; config: { labels: unknown } };
    expect(now).toMatchObject({ state: 'incremental', throttle: {}, config: { labels: {} } });
    expect(((await call('GET', '/tasks')).json as Array<{ taskId: string }>).map((t) => t.taskId)).toEqual([task]);

    // Open: /healthz; /readyz says ready or not, and nothing about tasks, without the token.
    expect((await raw(base, 'GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await raw(base, 'GET', '/readyz')).json).toEqual({ ready: true });
    expect(((await call('GET', '/readyz')).json as { tasks: Array<{ task: string }> }).tasks.map((t) => t.task)).toEqual([task]);
    // The scheme is case-insensitive.
    expect((await fetch(`${base}/tasks`, { headers: { authorization: `bearer ${token}` } })).status).toBe(200);
  });

  it('refuses to listen beyond loopback without a token, and refuses a weak token', async () => {
    const other = createRuntime();
    await expect(serveHttp(other, { port: 0, host: '0.0.0.0' })).rejects.toMatchObject({ code: 'HTTP_TOKEN_REQUIRED', message: expect.stringContaining('not a loopback address') as unknown });
    await expect(serveHttp(other, { port: 0, host: '::' })).rejects.toMatchObject({ code: 'HTTP_TOKEN_REQUIRED' });
    await expect(serveHttp(other, { port: 0, token: 'short' })).rejects.toMatchObject({ code: 'HTTP_TOKEN_INVALID' });
    await expect(serveHttp(other, { port: 0, token: '' })).rejects.toMatchObject({ code: 'HTTP_TOKEN_INVALID' });
    await expect(serveHttp(other, { port: 0, token: 'has a space in the middle' })).rejects.toMatchObject({ code: 'HTTP_TOKEN_INVALID' });
    const wide = await serveHttp(other, { port: 0, host: '0.0.0.0', token });
    try {
      expect((await raw(`http://127.0.0.1:${wide.port}`, 'GET', '/tasks')).status).toBe(401);
      expect((await raw(`http://127.0.0.1:${wide.port}`, 'GET', '/tasks', { token })).status).toBe(200);
    } finally {
      await wide.close();
    }
  });

  it('confines file paths in task configs to the data directory, and refuses task ids with traversal', async () => {
    await symlink(outside, join(dataDir, 'link-out'));
    const refused: Array<[string, Record<string, unknown>, string]> = [
      ['absolute path outside', config('http-sec-p1', {}, { store: 'file', dir: outside }), 'checkpoints.dir'],
      ['.. out of the data dir', config('http-sec-p2', {}, { store: 'file', dir: `${dataDir}/../outside` }), 'checkpoints.dir'],
      ['.. that stays inside', config('http-sec-p3', {}, { store: 'file', dir: `${dataDir}/a/../b` }), 'checkpoints.dir'],
      ['relative path outside', config('http-sec-p4', {}, { store: 'file', dir: 'somewhere/else' }), 'checkpoints.dir'],
      ['symbolic link out', config('http-sec-p5', {}, { store: 'file', dir: join(dataDir, 'link-out', 'ckpt') }), 'checkpoints.dir'],
      ['root', config('http-sec-p6', {}, { store: 'file', dir: '/' }), 'checkpoints.dir'],
    ];
    const ssl = (name: string, more: Record<string, unknown>) => {
      const c = config(name);
      c.source = { ...c.source, encryption: 'ssl', ...more } as typeof c.source;
      return c;
    };
    refused.push(['caCert as a path outside', ssl('http-sec-p7', { caCert: '/etc/passwd' }), 'source.caCert']);
    refused.push(['sslrootcert in the URI', ssl('http-sec-p8', { host: undefined, uri: `postgres://postgres@127.0.0.1:${servers.postgres.port}/${db.database}?sslrootcert=/etc/passwd` }), 'source.uri.sslrootcert']);
    for (const [what, body, path] of refused) {
      const r = await call('POST', '/tasks?start=false', body);
      expect({ what, status: r.status }).toEqual({ what, status: 400 });
      expectErrorShape(r, 400, 'CONFIG_INVALID');
      expect({ what, paths: (r.json as { error: { issues: Array<{ path: string }> } }).error.issues.map((i) => i.path) }).toEqual({ what, paths: [path] });
    }
    expect(await readdir(outside)).toEqual([]);
    // Inside the data directory (a new subdirectory, or the directory itself) is fine.
    for (const dir of [join(dataDir, 'sub', 'deeper'), dataDir]) {
      const name = `http-sec-in${dir === dataDir ? 1 : 2}`;
      const r = await call('POST', '/tasks?start=false', config(name, {}, { store: 'file', dir }));
      expect({ dir, status: r.status, text: r.status === 201 ? '' : r.text }).toEqual({ dir, status: 201, text: '' });
      expect((await call('DELETE', `/tasks/${name}`)).status).toBe(200);
    }

    // Without a data directory a request names no file path at all.
    const bare = await serveHttp(createRuntime(), { port: 0, token });
    try {
      const r = await raw(`http://127.0.0.1:${bare.port}`, 'POST', '/tasks?start=false', { token, body: JSON.stringify(config('http-sec-p9')) });
      expectErrorShape(r, 400, 'CONFIG_INVALID');
      expect((r.json as { error: { issues: Array<{ path: string; fix: string }> } }).error.issues).toEqual([
        expect.objectContaining({ path: 'checkpoints.dir', message: expect.stringContaining('takes no file paths') as unknown, fix: expect.stringContaining('dataDir') as unknown }),
      ]);
    } finally {
      await bare.close();
    }

    // Task ids: only names a task could have; traversal is a 400, before anything is looked up.
    for (const [method, path] of [
      ['GET', '/tasks/..'],
      ['GET', '/tasks/%2E%2E'],
      ['DELETE', '/tasks/..%2F..%2Fetc%2Fpasswd'],
      ['POST', '/tasks/..%2f/release'],
      ['GET', `/tasks/${task}%2F..`],
      ['PUT', '/tasks/a%5Cb/throttle'],
      ['GET', '/tasks/%00'],
      ['GET', '/tasks/UPPER'],
    ] as const) {
      const r = await call(method, path, method === 'PUT' ? {} : undefined);
      expect({ method, path, status: r.status }).toEqual({ method, path, status: 400 });
      expectErrorShape(r, 400, 'INVALID_TASK_ID');
    }
    expect(await stateOf()).toBe('incremental');
  });

  it('answers every bad body and path with 400 (or 413) in the one error shape, and keeps serving', async () => {
    const cases: Array<[string, string, string | Buffer, string, number, string?]> = [
      // method, path, body, content type, status, code
      ['POST', '/tasks', '{"name": ', 'application/json', 400, 'CONFIG_INVALID'],
      ['POST', '/tasks', 'null', 'application/json', 400, 'CONFIG_INVALID'],
      ['POST', '/tasks', '[]', 'application/json', 400, 'CONFIG_INVALID'],
      ['POST', '/tasks', '42', 'application/json', 400, 'CONFIG_INVALID'],
      ['POST', '/tasks', '', 'application/json', 400, 'CONFIG_INVALID'],
      ['POST', '/tasks', 'null', 'application/yaml', 400, 'CONFIG_INVALID'],
      ['POST', '/tasks', 'name: [unclosed', 'application/yaml', 400, 'CONFIG_INVALID'],
      ['POST', '/tasks', JSON.stringify({ ...config('http-sec-types'), objects: 5, source: { type: 'postgres', host: 1, port: 'abc', database: db.database } }), 'application/json', 400, 'CONFIG_INVALID'],
      ['POST', '/tasks', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'application/json', 400, 'BAD_ENCODING'],
      ['PUT', `/tasks/${task}`, 'null', 'application/json', 400, 'CONFIG_INVALID'],
      ['PUT', `/tasks/${task}`, '{', 'application/json', 400, 'CONFIG_INVALID'],
      ['PUT', `/tasks/${task}/throttle`, '{', 'application/json', 400, 'INVALID_JSON'],
      ['PUT', `/tasks/${task}/throttle`, 'null', 'application/json', 400, 'INVALID_BODY'],
      ['PUT', `/tasks/${task}/throttle`, '[1]', 'application/json', 400, 'INVALID_BODY'],
      ['PUT', `/tasks/${task}/throttle`, '"fast"', 'application/json', 400, 'INVALID_BODY'],
      ['PUT', `/tasks/${task}/throttle`, '{"incrementalRps": 1e400}', 'application/json', 400, 'INVALID_THROTTLE'],
      ['PUT', `/tasks/${task}/throttle`, '{"incrementalRps": -1}', 'application/json', 400, 'INVALID_THROTTLE'],
      ['PUT', `/tasks/${task}/throttle`, '{"incrementalRps": "10"}', 'application/json', 400, 'INVALID_THROTTLE'],
      ['PUT', `/tasks/${task}/throttle`, '{"incrementalRps": true}', 'application/json', 400, 'INVALID_THROTTLE'],
      ['PUT', `/tasks/${task}/throttle`, '{"__proto__": 1}', 'application/json', 400, 'INVALID_THROTTLE'],
      ['POST', `/tasks/${task}/ignore-alert`, '{', 'application/json', 400, 'INVALID_JSON'],
      ['POST', `/tasks/${task}/ignore-alert`, 'null', 'application/json', 400, 'INVALID_BODY'],
      ['POST', `/tasks/${task}/ignore-alert`, '{}', 'application/json', 400, 'INVALID_BODY'],
      ['POST', `/tasks/${task}/ignore-alert`, '{"itemId": 5}', 'application/json', 400, 'INVALID_BODY'],
      ['POST', `/tasks/${task}/ignore-alert`, '', 'application/json', 400, 'INVALID_BODY'],
      ['POST', '/tasks', `{"name": "${'x'.repeat(2 * 1024 * 1024)}"}`, 'application/json', 413, 'BODY_TOO_LARGE'],
      ['PUT', `/tasks/${task}/throttle`, `{"incrementalRps": 1${' '.repeat(1024 * 1024)}}`, 'application/json', 413, 'BODY_TOO_LARGE'],
    ];
    for (const [method, path, body, type, status, code] of cases) {
      const r = await raw(base, method, path, { token, body, type });
      const label = `${method} ${path} ${String(body).slice(0, 40)}`;
      expect({ label, status: r.status }).toEqual({ label, status });
      expectErrorShape(r, status, code);
    }
    // A throttle body over the limit, with no content-length (chunked), is refused as it streams in.
    const chunked = await new Promise<number>((done, fail) => {
      const url = new URL(base);
      const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: `/tasks/${task}/throttle`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on('error', fail);
      for (let i = 0; i < 40; i++) req.write(' '.repeat(64 * 1024));
      req.end('{}');
    });
    expect(chunked).toBe(413);

    for (const [method, path, status, code] of [
      ['GET', '/tasks/%E0%A4%A', 400, 'BAD_PATH'],
      ['GET', '/tasks/%zz', 400, 'BAD_PATH'],
      ['POST', `/tasks/${task}/%ff`, 400, 'BAD_PATH'],
      ['GET', `/tasks/${task}/frobnicate`, 404, 'NO_ROUTE'],
      ['GET', '/nowhere', 404, 'NO_ROUTE'],
      ['GET', `/tasks/${task}/pause`, 405, 'METHOD_NOT_ALLOWED'],
      ['PATCH', '/tasks', 405, 'METHOD_NOT_ALLOWED'],
      ['GET', '/tasks/no-such-task', 404, 'UNKNOWN_TASK'],
    ] as const) {
      const r = await call(method, path);
      expect({ path, status: r.status }).toEqual({ path, status });
      expectErrorShape(r, status, code);
    }
    const dup = await call('POST', '/tasks?start=false', config(task));
    expectErrorShape(dup, 409, 'TASK_EXISTS');

    // The process survived all of it; valid throttles still apply (0 and null lift them), and the task runs.
    expect((await raw(base, 'GET', '/healthz')).status).toBe(200);
    expect((await call('PUT', `/tasks/${task}/throttle`, { incrementalRps: 5e3, fullRps: 0 })).json).toEqual({ incrementalRps: 5000 });
    expect((await call('PUT', `/tasks/${task}/throttle`, { incrementalRps: null })).json).toEqual({});
    expect(await stateOf()).toBe('incremental');
  });

  it('the CLI clients send $TRIBUTARY_HTTP_TOKEN', async () => {
    const exec = promisify(execFile);
    const cli = (args: string[], env: Record<string, string | undefined>) =>
      exec(process.execPath, ['--import', 'tsx', resolve('src/cli/bin.ts'), ...args], { env: { ...process.env, ...env }, timeout: 60_000 }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
      );
    const without = await cli(['status', '--url', base, '--json'], { TRIBUTARY_HTTP_TOKEN: undefined });
    expect(without.code).toBe(3);
    expect(without.stdout).toContain('HTTP 401');
    expect(without.stdout).toContain('TRIBUTARY_HTTP_TOKEN');
    const withToken = await cli(['status', '--url', base, '--json'], { TRIBUTARY_HTTP_TOKEN: token });
    expect(withToken.code).toBe(0);
    expect((JSON.parse(withToken.stdout) as Array<{ taskId: string }>).map((t) => t.taskId)).toEqual([task]);
    const paused = await cli(['pause', task, '--url', base, '--json'], { TRIBUTARY_HTTP_TOKEN: token });
    expect(paused.code).toBe(0);
    expect(await stateOf()).toBe('paused');
    expect((await call('POST', `/tasks/${task}/resume`)).status).toBe(202);
  }, 120_000);
});
