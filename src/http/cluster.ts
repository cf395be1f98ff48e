/**
 * The management API of a cluster worker (`serveHttp(cluster.runtime, { cluster })`): any worker
 * answers for the whole cluster. Writes of tasks (put, modify, delete, pause, resume) are made by
 * the group leader: another worker forwards them to the leader's API, and answers 409 (with the
 * leader's address in `Tributary-Leader`) while a rebalance runs. A request about a task another
 * worker runs is forwarded to that worker. `GET /cluster` is the assignment.
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterAssignment, ClusterTaskRecord, ClusterWorker } from '../cluster/index.js';
import type { TaskConfigInput } from '../config/schema.js';
import type { Runtime } from '../runtime/createRuntime.js';
import { HttpError, printable } from './errors.js';

/** What the API needs of a cluster worker (a `Cluster` from `joinCluster`). */
export interface ClusterApi {
  readonly workerId: string;
  /** True during a rebalance (and while the worker is out of touch with the group). */
  rebalancing(): Promise<boolean>;
  assignment(): Promise<ClusterAssignment>;
  leader(): (ClusterWorker & { self: boolean }) | null;
  ownerOf(task: string): (ClusterWorker & { self: boolean }) | null;
  record(name: string): ClusterTaskRecord | undefined;
  putTask(config: TaskConfigInput, opts?: { weight?: number }): Promise<void>;
  removeTask(name: string): Promise<void>;
  pauseTask(name: string): Promise<void>;
  resumeTask(name: string): Promise<void>;
}

/** Marks a request one worker forwarded to another: it is never forwarded again. */
export const FORWARDED_HEADER = 'tributary-forwarded-by';
/** The leader's API address, on a 409 during a rebalance and on every forwarded answer. */
export const LEADER_HEADER = 'tributary-leader';

/** `METHOD /route` of the writes the leader makes. */
const LEADER_WRITES = new Set(['POST /tasks', 'PUT /tasks/:id', 'DELETE /tasks/:id', 'POST /tasks/:id/pause', 'POST /tasks/:id/resume']);
/** Headers of the answer passed back from the worker that made it. */
const PASSED_BACK = ['content-type', 'www-authenticate', 'allow', 'cache-control', LEADER_HEADER];

/** What a write accepted by the leader answers: the change is in the configs topic; the assignment applies it. */
export interface ClusterWriteResult {
  task: string;
  accepted: 'put' | 'modify' | 'delete' | 'pause' | 'resume';
  /** The worker that wrote it (the leader). */
  by: string;
}

export const clusterWriteSchema = {
  type: 'object',
  description: 'A cluster write accepted by the leader: it is in the configs topic, and the next assignment applies it.',
  required: ['task', 'accepted', 'by'],
  properties: { task: { type: 'string' }, accepted: { enum: ['put', 'modify', 'delete', 'pause', 'resume'] }, by: { type: 'string', description: 'The leader that wrote it.' } },
} as const;

const worker = { type: 'object', required: ['workerId', 'memberId'], properties: { workerId: { type: 'string' }, memberId: { type: 'string' }, url: { type: 'string', description: "The worker's management API." } } };
export const clusterAssignmentSchema = {
  type: 'object',
  description: 'The cluster as the group coordinator holds it: members, the assignment epoch (one per rebalance: the generation of the assignment), the leader, which worker runs which task.',
  required: ['groupId', 'epoch', 'state', 'leader', 'workers', 'unassigned'],
  properties: {
    groupId: { type: 'string' },
    epoch: { type: 'number', description: 'The assignment generation: one more per rebalance.' },
    state: { type: 'string', description: 'Group state: `Stable`, or `PreparingRebalance`/`CompletingRebalance` during a rebalance.' },
    leader: { anyOf: [worker, { type: 'null' }], description: 'The group leader: it computes the assignment and makes the writes.' },
    workers: { type: 'array', items: { ...worker, required: [...worker.required, 'tasks'], properties: { ...worker.properties, tasks: { type: 'array', items: { type: 'string' } } } } },
    unassigned: { type: 'array', items: { type: 'string' }, description: 'Configured tasks no worker holds (during a rebalance, or with no worker).' },
  },
} as const;

function leaderHeaders(leader: ClusterWorker | null): Record<string, string> {
  return leader?.url ? { [LEADER_HEADER]: leader.url } : {};
}

function rebalancing(cluster: ClusterApi): HttpError {
  const leader = cluster.leader();
  const at = leader ? ` The last leader was ${leader.workerId}${leader.url ? ` at ${leader.url}` : ''}.` : '';
  return new HttpError(409, 'CLUSTER_REBALANCING', `cluster writes wait while the group rebalances.${at}`, `Retry in a few seconds${leader?.url ? ` (here, or at the leader: ${leader.url})` : ''}; GET /cluster shows the new leader.`, leaderHeaders(leader));
}

/** Sends the request on to another worker's API and passes its answer back (status, body, a few headers). */
async function forward(request: FastifyRequest, reply: FastifyReply, to: ClusterWorker, from: string): Promise<FastifyReply> {
  const headers: Record<string, string> = { [FORWARDED_HEADER]: from };
  for (const h of ['authorization', 'content-type', 'accept']) {
    const v = request.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const withBody = request.method !== 'GET' && request.method !== 'HEAD';
  // Until the answer's headers arrive: then the body (an event stream too) may take as long as it takes.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 30_000);
  let res: Response;
  try {
    res = await fetch(new URL(request.url, to.url), {
      method: request.method,
      headers,
      signal: abort.signal,
      ...(withBody ? { body: Readable.toWeb(request.raw) as ReadableStream, duplex: 'half' } : {}),
    } as RequestInit);
  } catch (err) {
    throw new HttpError(502, 'CLUSTER_FORWARD_FAILED', `worker ${to.workerId} at ${to.url ?? '?'} did not answer: ${printable((err as Error).message, 200)}`, 'Retry; GET /cluster shows the workers and their addresses.');
  } finally {
    clearTimeout(timer);
  }
  reply.code(res.status);
  for (const h of PASSED_BACK) {
    const v = res.headers.get(h);
    if (v !== null) reply.header(h, v);
  }
  reply.header('tributary-answered-by', to.workerId);
  return reply.send(res.body ? Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]) : '');
}

/**
 * Decides, after authentication, who answers a request: another worker it was forwarded to
 * (`forwarded`: the reply is sent), this worker as the leader making a write (`write`), or this
 * worker from its own runtime (`local`). Throws the 409 of a rebalance, or of a task that runs where
 * no API reaches it.
 */
export async function routeInCluster(cluster: ClusterApi, runtime: Runtime, request: FastifyRequest, reply: FastifyReply, taskId: string | undefined): Promise<'forwarded' | 'write' | 'local'> {
  const route = `${request.method} ${request.routeOptions.url ?? ''}`;
  const forwarded = typeof request.headers[FORWARDED_HEADER] === 'string';
  if (LEADER_WRITES.has(route)) {
    if (await cluster.rebalancing()) throw rebalancing(cluster);
    const leader = cluster.leader();
    if (!leader) throw rebalancing(cluster);
    if (leader.self) return 'write';
    if (forwarded || !leader.url) {
      throw new HttpError(409, 'CLUSTER_NOT_LEADER', `worker ${cluster.workerId} is not the leader; ${leader.workerId} is${leader.url ? ` (${leader.url})` : ', and it serves no API'}`, leader.url ? `Send the request to ${leader.url}.` : 'Start every worker with --http (ClusterOptions.url), so writes can reach the leader.', leaderHeaders(leader));
    }
    await forward(request, reply, leader, cluster.workerId);
    return 'forwarded';
  }
  if (taskId === undefined || runtime.list().some((t) => t.id === taskId)) return 'local';
  const owner = cluster.ownerOf(taskId);
  if (owner && !owner.self && owner.url && !forwarded) {
    await forward(request, reply, owner, cluster.workerId);
    return 'forwarded';
  }
  if (cluster.record(taskId) !== undefined) {
    const where = owner?.self ? 'is assigned to this worker, which has not started it yet' : owner ? `runs on worker ${owner.workerId}, which serves no API` : 'is in the cluster but no worker runs it now';
    throw new HttpError(409, 'CLUSTER_TASK_ELSEWHERE', `task ${taskId} ${where}`, 'Retry in a few seconds; GET /cluster shows which worker runs it.');
  }
  return 'local';
}

/** The leader's answers to the task writes: records of the configs topic. */
export function clusterWrites(cluster: ClusterApi) {
  const result = (task: string, accepted: ClusterWriteResult['accepted']): ClusterWriteResult => ({ task, accepted, by: cluster.workerId });
  const known = (task: string) => {
    if (cluster.record(task) === undefined) throw new HttpError(404, 'UNKNOWN_TASK', `no task '${task}' in the cluster`, 'GET /cluster lists the tasks.');
  };
  return {
    async create(config: TaskConfigInput & { name: string }): Promise<ClusterWriteResult> {
      if (cluster.record(config.name) !== undefined) throw new HttpError(409, 'TASK_EXISTS', `A task named '${config.name}' already exists in the cluster.`, `Modify it with PUT /tasks/${config.name}, or delete it first.`);
      await cluster.putTask(config);
      return result(config.name, 'put');
    },
    async modify(id: string, config: TaskConfigInput & { name: string }): Promise<ClusterWriteResult> {
      known(id);
      if (config.name !== id) throw new HttpError(400, 'TASK_NAME_MISMATCH', `the config names task '${printable(config.name)}', the path '${id}'`, 'A task keeps its name: send its config with name unchanged.');
      await cluster.putTask(config, cluster.record(id)?.weight !== undefined ? { weight: cluster.record(id)?.weight as number } : {});
      return result(id, 'modify');
    },
    async remove(id: string): Promise<ClusterWriteResult> {
      known(id);
      await cluster.removeTask(id);
      return result(id, 'delete');
    },
    async pause(id: string): Promise<ClusterWriteResult> {
      known(id);
      await cluster.pauseTask(id);
      return result(id, 'pause');
    },
    async resume(id: string): Promise<ClusterWriteResult> {
      known(id);
      await cluster.resumeTask(id);
      return result(id, 'resume');
    },
  };
}
