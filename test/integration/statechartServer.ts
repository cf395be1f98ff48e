/**
 * A tiny node:http server that mounts the state-chart page as src/http/statechart/index.ts says
 * (GET /ui, /ui/assets/:name, /tasks, /tasks/:id/chart, /tasks/:id/events), for tests.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { chartOf, createInspectionHub, SSE_HEADERS, statechartPage, type InspectionHub } from '../../src/http/statechart/index.js';
import type { Runtime } from '../../src/runtime/createRuntime.js';

export interface StatechartServer {
  url: string;
  hub: InspectionHub;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

export async function serveStatechart(runtime: Runtime): Promise<StatechartServer> {
  const hub = createInspectionHub(runtime);
  const page = statechartPage();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (req.method !== 'GET') return sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'GET only' } });
      if (path === '/ui') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(page.html);
      }
      if (parts[0] === 'ui' && parts[1] === 'assets' && parts.length === 3) {
        const asset = page.assets[parts[2] as string];
        if (!asset) return sendJson(res, 404, { error: { code: 'NO_ASSET', message: `no asset ${parts[2]}` } });
        res.writeHead(200, { 'content-type': asset.type });
        return res.end(asset.body);
      }
      if (path === '/tasks') return sendJson(res, 200, runtime.list().map((t) => t.status));
      if (parts[0] === 'tasks' && parts.length === 3 && parts[2] === 'chart') return sendJson(res, 200, chartOf(runtime.get(parts[1] as string)));
      if (parts[0] === 'tasks' && parts.length === 3 && parts[2] === 'events') {
        runtime.get(parts[1] as string);
        res.writeHead(200, SSE_HEADERS);
        const stop = hub.subscribe(parts[1] as string, (chunk) => res.write(chunk));
        req.on('close', stop);
        return;
      }
      return sendJson(res, 404, { error: { code: 'NO_ROUTE', message: `no route ${path}` } });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return sendJson(res, e.code === 'UNKNOWN_TASK' ? 404 : 500, { error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) } });
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hub,
    async close() {
      hub.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
