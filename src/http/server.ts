import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fastify, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema, type FastifySchemaValidationError, type HTTPMethods } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { z } from 'zod';
import { parseTaskConfig, refusePlaceholders } from '../config/load.js';
import { collectSecrets, redactConfig, redactText } from '../config/redact.js';
import type { TaskConfig } from '../config/schema.js';
import { shippedSchemas } from '../config/shipped.js';
import { ConfigError, TributaryError, type ConfigIssue } from '../core/errors.js';
import { createMetrics } from '../observe/metrics.js';
import type { Runtime } from '../runtime/createRuntime.js';
import type { TaskRunner } from '../runtime/task.js';
import type { ThrottleUpdate } from '../../machines/index.js';
import { bearerMatches, checkTokenSetting } from './auth.js';
import { confinePaths, realDataDir } from './confine.js';
import { HttpError, printable } from './errors.js';
import { clusterAssignmentSchema, clusterWrites, clusterWriteSchema, routeInCluster, type ClusterApi } from './cluster.js';
import { chartOf, createInspectionHub, SSE_HEADERS, statechartPage } from './statechart/index.js';
import { errorBodySchema, ignoreAlertBodySchema, readyzSchema, taskDetailSchema, taskStatusSchema, THROTTLE_FIELDS, throttleBodySchema, throttleSchema } from './schemas.js';

/** A running management API, as {@link serveHttp} resolves it. */
export interface HttpApi {
  /** The underlying Node HTTP server. */
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
  /** Every route the API serves (method and path pattern), as listed in `GET /openapi.json`. */
  routes: ReadonlyArray<{ method: string; url: string }>;
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
   * Bearer token every route but `/healthz` and the static state-chart page requires (`/readyz`
   * answers without it, but only ready or not). At least 16 printable characters. Without one (loopback only) the API is open
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
  /**
   * The cluster this runtime is the worker of (`serveHttp(cluster.runtime, { cluster })`): the API
   * answers for the whole cluster (`GET /cluster`; task writes made by the leader, forwarded to it;
   * requests about a task another worker runs forwarded to that worker). See `./cluster.ts`.
   */
  cluster?: ClusterApi;
}

/**
 * Every error response has this one shape: a stable `code`, a `message`, often a `fix`, and for an
 * invalid task config every `issue` with its path.
 */
export interface ErrorBody {
  error: { code: string; message: string; fix?: string; issues?: readonly ConfigIssue[] };
}


/** How a route treats its request body and who may call it (its fastify `config`). */
interface RouteConfig {
  /** `public`: no token needed; `optional`: answered without the token, with less. Default: the token is required. */
  auth?: 'public' | 'optional';
  /** `config`: the raw text of a task config (YAML or JSON); `json`: a JSON value (empty body: `{}`). Default: the body is left unread. */
  body?: 'config' | 'json';
  /** The 400 for a body that does not match the route's schema. */
  invalidBody?: (errors: readonly FastifySchemaValidationError[], body: unknown) => HttpError;
  /** The catch-all routes (405 for the methods a path does not take, 404 for unknown actions): not operations of the API, not documented. */
  catchAll?: boolean;
}
const configOf = (request: FastifyRequest): RouteConfig => request.routeOptions.config as RouteConfig;

const TASK_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const DEFAULT_MAX_BODY = 1024 * 1024;
const README_FIX = 'See the HTTP API section of the README, or GET /openapi.json.';


function utf8(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new HttpError(400, 'BAD_ENCODING', 'the request body is not valid UTF-8', 'Send the body encoded as UTF-8.');
  }
}

/** A JSON body (an empty body is `{}`); what it must be is the route's schema. */
function json(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'INVALID_JSON', `the request body is not valid JSON: ${(err as Error).message}`, 'Send a JSON object (GET /openapi.json gives its schema).');
  }
}

const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`);

function stringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

function describeTask(task: TaskRunner) {
  return { ...task.status, config: redactConfig(task.options) };
}

function checkTaskId(segment: string): string {
  if (!TASK_ID.test(segment)) {
    throw new HttpError(400, 'INVALID_TASK_ID', `'${printable(segment)}' is not a task id: task ids are 1-63 lowercase letters, digits, "-" and "_", starting with a letter or digit`, 'Use the task name as it is in its config (GET /tasks lists them).');
  }
  return segment;
}

/** The fields a schema error is about: the property named in the path, or the unknown one. */
function fieldsOf(errors: readonly FastifySchemaValidationError[]): string[] {
  const fields = errors.map((e) => (e.keyword === 'additionalProperties' ? String(e.params.additionalProperty) : e.keyword === 'required' ? String(e.params.missingProperty) : e.instancePath.split('/')[1] ?? ''));
  return [...new Set(fields.filter((f) => f !== ''))];
}

const isRootTypeError = (errors: readonly FastifySchemaValidationError[]) => errors.some((e) => e.instancePath === '' && e.keyword === 'type');

function invalidThrottle(errors: readonly FastifySchemaValidationError[], body: unknown): HttpError {
  const expected = `a JSON object with any of ${THROTTLE_FIELDS.join(', ')}`;
  if (isRootTypeError(errors)) return new HttpError(400, 'INVALID_BODY', `the request body must be a JSON object, not ${kindOf(body)}`, `Send ${expected}.`);
  return new HttpError(400, 'INVALID_THROTTLE', `invalid throttle field(s): ${fieldsOf(errors).join(', ')}; allowed: ${THROTTLE_FIELDS.join(', ')}`, 'Give each a finite number >= 0 (0 or null lifts the limit); leave a field out to keep its value.');
}

function invalidIgnoreAlert(errors: readonly FastifySchemaValidationError[], body: unknown): HttpError {
  const expected = '{"itemId": "<precheck item id>"}';
  if (isRootTypeError(errors)) return new HttpError(400, 'INVALID_BODY', `the request body must be a JSON object, not ${kindOf(body)}`, `Send ${expected}.`);
  const extra = errors.filter((e) => e.keyword === 'additionalProperties').map((e) => String(e.params.additionalProperty));
  return new HttpError(400, 'INVALID_BODY', `the body must be ${expected}${extra.length > 0 ? `; unknown field(s): ${extra.join(', ')}` : ''}`, 'Name the precheck item to ignore (GET /tasks/:id shows the precheck items and their ids).');
}

/** Fastify's own errors (parsing, limits, media types) in the one shape. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message?: string; fix?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE', fix: 'Send a smaller body.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'the Content-Type header is not a valid media type', fix: 'Send "Content-Type: application/json" (or application/yaml for a task config).' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_CONTENT_LENGTH', message: 'the body is not as long as its Content-Length header says', fix: 'Send a Content-Length that matches the body, or none.' },
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_PATH', message: 'the request path has an invalid percent-encoding', fix: 'Encode the path with encodeURIComponent: "%" followed by two hex digits of UTF-8.' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'PATH_TOO_LONG', message: 'a segment of the request path is too long', fix: 'Task ids are at most 63 characters.' },
};

const ALL_METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** Raw HTTP-level errors (bad request line or headers) still answer in the one shape. */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy(err);
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'the request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'the request took too long to arrive']
        : [400, 'Bad Request', 'BAD_REQUEST', 'the request is not valid HTTP/1.1'];
  const body = stringify({ error: { code, message } } satisfies ErrorBody);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * The management API: tasks (create, list, get, delete, start/pause/resume/stop/restart/release,
 * throttle, offsets), `/healthz` (the process is up), `/readyz` (every task is healthy, not merely
 * running), `/metrics` (Prometheus), `/openapi.json` (this API as OpenAPI 3.1) and the state-chart
 * page (`/ui`). Responses never contain secrets; every error is
 * `{ "error": { "code", "message", "fix"?, "issues"? } }`. With a `token`, every route but
 * `/healthz` and the static page (`/ui`, `/ui/assets/*`) needs `Authorization: Bearer <token>`
 * (`/readyz` without it says only whether the process is ready). `${ENV}` interpolation never runs on request bodies: a body holding `${` is
 * refused.
 *
 * Refuses to start (rejects) on a host that is not loopback without a token, or an unusable token.
 *
 * @example
 * ```ts
 * import { createRuntime, serveHttp } from 'tributary';
 *
 * const runtime = createRuntime();
 * const http = await serveHttp(runtime, { port: 8470, token: process.env.TRIBUTARY_HTTP_TOKEN });
 * console.log(`management API on http://127.0.0.1:${http.port}`); // GET /tasks, /metrics, /readyz, /openapi.json ...
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
  const cluster = opts.cluster;
  const writes = cluster ? clusterWrites(cluster) : null;
  const metrics = createMetrics(runtime);

  const app = fastify({
    bodyLimit: maxBody,
    exposeHeadRoutes: false,
    // While closing, requests on open connections are still answered (fastify's 503 has its own shape).
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true, allowUnionTypes: true } },
    frameworkErrors: (err, request, reply) => {
      // Routing failed (a bad percent-encoding): authentication still comes first.
      const auth = authState(request);
      void sendError(reply, auth === 'ok' ? err : unauthorized(auth));
    },
    clientErrorHandler: clientError,
  });
  /** Requests that carried the token (all of them when the server has none). */
  const authenticated = new WeakSet<FastifyRequest>();
  app.setReplySerializer((payload) => stringify(payload));
  // Response schemas document the API; responses are written as they are (every field of a status).
  app.setSerializerCompiler(() => (data) => stringify(data));

  function authState(request: FastifyRequest): 'ok' | 'missing' | 'invalid' {
    return token === undefined ? 'ok' : bearerMatches(request.headers.authorization, token);
  }
  function unauthorized(auth: 'missing' | 'invalid'): HttpError {
    return new HttpError(
      401,
      'UNAUTHORIZED',
      auth === 'missing' ? 'this route needs the management API token' : 'the management API token is wrong',
      'Send "Authorization: Bearer <token>" (the tributary CLI sends $TRIBUTARY_HTTP_TOKEN).',
      { 'www-authenticate': `Bearer realm="tributary"${auth === 'invalid' ? ', error="invalid_token"' : ''}` },
    );
  }

  function errorResponse(err: unknown, request?: FastifyRequest): { status: number; body: ErrorBody; headers?: Record<string, string> } {
    const plain = (status: number, code: string, message: string, fix?: string) => ({ status, body: { error: { code, message, ...(fix !== undefined ? { fix } : {}) } } });
    if (err instanceof HttpError) return { ...plain(err.status, err.code, err.message, err.fix), headers: err.headers };
    if (err instanceof ConfigError) return { status: 400, body: { error: { code: err.code, message: err.message, issues: err.issues } } };
    if (err instanceof TributaryError) return plain(err.code === 'UNKNOWN_TASK' ? 404 : err.code === 'TASK_EXISTS' ? 409 : 400, err.code, err.message, err.fix);
    const f = err as Partial<FastifyError>;
    if (Array.isArray(f.validation)) {
      const invalidBody = request ? configOf(request).invalidBody : undefined;
      if (f.validationContext === 'body' && invalidBody) return errorResponse(invalidBody(f.validation, request?.body), request);
      if (f.validationContext === 'params') return errorResponse(new HttpError(400, 'INVALID_TASK_ID', `the request path is not valid: ${f.message ?? ''}`, 'Use the task name as it is in its config (GET /tasks lists them).'));
      return plain(400, 'INVALID_REQUEST', `the request is not valid: ${f.message ?? ''}`, README_FIX);
    }
    const known = typeof f.code === 'string' ? FASTIFY_ERRORS[f.code] : undefined;
    if (known) return plain(known.status, known.code, f.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `the request body is over ${maxBody} bytes` : (known.message ?? f.message ?? known.code), known.fix);
    if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500 && typeof f.message === 'string') {
      return plain(f.statusCode, typeof f.code === 'string' ? f.code.replace(/^FST_ERR_/, '') : 'BAD_REQUEST', f.message, README_FIX);
    }
    // Not expected: say what happened, without any secret of a loaded task.
    const secrets = runtime.list().flatMap((t) => collectSecrets(t.options));
    return plain(500, 'INTERNAL', redactText(err instanceof Error ? err.message : String(err), secrets));
  }

  function sendError(reply: FastifyReply, err: unknown): FastifyReply {
    const { status, body, headers } = errorResponse(err, reply.request);
    return reply
      .code(status)
      .headers(headers ?? {})
      .type('application/json; charset=utf-8')
      .send(stringify(body));
  }
  app.setErrorHandler((err, _request, reply) => sendError(reply, err));
  app.setNotFoundHandler((request) => {
    throw new HttpError(404, 'NO_ROUTE', `no route ${request.method} ${printable(request.url.split('?')[0] ?? '', 200)}`, README_FIX);
  });

  // Authentication, then the task id of the path (validated, and known) before any body is read.
  app.addHook('onRequest', async (request, reply) => {
    const config = configOf(request);
    if (config.auth === 'public') return;
    const auth = authState(request);
    if (auth !== 'ok' && config.auth !== 'optional') throw unauthorized(auth);
    if (auth === 'ok') authenticated.add(request);
    const id = (request.params as { id?: unknown } | undefined)?.id;
    const taskId = typeof id === 'string' ? checkTaskId(id) : undefined;
    const where = cluster ? await routeInCluster(cluster, runtime, request, reply, taskId) : 'local';
    if (where === 'forwarded') return reply;
    if (where === 'local' && taskId !== undefined) runtime.get(taskId);
  });

  // Bodies are read only by the routes that take one (registered below with their parser).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => {
    payload.resume();
    done(null, undefined);
  });

  /** A task config from a request body: no interpolation, every file path confined. */
  async function taskConfig(request: FastifyRequest): Promise<TaskConfig> {
    const text = typeof request.body === 'string' ? request.body : '';
    const isJson = (request.headers['content-type'] ?? '').includes('json');
    const source = 'the request body';
    const config = parseTaskConfig(text, { format: isJson ? 'json' : 'yaml', source, interpolation: 'refuse' });
    const issues = await confinePaths(config, dataDir);
    // What the runtime is handed is validated again (and interpolated, for embedders): it must hold no placeholder either.
    refusePlaceholders(config, issues, source);
    if (issues.length > 0) throw new ConfigError(issues, source);
    return config;
  }

  const taskOf = (request: FastifyRequest) => runtime.get((request.params as { id: string }).id);
  const errors = { '4xx': { $ref: 'ErrorBody#' }, '5xx': { $ref: 'ErrorBody#' } } as const;
  const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: TASK_ID.source, description: 'The task name.' } } } as const;
  const documented: Array<{ method: string; url: string }> = [];
  const allowed = new Map<string, { methods: Set<string>; auth?: 'public' | 'optional' }>();
  app.addHook('onRoute', (route) => {
    const config = route.config as RouteConfig | undefined;
    if (config?.catchAll) return;
    const methods = ([] as string[]).concat(route.method);
    for (const method of methods) documented.push({ method, url: route.url });
    const entry = allowed.get(route.url) ?? { methods: new Set<string>() };
    for (const method of methods) entry.methods.add(method);
    if (config?.auth === 'public') entry.auth = 'public';
    allowed.set(route.url, entry);
  });

  for (const [id, schema] of Object.entries({ ErrorBody: errorBodySchema, TaskStatus: taskStatusSchema, TaskDetail: taskDetailSchema, Throttle: throttleSchema, Readiness: readyzSchema })) {
    app.addSchema({ $id: id, ...schema });
  }
  if (cluster) for (const [id, schema] of Object.entries({ ClusterAssignment: clusterAssignmentSchema, ClusterWrite: clusterWriteSchema })) app.addSchema({ $id: id, ...schema });
  const taskConfigJsonSchema = (() => {
    const { $schema: _drop, ...rest } = z.toJSONSchema(shippedSchemas().file, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    return { ...rest, description: 'A task config, as in a task file (YAML or JSON); `${ENV}` placeholders are refused.' };
  })();
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tributary management API',
        version: '1.0.0',
        description: 'Tasks of a Tributary runtime: create, modify, control and observe them. Every error is `{ "error": { "code", "message", "fix"?, "issues"? } }`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'The token given to serveHttp (TRIBUTARY_HTTP_TOKEN for `tributary run --http`). Required by every route but /healthz when the server has one.' },
        },
      },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (documentObject) => {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
      const doc = documentObject.openapiObject as { components?: { schemas?: Record<string, unknown> }; paths?: Record<string, Record<string, Record<string, unknown>>> };
      doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, TaskConfig: taskConfigJsonSchema } };
      const ref = { schema: { $ref: '#/components/schemas/TaskConfig' } };
      for (const [path, method] of [['/tasks', 'post'], ['/tasks/{id}', 'put']] as const) {
        const op = doc.paths?.[path]?.[method];
        if (op) op.requestBody = { required: true, description: 'The task config, YAML or JSON (by Content-Type: JSON when it contains "json", YAML otherwise).', content: { 'application/json': ref, 'application/yaml': ref } };
      }
      // An empty throttle body is `{}`: nothing changes.
      for (const method of ['put', 'post']) {
        const body = doc.paths?.['/tasks/{id}/throttle']?.[method]?.requestBody as { required?: boolean } | undefined;
        if (body) body.required = false;
      }
      return documentObject.openapiObject;
    },
  });

  const route = (
    instance: FastifyInstance,
    method: HTTPMethods | HTTPMethods[],
    url: string,
    schema: FastifySchema & Record<string, unknown>,
    config: RouteConfig,
    handler: (request: FastifyRequest, reply: FastifyReply) => unknown,
  ) => instance.route({ method, url, schema, config, handler: async (request, reply) => handler(request, reply) });

  route(app, ['GET', 'HEAD'], '/healthz', { summary: 'The process is up', security: [], response: { 200: { type: 'object', properties: { status: { const: 'ok' } } }, ...errors } }, { auth: 'public' }, () => ({ status: 'ok' }));
  route(app, 'GET', '/readyz', { summary: 'Every task is healthy', description: 'Without the token only `{ ready }`.', security: [{ bearer: [] }, {}], response: { 200: { $ref: 'Readiness#' }, 503: { $ref: 'Readiness#' }, ...errors } }, { auth: 'optional' }, (request, reply) => {
    const tasks = runtime.list().map((t) => ({ task: t.id, state: t.status.state, healthy: t.status.healthy, lastError: t.status.lastError?.message ?? null }));
    const ready = tasks.every((t) => t.healthy);
    // Without the token: ready or not, nothing about the tasks.
    return reply.code(ready ? 200 : 503).send(authenticated.has(request) ? { ready, tasks } : { ready });
  });
  route(app, 'GET', '/metrics', { summary: 'Prometheus metrics', response: { 200: { description: 'Prometheus text exposition format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors } }, {}, async (_request, reply) =>
    reply.type(metrics.contentType).send(await metrics.render()),
  );
  route(app, 'GET', '/openapi.json', { summary: 'This API as OpenAPI 3.1', response: { 200: { type: 'object', additionalProperties: true }, ...errors } }, {}, () => app.swagger());

  // Tasks.
  route(app, 'GET', '/tasks', { summary: 'Every task', response: { 200: { type: 'array', items: { $ref: 'TaskStatus#' } }, ...errors } }, {}, () => runtime.list().map((t) => t.status));
  route(app, 'GET', '/tasks/:id', { summary: 'One task, with its config (secrets masked)', params: idParams, response: { 200: { $ref: 'TaskDetail#' }, ...errors } }, {}, (request) => describeTask(taskOf(request)));
  if (cluster && writes) {
    route(app, 'GET', '/cluster', { summary: "The cluster's assignment: members, epoch, leader, which worker runs which task", response: { 200: { $ref: 'ClusterAssignment#' }, ...errors } }, {}, () => cluster.assignment());
    route(app, 'DELETE', '/tasks/:id', { summary: 'Remove a task from the cluster (made by the leader); its worker stops it and releases its slot, publication and position', params: idParams, response: { 202: { $ref: 'ClusterWrite#' }, ...errors } }, {}, async (request, reply) =>
      reply.code(202).send(await writes.remove((request.params as { id: string }).id)),
    );
  } else {
    route(app, 'DELETE', '/tasks/:id', { summary: 'Stop and forget a task (slot and checkpoint stay)', params: idParams, response: { 200: { type: 'object', required: ['deleted'], properties: { deleted: { type: 'string' } } }, ...errors } }, {}, async (request) => {
      const task = taskOf(request);
      await runtime.remove(task.id);
      return { deleted: task.id };
    });
  }
  const action = (instance: FastifyInstance, name: string, summary: string, status: 200 | 202, run: (task: TaskRunner, request: FastifyRequest) => Promise<void> | void, extra: FastifySchema = {}, config: RouteConfig = {}) =>
    route(instance, 'POST', `/tasks/:id/${name}`, { summary, params: idParams, ...extra, response: { [status]: { $ref: 'TaskStatus#' }, ...errors } }, config, async (request, reply) => {
      const task = taskOf(request);
      await run(task, request);
      return reply.code(status).send(task.status);
    });
  action(app, 'start', 'Start a task (a stopped one runs again: prechecks, then from its checkpoint)', 202, (t) => t.start());
  if (writes) {
    // The target state of a task in the cluster, made by the leader: its worker follows it, and so would the next one.
    for (const [name, summary, write] of [['pause', 'Pause a task of the cluster (made by the leader)', writes.pause], ['resume', 'Resume a paused task of the cluster (made by the leader)', writes.resume]] as const) {
      route(app, 'POST', `/tasks/:id/${name}`, { summary, params: idParams, response: { 202: { $ref: 'ClusterWrite#' }, ...errors } }, {}, async (request, reply) => reply.code(202).send(await write((request.params as { id: string }).id)));
    }
  } else {
    action(app, 'pause', 'Pause a task', 202, (t) => t.pause());
    action(app, 'resume', 'Resume a paused task', 202, (t) => t.resume());
  }
  action(app, 'stop', 'Stop a task, confirming and checkpointing what was acknowledged', 200, (t) => t.stop());
  action(app, 'restart', 'Stop, then start a task', 202, async (t) => {
    await t.stop();
    t.start();
  });
  action(app, 'release', "Release a task's slot, publication, helper objects and checkpoint", 202, (t) => t.release());
  route(
    app,
    'GET',
    '/tasks/:id/offsets',
    { summary: 'The confirmed source position', params: idParams, response: { 200: { type: 'object', required: ['task', 'position', 'state'], properties: { task: { type: 'string' }, position: { type: ['string', 'null'] }, state: { type: 'string' } } }, ...errors } },
    {},
    (request) => {
      const task = taskOf(request);
      return { task: task.id, position: task.status.position, state: task.status.state };
    },
  );

  // The routes that take a body, with their parser: read up to maxBodyBytes, UTF-8, then a task
  // config's raw text (YAML or JSON, parsed by the config loader) or a JSON value (checked by the
  // route's schema). Everywhere else a body is left unread.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, async (request: FastifyRequest, body: Buffer | string) => {
      const text = utf8(Buffer.isBuffer(body) ? body : Buffer.from(body));
      return configOf(request).body === 'config' ? text : json(text);
    });
    route(
      scope,
      'POST',
      '/tasks',
      { summary: writes ? 'Add a task to the cluster (made by the leader; the next assignment starts it)' : 'Add a task (and start it)', querystring: { type: 'object', properties: { start: { type: 'string', description: '`false` only adds the task; anything else also starts it (in a cluster a task put always runs).' } } }, response: writes ? { 202: { $ref: 'ClusterWrite#' }, ...errors } : { 201: { $ref: 'TaskDetail#' }, ...errors } },
      { body: 'config' },
      async (request, reply) => {
        if (writes) return reply.code(202).send(await writes.create(await taskConfig(request)));
        const task = runtime.add(await taskConfig(request));
        if ((request.query as { start?: string }).start !== 'false') task.start();
        return reply.code(201).send(describeTask(task));
      },
    );
    route(scope, 'PUT', '/tasks/:id', { summary: 'Modify a task (it continues from its checkpoint)', params: idParams, response: writes ? { 202: { $ref: 'ClusterWrite#' }, ...errors } : { 200: { $ref: 'TaskDetail#' }, ...errors } }, { body: 'config' }, async (request, reply) => {
      if (writes) return reply.code(202).send(await writes.modify((request.params as { id: string }).id, await taskConfig(request)));
      const task = taskOf(request);
      return describeTask(await runtime.modify(task.id, await taskConfig(request)));
    });
    action(scope, 'ignore-alert', 'Ignore a precheck item that warned or failed', 202, (t, request) => t.ignoreAlert((request.body as { itemId: string }).itemId), { body: ignoreAlertBodySchema }, { body: 'json', invalidBody: invalidIgnoreAlert });
    route(
      scope,
      ['PUT', 'POST'],
      '/tasks/:id/throttle',
      { summary: 'Change throttles: a number sets a limit, 0 or null lifts it, a field left out keeps its value', params: idParams, body: throttleBodySchema, response: { 200: { $ref: 'Throttle#' }, ...errors } },
      { body: 'json', invalidBody: invalidThrottle },
      (request) => {
        const task = taskOf(request);
        task.setThrottle(request.body as ThrottleUpdate);
        return task.status.throttle;
      },
    );
  });

  const statechart = mountStatechart(app, runtime, errors);

  // Any other action of a task: 404 naming the actions (after the task id was checked).
  app.route({
    method: [...ALL_METHODS],
    url: '/tasks/:id/:action',
    schema: { hide: true },
    config: { catchAll: true },
    handler: async (request) => {
      throw new HttpError(404, 'NO_ROUTE', `no action '${printable((request.params as { action: string }).action)}'`, 'Actions: start, pause, resume, stop, restart, release, ignore-alert, throttle, offsets.');
    },
  });

  // Every other method of a known path: 405 with Allow (after authentication, as any route).
  await app.after();
  for (const [url, { methods, auth }] of allowed) {
    const others = ALL_METHODS.filter((m) => !methods.has(m));
    if (others.length === 0) continue;
    const allow = [...methods].join(', ');
    app.route({
      method: others,
      url,
      schema: { hide: true },
      config: { catchAll: true, ...(auth ? { auth } : {}) },
      handler: async (request) => {
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${printable(request.url.split('?')[0] ?? '', 200)}`, `Use ${[...methods].join(' or ')}.`, { allow });
      },
    });
  }

  app.addHook('preClose', async () => {
    statechart.close();
    metrics.close();
  });
  await app.listen({ port: opts.port, host });
  const port = (app.server.address() as AddressInfo).port;
  return { server: app.server, port, routes: documented, close: () => app.close() };
}

/**
 * The state-chart page (`./statechart/`): `GET /ui` and `GET /ui/assets/:name` (static, no task
 * data: served without the token, the page asks for it when the API answers 401),
 * `GET /tasks/:id/chart` (JSON) and `GET /tasks/:id/events` (server-sent events of the task's
 * machines). Returns what to stop when the server closes: the inspection hub and the open streams.
 */
function mountStatechart(app: FastifyInstance, runtime: Runtime, errors: Record<string, unknown>): { close(): void } {
  const page = statechartPage();
  const hub = createInspectionHub(runtime);
  const streams = new Set<ServerResponse>();
  const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: TASK_ID.source, description: 'The task name.' } } };
  app.get('/ui', { schema: { summary: 'The state-chart page (no task data: served without the token)', security: [], response: { 200: { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } }, ...errors } }, config: { auth: 'public' } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(page.html),
  );
  app.get(
    '/ui/assets/:name',
    {
      schema: {
        summary: "The page's scripts and styles",
        security: [],
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string', description: `One of ${Object.keys(page.assets).join(', ')}.` } } },
        response: { 200: { description: 'The asset.', content: Object.fromEntries([...new Set(Object.values(page.assets).map((a) => a.type.split(';')[0] ?? a.type))].map((t) => [t, { schema: { type: 'string' } }])) }, ...errors },
      },
      config: { auth: 'public' },
    },
    async (request, reply) => {
      const asset = Object.hasOwn(page.assets, (request.params as { name: string }).name) ? page.assets[(request.params as { name: string }).name] : undefined;
      if (!asset) throw new HttpError(404, 'NO_ASSET', `no asset '${printable((request.params as { name: string }).name)}'`, `Assets: ${Object.keys(page.assets).join(', ')}.`);
      return reply.type(asset.type).send(asset.body);
    },
  );
  app.get('/tasks/:id/chart', { schema: { summary: "The task's machine as a state chart, with its current state", params: idParams, response: { 200: { type: 'object', additionalProperties: true, required: ['taskId', 'graph', 'machine', 'state'], description: 'The graph to lay out (states, transitions), the machine config XState loads, and the current state.' }, ...errors } } }, async (request) =>
    chartOf(runtime.get((request.params as { id: string }).id)),
  );
  app.get(
    '/tasks/:id/events',
    {
      schema: {
        summary: "Server-sent events of the task's machines: timeline, snapshot, transition",
        params: idParams,
        response: { 200: { description: '`event: timeline` on connect, then `snapshot` and `transition` events, and keep-alive comments.', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors },
      },
    },
    (request, reply) => {
      const id = (request.params as { id: string }).id;
      runtime.get(id); // 404 before any byte is written
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, SSE_HEADERS);
      streams.add(res);
      const stop = hub.subscribe(id, (chunk) => res.write(chunk));
      request.raw.on('close', () => {
        stop();
        streams.delete(res);
      });
    },
  );
  return {
    close() {
      hub.close();
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}
