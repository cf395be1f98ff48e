/**
 * JSON schemas of the management API: request bodies that fastify validates (`/throttle`,
 * `/ignore-alert`) and the response shapes `GET /openapi.json` documents. Response schemas only
 * document: responses are written as they are, so a field added to `TaskStatus` shows at once.
 */

/** The throttle fields of `PUT /tasks/:id/throttle`. */
export const THROTTLE_FIELDS = ['fullQps', 'fullRps', 'fullMBps', 'incrementalRps', 'incrementalMBps'] as const;

const THROTTLE_HELP: Record<(typeof THROTTLE_FIELDS)[number], string> = {
  fullQps: 'Queries per second against the source during full synchronization.',
  fullRps: 'Rows per second written during full synchronization.',
  fullMBps: 'MB per second of row data read during full synchronization (as `throttle.full.mbps`).',
  incrementalRps: 'Changes per second written during incremental synchronization.',
  incrementalMBps: 'MB per second of row data read during incremental synchronization (as `throttle.incremental.mbps`).',
};

/** Body of `PUT /tasks/:id/throttle`: a finite number >= 0 sets a limit, `0` or `null` lifts it, a field left out keeps its value. */
export const throttleBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(THROTTLE_FIELDS.map((f) => [f, { anyOf: [{ type: 'number', minimum: 0 }, { type: 'null' }], description: `${THROTTLE_HELP[f]} 0 or null lifts the limit.` }])),
  examples: [{ incrementalRps: 5000, fullMBps: null }],
} as const;

/** The limits in force (`TaskStatus.throttle`); a field left out is unlimited. */
export const throttleSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'The limits in force; a field left out is unlimited.',
  properties: Object.fromEntries(THROTTLE_FIELDS.map((f) => [f, { type: 'number', exclusiveMinimum: 0, description: THROTTLE_HELP[f] }])),
} as const;

/** Body of `POST /tasks/:id/ignore-alert`. */
export const ignoreAlertBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['itemId'],
  properties: { itemId: { type: 'string', minLength: 1, description: 'The id of a precheck item (GET /tasks/:id lists them under `precheck`).' } },
} as const;

/** `{ error: { code, message, fix?, issues? } }`: every error response. */
export const errorBodySchema = {
  type: 'object',
  description: 'An error: a stable code, a message, often a fix, and for an invalid task config every issue.',
  additionalProperties: false,
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable code, e.g. CONFIG_INVALID, INVALID_JSON, UNAUTHORIZED, UNKNOWN_TASK, METHOD_NOT_ALLOWED, BODY_TOO_LARGE.' },
        message: { type: 'string' },
        fix: { type: 'string', description: 'What to do about it.' },
        issues: {
          type: 'array',
          description: 'Every problem of an invalid task config.',
          items: {
            type: 'object',
            required: ['path', 'message'],
            properties: { path: { type: 'string', description: 'Dotted path in the config, e.g. `source.database`.' }, message: { type: 'string' }, fix: { type: 'string' } },
          },
        },
      },
    },
  },
} as const;

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });
const rowProgress = {
  type: 'object',
  required: ['rowsDone', 'rowsEstimated', 'chunksDone', 'chunksTotal'],
  properties: { rowsDone: { type: 'number' }, rowsEstimated: { type: 'number' }, chunksDone: { type: 'number' }, chunksTotal: { type: 'number' } },
} as const;

/** `TaskStatus`: what `GET /tasks` lists and the control routes answer. */
export const taskStatusSchema = {
  type: 'object',
  required: ['taskId', 'state', 'phase', 'healthy', 'lastError', 'retry', 'progress', 'precheck', 'counters', 'latencyMs', 'position', 'throttle'],
  properties: {
    taskId: { type: 'string' },
    state: { type: 'string', description: 'The machine state, e.g. `incremental`, `retrying.waiting`, `failed`.' },
    phase: { type: ['string', 'null'], description: 'The phase last entered: prechecking, schema, full, incremental.' },
    healthy: { type: 'boolean', description: 'Not failed, not retrying, prechecks passed (what /readyz reports).' },
    lastError: nullable({
      type: 'object',
      required: ['code', 'kind', 'message'],
      properties: { code: { type: 'string' }, kind: { type: 'string', description: 'connection, other or fatal.' }, message: { type: 'string' }, fix: { type: 'string' } },
    }),
    retry: nullable({
      type: 'object',
      required: ['cause', 'deadline', 'attempts'],
      properties: { cause: { type: 'string' }, deadline: { type: 'number', description: 'Unix ms after which the task fails.' }, attempts: { type: 'number' } },
    }),
    progress: {
      ...rowProgress,
      description: 'Full synchronization: rows and chunks copied and planned, in total and per source table.',
      properties: { ...rowProgress.properties, tables: { type: 'object', additionalProperties: rowProgress } },
    },
    precheck: nullable({
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'group', 'title', 'status'],
        properties: { id: { type: 'string' }, group: { enum: ['connectivity', 'source', 'destination'] }, title: { type: 'string' }, status: { enum: ['pass', 'warn', 'fail'] }, detail: { type: 'string' }, fix: { type: 'string' } },
      },
    }),
    counters: {
      type: 'object',
      required: ['events', 'heartbeats', 'bytes', 'batches', 'snapshotRows', 'lastCommitTime', 'lastAckAt'],
      properties: {
        events: { type: 'number' },
        heartbeats: { type: 'number' },
        bytes: { type: 'number' },
        batches: { type: 'number' },
        snapshotRows: { type: 'number' },
        lastCommitTime: { type: ['number', 'null'] },
        lastAckAt: { type: ['number', 'null'] },
      },
    },
    latencyMs: { type: ['number', 'null'], description: 'How far the destination is behind the source, ms.' },
    position: { type: ['string', 'null'], description: 'The source position confirmed and checkpointed (encoded).' },
    throttle: { $ref: 'Throttle#' },
  },
} as const;

/** `GET /tasks/:id`: the status and the task's config, secrets masked. */
export const taskDetailSchema = {
  allOf: [{ $ref: 'TaskStatus#' }, { type: 'object', required: ['config'], properties: { config: { type: 'object', additionalProperties: true, description: 'The validated task config, secrets masked.' } } }],
} as const;

/** `GET /readyz`: `tasks` only with the token. */
export const readyzSchema = {
  type: 'object',
  required: ['ready'],
  properties: {
    ready: { type: 'boolean' },
    tasks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['task', 'state', 'healthy', 'lastError'],
        properties: { task: { type: 'string' }, state: { type: 'string' }, healthy: { type: 'boolean' }, lastError: { type: ['string', 'null'] } },
      },
    },
  },
} as const;
