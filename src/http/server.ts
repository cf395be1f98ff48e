import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseTaskConfig, refusePlaceholders } from '../config/load.js';
import { collectSecrets, redactConfig, redactText } from '../config/redact.js';
import type { TaskConfig } from '../config/schema.js';
import { ConfigError, TributaryError, type ConfigIssue } from '../core/errors.js';
import { renderMetrics } from '../observe/metrics.js';
import type { Runtime } from '../runtime/createRuntime.js';
import type { TaskRunner } from '../runtime/task.js';
import type { ThrottleUpdate } from '../../machines/index.js';
import { bearerMatches, checkTokenSetting } from './auth.js';
import { confinePaths, realDataDir } from './confine.js';

/** A running management API, as {@link serveHttp} resolves it. */
export interface HttpApi {
  /** The underlying Node HTTP server. */
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
  /** Stops listening; resolves once the open connections have ended. */
  close(): Promise<void>;
}

/** Options of {@link serveHttp}. */
export interface HttpOptions {
  /** TCP port to listen on; 0 picks a free one (see `HttpApi.port`). */
  port: number;
  /** Address to listen on. Default `127.0.0.1`. Any address that is not loopback needs a `token`. */
  host?: string;
  /**
   * Bearer token every route but `/healthz` requires (`/readyz` answers without it, but only
   * ready or not). At least 16 printable characters. Without one (loopback only) the API is open
   * to every process on the machine.
   */
  token?: string;
  /**
   * The one directory file paths in task configs sent over HTTP (`checkpoints.dir`, a `caCert`
   * path, `sslrootcert=`/`tlsCAFile=` in a URI) may point into. Created if missing. Without it a
   * request may name no file path (a `checkpoints.dir` left at its default is allowed).
   */
  dataDir?: string;
  /** Largest request body accepted; bigger ones get 413. Default 1 MiB. */
  maxBodyBytes?: number;
}

/**
 * Every error response has this one shape: a stable `code`, a `message`, often a `fix`, and for an
 * invalid task config every `issue` with its path.
 */
export interface ErrorBody {
  error: { code: string; message: string; fix?: string; issues?: readonly ConfigIssue[] };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fix?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const TASK_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const THROTTLES = ['fullQps', 'fullRps', 'fullMBps', 'incrementalRps', 'incrementalMBps'] as const;
const DEFAULT_MAX_BODY = 1024 * 1024;

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () => new HttpError(413, 'BODY_TOO_LARGE', `the request body is over ${limit} bytes`, 'Send a smaller body.');
  const declared = Number(req.headers['content-length']);
  // Not read: Node discards the rest of the body once the response is sent.
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return; // keep reading and dropping, so the client gets the 413 instead of a reset
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) return;
      try {
        resolve(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
      } catch {
        reject(new HttpError(400, 'BAD_ENCODING', 'the request body is not valid UTF-8', 'Send the body encoded as UTF-8.'));
      }
    });
    req.on('error', reject);
  });
}

/** A JSON object body (an empty body is `{}`); anything else is a 400 naming what was expected. */
function jsonObject(text: string, expected: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'INVALID_JSON', `the request body is not valid JSON: ${(err as Error).message}`, `Send ${expected}.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'INVALID_BODY', `the request body must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`, `Send ${expected}.`);
  }
  return value as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json', headers: Record<string, string> = {}): void {
  const text = type === 'application/json' ? JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) : String(body);
  res.writeHead(status, { ...headers, 'content-type': type === 'application/json' ? 'application/json; charset=utf-8' : type });
  res.end(text);
}

function describe(task: TaskRunner) {
  return { ...task.status, config: redactConfig(task.options) };
}

/** The request target split into decoded path segments, and its query. */
function route(target: string): { segments: string[]; query: URLSearchParams } {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (!path.startsWith('/')) throw new HttpError(400, 'BAD_PATH', 'the request target must be a path starting with "/"');
  const raw = path.slice(1).split('/');
  if (raw.length > 1 && raw[raw.length - 1] === '') raw.pop();
  const segments = raw.map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new HttpError(400, 'BAD_PATH', 'the request path has an invalid percent-encoding', 'Encode the path with encodeURIComponent: "%" followed by two hex digits of UTF-8.');
    }
  });
  return { segments, query: new URLSearchParams(q === -1 ? '' : target.slice(q + 1)) };
}

function taskId(segment: string): string {
  if (!TASK_ID.test(segment)) {
    throw new HttpError(400, 'INVALID_TASK_ID', `'${segment.slice(0, 80).replace(/[^\x20-\x7e]/g, '?')}' is not a task id: task ids are 1-63 lowercase letters, digits, "-" and "_", starting with a letter or digit`, 'Use the task name as it is in its config (GET /tasks lists them).');
  }
  return segment;
}

const notAllowed = (method: string, path: string, allow: string) => new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`, `Use ${allow}.`, { allow });

/**
 * The management API: tasks (create, list, get, delete, start/pause/resume/stop/restart/release,
 * throttle, offsets), `/healthz` (the process is up), `/readyz` (every task is healthy, not merely
 * running) and `/metrics` (Prometheus). Responses never contain secrets; every error is
 * `{ "error": { "code", "message", "fix"? } }`. With a `token`, every route but `/healthz` needs
 * `Authorization: Bearer <token>` (`/readyz` without it says only whether the process is ready).
 * `${ENV}` interpolation never runs on request bodies: a body holding `${` is refused.
 *
 * Refuses to start (rejects) on a host that is not loopback without a token, or an unusable token.
 *
 * @example
 * ```ts
 * import { createRuntime, serveHttp } from 'tributary';
 *
 * const runtime = createRuntime();
 * const http = await serveHttp(runtime, { port: 8470, token: process.env.TRIBUTARY_HTTP_TOKEN });
 * console.log(`management API on http://127.0.0.1:${http.port}`); // GET /tasks, /metrics, /readyz ...
 * // on shutdown:
 * await runtime.shutdown();
 * await http.close();
 * ```
 */
export async function serveHttp(runtime: Runtime, opts: HttpOptions): Promise<HttpApi> {
  const host = opts.host ?? '127.0.0.1';
  checkTokenSetting(host, opts.token);
  const token = opts.token;
  const dataDir = opts.dataDir !== undefined ? await realDataDir(opts.dataDir) : undefined;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      const { status, body, headers } = errorResponse(err);
      send(res, status, body, 'application/json', headers);
    });
  });

  function errorResponse(err: unknown): { status: number; body: ErrorBody; headers?: Record<string, string> } {
    if (err instanceof HttpError) {
      return { status: err.status, body: { error: { code: err.code, message: err.message, ...(err.fix !== undefined ? { fix: err.fix } : {}) } }, headers: err.headers };
    }
    if (err instanceof ConfigError) {
      return { status: 400, body: { error: { code: err.code, message: err.message, issues: err.issues } } };
    }
    if (err instanceof TributaryError) {
      const status = err.code === 'UNKNOWN_TASK' ? 404 : err.code === 'TASK_EXISTS' ? 409 : 400;
      return { status, body: { error: { code: err.code, message: err.message, ...(err.fix !== undefined ? { fix: err.fix } : {}) } } };
    }
    // Not expected: say what happened, without any secret of a loaded task.
    const secrets = runtime.list().flatMap((t) => collectSecrets(t.options));
    return { status: 500, body: { error: { code: 'INTERNAL', message: redactText(err instanceof Error ? err.message : String(err), secrets) } } };
  }

  function authorized(req: IncomingMessage): 'ok' | 'missing' | 'invalid' {
    return token === undefined ? 'ok' : bearerMatches(req.headers.authorization, token);
  }

  /** A task config from a request body: no interpolation, every file path confined. */
  async function taskConfig(req: IncomingMessage): Promise<TaskConfig> {
    const text = await readBody(req, maxBody);
    const isJson = (req.headers['content-type'] ?? '').includes('json');
    const source = 'the request body';
    const config = parseTaskConfig(text, { format: isJson ? 'json' : 'yaml', source, interpolation: 'refuse' });
    const issues = await confinePaths(config, dataDir);
    // What the runtime is handed is validated again (and interpolated, for embedders): it must hold no placeholder either.
    refusePlaceholders(config, issues, source);
    if (issues.length > 0) throw new ConfigError(issues, source);
    return config;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    if (target === '/healthz' || target.startsWith('/healthz?')) {
      if (method !== 'GET' && method !== 'HEAD') throw notAllowed(method, '/healthz', 'GET');
      return send(res, 200, { status: 'ok' });
    }
    const auth = authorized(req);
    const isReadyz = target === '/readyz' || target.startsWith('/readyz?');
    if (auth !== 'ok' && !(isReadyz && method === 'GET')) {
      throw new HttpError(
        401,
        'UNAUTHORIZED',
        auth === 'missing' ? 'this route needs the management API token' : 'the management API token is wrong',
        'Send "Authorization: Bearer <token>" (the tributary CLI sends $TRIBUTARY_HTTP_TOKEN).',
        { 'www-authenticate': `Bearer realm="tributary"${auth === 'invalid' ? ', error="invalid_token"' : ''}` },
      );
    }

    const { segments, query } = route(target);
    const path = `/${segments.join('/')}`;
    if (segments.length === 1 && segments[0] === 'readyz') {
      if (method !== 'GET') throw notAllowed(method, path, 'GET');
      const tasks = runtime.list().map((t) => ({ task: t.id, state: t.status.state, healthy: t.status.healthy, lastError: t.status.lastError?.message ?? null }));
      const ready = tasks.every((t) => t.healthy);
      // Without the token: ready or not, nothing about the tasks.
      return send(res, ready ? 200 : 503, auth === 'ok' ? { ready, tasks } : { ready });
    }
    if (segments.length === 1 && segments[0] === 'metrics') {
      if (method !== 'GET') throw notAllowed(method, path, 'GET');
      return send(res, 200, await renderMetrics(runtime.list()), 'text/plain; version=0.0.4');
    }
    if (segments[0] !== 'tasks' || segments.length > 3) throw new HttpError(404, 'NO_ROUTE', `no route ${method} ${path}`, 'See the HTTP API section of the README.');

    if (segments.length === 1) {
      if (method === 'GET') return send(res, 200, runtime.list().map((t) => t.status));
      if (method === 'POST') {
        const task = runtime.add(await taskConfig(req));
        if (query.get('start') !== 'false') task.start();
        return send(res, 201, describe(task));
      }
      throw notAllowed(method, path, 'GET or POST');
    }
    const task = runtime.get(taskId(segments[1] ?? ''));
    const action = segments[2];
    if (action === undefined) {
      if (method === 'GET') return send(res, 200, describe(task));
      if (method === 'PUT') {
        const modified = await runtime.modify(task.id, await taskConfig(req));
        return send(res, 200, describe(modified));
      }
      if (method === 'DELETE') {
        await runtime.remove(task.id);
        return send(res, 200, { deleted: task.id });
      }
      throw notAllowed(method, path, 'GET, PUT or DELETE');
    }
    switch (action) {
      case 'start':
      case 'pause':
      case 'resume':
      case 'stop':
      case 'restart':
      case 'release':
      case 'ignore-alert':
        if (method !== 'POST') throw notAllowed(method, path, 'POST');
        break;
      case 'throttle':
        if (method !== 'PUT' && method !== 'POST') throw notAllowed(method, path, 'PUT');
        break;
      case 'offsets':
        if (method !== 'GET') throw notAllowed(method, path, 'GET');
        return send(res, 200, { task: task.id, position: task.status.position, state: task.status.state });
      default:
        throw new HttpError(404, 'NO_ROUTE', `no action '${action}'`, 'Actions: start, pause, resume, stop, restart, release, ignore-alert, throttle, offsets.');
    }
    switch (action) {
      case 'start':
        task.start();
        return send(res, 202, task.status);
      case 'pause':
        task.pause();
        return send(res, 202, task.status);
      case 'resume':
        task.resume();
        return send(res, 202, task.status);
      case 'stop':
        await task.stop();
        return send(res, 200, task.status);
      case 'restart':
        await task.stop();
        task.start();
        return send(res, 202, task.status);
      case 'release':
        task.release();
        return send(res, 202, task.status);
      case 'ignore-alert': {
        const expected = '{"itemId": "<precheck item id>"}';
        const body = jsonObject(await readBody(req, maxBody), expected);
        const extra = Object.keys(body).filter((k) => k !== 'itemId');
        if (typeof body.itemId !== 'string' || body.itemId === '' || extra.length > 0) {
          throw new HttpError(400, 'INVALID_BODY', `the body must be ${expected}${extra.length > 0 ? `; unknown field(s): ${extra.join(', ')}` : ''}`, 'Name the precheck item to ignore (GET /tasks/:id shows the precheck items and their ids).');
        }
        task.ignoreAlert(body.itemId);
        return send(res, 202, task.status);
      }
      default: {
        // throttle
        const expected = `a JSON object with any of ${THROTTLES.join(', ')}`;
        const body = jsonObject(await readBody(req, maxBody), expected);
        const bad = Object.entries(body).filter(([k, v]) => !(THROTTLES as readonly string[]).includes(k) || (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)));
        if (bad.length > 0) {
          throw new HttpError(400, 'INVALID_THROTTLE', `invalid throttle field(s): ${bad.map(([k]) => k).join(', ')}; allowed: ${THROTTLES.join(', ')}`, 'Give each a finite number >= 0 (0 or null lifts the limit); leave a field out to keep its value.');
        }
        // 0 and null lift a limit; a field left out keeps its value.
        task.setThrottle(body as ThrottleUpdate);
        return send(res, 200, task.status.throttle);
      }
    }
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
