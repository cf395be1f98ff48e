/**
 * A protocol stand-in for a Confluent schema registry, NOT a real registry (none can be run here):
 * just the documented endpoints the sink uses, with their documented answers.
 * - POST /subjects/{subject}/versions, body {"schema": "<json>"} → 200 {"id": N}. Ids are global
 *   per distinct schema, so re-registering the same schema (any subject) returns the same id.
 *   A different schema under a subject that has one → 409 {"error_code": 409, "message": ...}
 *   (as with the default BACKWARD compatibility and an incompatible change); unparseable schema →
 *   422 {"error_code": 42201}.
 * - GET /schemas/ids/{id} → 200 {"schema": "<json>"}; unknown → 404 {"error_code": 40403}.
 * - Optional basic auth: 401 {"error_code": 401} without the right Authorization header.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RegistryStandIn {
  url: string;
  requests: Array<{ method: string; path: string; contentType: string | undefined; body: string }>;
  close(): Promise<void>;
}

export async function startRegistryStandIn(opts: { auth?: { username: string; password: string } } = {}): Promise<RegistryStandIn> {
  const ids = new Map<string, number>();
  const schemas = new Map<number, string>();
  const subjects = new Map<string, number>();
  const requests: RegistryStandIn['requests'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const path = req.url ?? '';
      requests.push({ method: req.method ?? '', path, contentType: req.headers['content-type'], body });
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
        res.end(JSON.stringify(payload));
      };
      if (opts.auth && req.headers.authorization !== `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`) {
        reply(401, { error_code: 401, message: 'Unauthorized' });
        return;
      }
      const post = /^\/subjects\/([^/]+)\/versions$/.exec(path);
      if (req.method === 'POST' && post?.[1]) {
        const subject = decodeURIComponent(post[1]);
        let canonical: string;
        try {
          canonical = JSON.stringify(JSON.parse((JSON.parse(body) as { schema: string }).schema));
        } catch {
          reply(422, { error_code: 42201, message: 'Invalid schema' });
          return;
        }
        let id = ids.get(canonical);
        const existing = subjects.get(subject);
        if (existing !== undefined && existing !== id) {
          reply(409, { error_code: 409, message: 'Schema being registered is incompatible with an earlier schema for subject "' + subject + '"' });
          return;
        }
        if (id === undefined) {
          id = ids.size + 1;
          ids.set(canonical, id);
          schemas.set(id, canonical);
        }
        subjects.set(subject, id);
        reply(200, { id });
        return;
      }
      const get = /^\/schemas\/ids\/(\d+)$/.exec(path);
      if (req.method === 'GET' && get?.[1]) {
        const s = schemas.get(Number(get[1]));
        if (s === undefined) reply(404, { error_code: 40403, message: 'Schema not found' });
        else reply(200, { schema: s });
        return;
      }
      reply(404, { error_code: 404, message: 'HTTP 404 Not Found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}
