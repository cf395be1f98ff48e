import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseTaskConfig } from '../config/load.js';
import { redactConfig } from '../config/redact.js';
import { TributaryError } from '../core/errors.js';
import { renderMetrics } from '../observe/metrics.js';
import type { Runtime } from '../runtime/createRuntime.js';
import type { TaskRunner } from '../runtime/task.js';
import type { ThrottleUpdate } from '../../machines/index.js';

export interface HttpApi {
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) : String(body);
  res.writeHead(status, { 'content-type': type === 'application/json' ? 'application/json; charset=utf-8' : type });
  res.end(text);
}

function describe(task: TaskRunner) {
  return { ...task.status, config: redactConfig(task.options) };
}

/**
 * The management API: tasks (create, list, get, delete, start/pause/resume/stop/restart/release,
 * throttle, offsets), `/healthz` (the process is up), `/readyz` (every task is healthy, not merely
 * running) and `/metrics` (Prometheus). Responses never contain secrets.
 */
export function serveHttp(runtime: Runtime, opts: { port: number; host?: string }): Promise<HttpApi> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return send(res, err.status, err.body ?? { error: err.message });
      if (err instanceof TributaryError) return send(res, err.code === 'UNKNOWN_TASK' ? 404 : 400, { error: err.toJSON(), ...('issues' in err ? { issues: (err as { issues: unknown }).issues } : {}) });
      send(res, 500, { error: (err as Error).message });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/healthz') return send(res, 200, { status: 'ok' });
    if (method === 'GET' && url.pathname === '/readyz') {
      const tasks = runtime.list().map((t) => ({ task: t.id, state: t.status.state, healthy: t.status.healthy, lastError: t.status.lastError?.message ?? null }));
      const ready = tasks.every((t) => t.healthy);
      return send(res, ready ? 200 : 503, { ready, tasks });
    }
    if (method === 'GET' && url.pathname === '/metrics') return send(res, 200, await renderMetrics(runtime.list()), 'text/plain; version=0.0.4');
    if (parts[0] !== 'tasks') throw new HttpError(404, `no route ${method} ${url.pathname}`);

    if (parts.length === 1) {
      if (method === 'GET') return send(res, 200, runtime.list().map((t) => t.status));
      if (method === 'POST') {
        const text = await readBody(req);
        const isJson = (req.headers['content-type'] ?? '').includes('json');
        const config = parseTaskConfig(text, { format: isJson ? 'json' : 'yaml', source: 'request body' });
        const task = runtime.add(config);
        if (url.searchParams.get('start') !== 'false') task.start();
        return send(res, 201, describe(task));
      }
      throw new HttpError(405, `${method} not allowed on /tasks`);
    }
    const task = runtime.get(decodeURIComponent(parts[1] ?? ''));
    const action = parts[2];
    if (action === undefined) {
      if (method === 'GET') return send(res, 200, describe(task));
      if (method === 'PUT') {
        const text = await readBody(req);
        const isJson = (req.headers['content-type'] ?? '').includes('json');
        const modified = await runtime.modify(task.id, parseTaskConfig(text, { format: isJson ? 'json' : 'yaml', source: 'request body' }));
        return send(res, 200, describe(modified));
      }
      if (method === 'DELETE') {
        await runtime.remove(task.id);
        return send(res, 200, { deleted: task.id });
      }
      throw new HttpError(405, `${method} not allowed on /tasks/${task.id}`);
    }
    if (method === 'POST') {
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
          const body = JSON.parse((await readBody(req)) || '{}') as { itemId?: string };
          if (!body.itemId) throw new HttpError(400, 'body must be {"itemId": "<precheck item id>"}');
          task.ignoreAlert(body.itemId);
          return send(res, 202, task.status);
        }
        default:
          throw new HttpError(404, `no action '${action}'`);
      }
    }
    if (action === 'throttle' && (method === 'PUT' || method === 'POST')) {
      const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
      const allowed = ['fullQps', 'fullRps', 'fullMBps', 'incrementalRps', 'incrementalMBps'];
      const bad = Object.entries(body).filter(([k, v]) => !allowed.includes(k) || (v !== null && (typeof v !== 'number' || !(v >= 0))));
      if (bad.length > 0) throw new HttpError(400, `invalid throttle fields: ${bad.map(([k]) => k).join(', ')}; allowed: ${allowed.join(', ')} (non-negative numbers, 0 or null = unlimited)`);
      // 0 and null lift a limit; a field left out keeps its value.
      task.setThrottle(body as ThrottleUpdate);
      return send(res, 200, task.status.throttle);
    }
    if (action === 'offsets' && method === 'GET') {
      return send(res, 200, { task: task.id, position: task.status.position, state: task.status.state });
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
