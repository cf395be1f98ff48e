import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTopics } from '../../src/cluster/index.js';
import { WorkerProcess, waitUntil } from '../fixtures/cluster/workers.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from './support.js';
import { expectTopicMatchesSource, readTopicByPartition } from './verify-topic.js';

/**
 * `tributary run --cluster GROUP task.yaml --http PORT` as real processes, coordinating through the
 * SASL listener named in the task files: two workers share three tasks; every worker's API answers
 * for the cluster (GET /cluster; writes forwarded to the leader, 409 from a non-leader given a
 * forwarded write, 409 during a rebalance; reads of a task forwarded to its owner); a task put over
 * HTTP runs, paused and resumed over HTTP from the other worker, deleted over HTTP: its slot and
 * publication are dropped in PostgreSQL, as when the task is removed just after its worker was
 * SIGKILLed (released by the leader); a SIGKILLed worker's tasks continue on the other; every
 * table rebuilt from Kafka matches PostgreSQL.
 */
const SESSION_MS = 6_000;
const TOKEN = 'cluster-cli-test-token-0123456789';

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: { code: string; message: string; fix?: string }; [k: string]: unknown };
}

async function call(url: string, method: string, path: string, opts: { body?: string; type?: string; token?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`;
  if (opts.body !== undefined) headers['content-type'] = opts.type ?? 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

describe('tributary run --cluster: CLI workers and the cluster HTTP API', () => {
  let db: { database: string; drop: () => Promise<void> };
  let dir: string;
  const groupId = uniqueName('clcli').replace(/_/g, '-');
  const topics = clusterTopics(groupId);
  const names = ['a', 'b', 'c', 'd'].map((x) => `${groupId}-${x}`);
  const dataTopics = names.map((n) => n.replace(/-/g, '_'));
  const ports = [0, 1, 2].map((i) => 19_000 + Math.floor(Math.random() * 400) * 3 + i);
  const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
  const workers: WorkerProcess[] = [];
  const yaml = (i: number) =>
    [
      `name: ${names[i]}`,
      'source:',
      '  type: postgres',
      `  host: ${servers.postgres.host}`,
      `  port: ${servers.postgres.port}`,
      '  user: postgres',
      `  database: ${db.database}`,
      'destination:',
      '  kafka:',
      `    brokers: [${servers.kafka.saslBrokers.join(', ')}]`,
      `    sasl: { mechanism: scram-sha-512, username: ${servers.kafka.saslUser}, password: ${servers.kafka.saslPassword} }`,
      `    topic: ${dataTopics[i]}`,
      '    format: canal-json',
      '    partitionPolicy: keyHash',
      'objects:',
      `  - { schema: public, table: t${i + 1} }`,
      '',
    ].join('\n');
  const start = (i: number, file?: string) => {
    const w = WorkerProcess.cli(`w${i + 1}`, [...(file ? [file] : ['--brokers', servers.kafka.brokers.join(',')]), '--cluster', groupId, '--session-timeout', String(SESSION_MS), '--http', String(ports[i])], { TRIBUTARY_HTTP_TOKEN: TOKEN });
    workers.push(w);
    return w;
  };
  const show = () => workers.map((w) => `${w.workerId}: ${w.running().map((t) => `${t.slice(-1)}=${w.state(t)}`).join(' ')}; stderr ${w.stderr.slice(-600)}`).join('\n');
  const runs = (w: WorkerProcess, task: string, state = 'incremental') => w.running().includes(task) && w.state(task) === state;

  beforeAll(async () => {
    db = await createTestDatabase('clcli');
    dir = await mkdtemp(join(tmpdir(), 'clcli-'));
    await withPg(db.database, async (c) => {
      for (let i = 1; i <= 4; i++) await c.query(`CREATE TABLE public.t${i} (id bigint PRIMARY KEY, v text); INSERT INTO public.t${i} SELECT g, 'v' || g FROM generate_series(1, 50) g`);
    });
    for (const t of dataTopics) await createTopic(t, 2);
    for (let i = 0; i < 2; i++) await writeFile(join(dir, `${i}.yaml`), yaml(i));
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await db?.drop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    if (!process.env.KEEP_TOPICS) await deleteTopics(...dataTopics, topics.configs, topics.status, topics.positions).catch(() => undefined);
  });

  it('two workers from task files share the tasks; GET /cluster on each says who runs what', async () => {
    const w1 = start(0, join(dir, '0.yaml'));
    const w2 = start(1, join(dir, '1.yaml'));
    const [a, b] = names as [string, string];
    await waitUntil('a and b run, one on each worker', () => [a, b].every((t) => workers.filter((w) => runs(w, t)).length === 1) && w1.running().length === 1 && w2.running().length === 1, 90_000, show);

    for (const i of [0, 1]) {
      const r = await call(url(i), 'GET', '/cluster');
      expect(r.status).toBe(200);
      const body = r.body as unknown as { groupId: string; epoch: number; state: string; leader: { workerId: string; url: string }; workers: Array<{ workerId: string; url: string; tasks: string[] }>; unassigned: string[] };
      expect(body.groupId).toBe(groupId);
      expect(body.epoch).toBeGreaterThan(0);
      expect(['w1', 'w2']).toContain(body.leader.workerId);
      expect(body.leader.url).toBe(url(body.leader.workerId === 'w1' ? 0 : 1));
      expect(body.workers.map((w) => [w.workerId, w.url, w.tasks])).toEqual([
        ['w1', url(0), w1.running()],
        ['w2', url(1), w2.running()],
      ]);
      expect(body.unassigned).toEqual([]);
    }
    // /metrics of a worker covers its own tasks only.
    for (const [i, w] of [w1, w2].entries()) {
      const text = await (await fetch(`${url(i)}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      const mine = w.running()[0] as string;
      expect(text).toContain(`task="${mine}"`);
      expect(text).not.toContain(`task="${mine === a ? b : a}"`);
    }
    // The OpenAPI document of a worker describes the cluster routes as served.
    const doc = (await call(url(0), 'GET', '/openapi.json')).body as unknown as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { schemas: Record<string, { required?: string[] }> } };
    expect(Object.keys(doc.paths['/cluster'] ?? {})).toEqual(['get']);
    expect(doc.components.schemas.ClusterAssignment?.required).toEqual(['groupId', 'epoch', 'state', 'leader', 'workers', 'unassigned']);
    for (const [path, method] of [['/tasks', 'post'], ['/tasks/{id}', 'put'], ['/tasks/{id}', 'delete'], ['/tasks/{id}/pause', 'post'], ['/tasks/{id}/resume', 'post']] as const) {
      expect(Object.keys(doc.paths[path]?.[method]?.responses ?? {}), `${method} ${path}`).toContain('202');
    }
    // Token rules hold: nothing about the cluster without it.
    const open = await call(url(0), 'GET', '/cluster', { token: null });
    expect(open.status).toBe(401);
    expect(open.body.error?.code).toBe('UNAUTHORIZED');
    // Nothing secret in what the API says about a task (the SASL password of the config), even through a forward.
    const other = w1.running().includes(a) ? 1 : 0;
    const detail = await call(url(other), 'GET', `/tasks/${a}`);
    expect(detail.status).toBe(200);
    expect(detail.headers.get('tributary-answered-by')).toBe(other === 1 ? 'w1' : 'w2'); // the worker that runs it
    expect((detail.body as { taskId?: string }).taskId).toBe(a);
    expect(JSON.stringify(detail.body)).not.toContain(servers.kafka.saslPassword);
  }, 120_000);

  it('writes on any worker are made by the leader: put, pause, resume, delete (slot and publication released)', async () => {
    const [w1, w2] = workers as [WorkerProcess, WorkerProcess];
    const c = names[2] as string;
    const leader = ((await call(url(0), 'GET', '/cluster')).body as { leader: { workerId: string } }).leader.workerId;
    const follower = leader === 'w1' ? 1 : 0;

    // A write marked as already forwarded, on a worker that is not the leader: 409 naming the leader.
    const notLeader = await call(url(follower), 'POST', `/tasks/${names[0]}/pause`, { headers: { 'tributary-forwarded-by': 'test' } });
    expect(notLeader.status).toBe(409);
    expect(notLeader.body.error?.code).toBe('CLUSTER_NOT_LEADER');
    expect(notLeader.headers.get('tributary-leader')).toBe(url(leader === 'w1' ? 0 : 1));

    // Put through the follower: forwarded, accepted by the leader, assigned and run.
    const put = await call(url(follower), 'POST', '/tasks', { body: yaml(2), type: 'application/yaml' });
    expect(put.status).toBe(202);
    expect(put.body).toEqual({ task: c, accepted: 'put', by: leader });
    expect(put.headers.get('tributary-answered-by')).toBe(leader);
    await waitUntil('c runs', () => workers.filter((w) => runs(w, c)).length === 1, 60_000, show);
    const dup = await waitForAnswer(() => call(url(follower), 'POST', '/tasks', { body: yaml(2), type: 'application/yaml' }));
    expect(dup.status).toBe(409);
    expect(dup.body.error?.code).toBe('TASK_EXISTS');

    // Pause and resume c from the worker that does not run it.
    const owner = w1.running().includes(c) ? w1 : w2;
    const away = owner === w1 ? 1 : 0;
    const paused = await waitForAnswer(() => call(url(away), 'POST', `/tasks/${c}/pause`));
    expect(paused.status).toBe(202);
    expect(paused.body).toMatchObject({ task: c, accepted: 'pause', by: leader });
    await waitUntil('c paused on its worker', () => owner.state(c) === 'paused', 30_000, show);
    const resumed = await waitForAnswer(() => call(url(away), 'POST', `/tasks/${c}/resume`));
    expect(resumed.status).toBe(202);
    await waitUntil('c resumed', () => owner.state(c) === 'incremental', 30_000, show);

    // Delete c: its worker stops it and drops its slot and publication.
    const slot = `tributary_${c.replace(/[^a-z0-9_]/g, '_')}`;
    const objects = () => withPg(db.database, async (q) => ({
      slots: (await q.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount,
      publications: (await q.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [slot])).rowCount,
    }));
    expect(await objects()).toEqual({ slots: 1, publications: 1 });
    const deleted = await waitForAnswer(() => call(url(away), 'DELETE', `/tasks/${c}`));
    expect(deleted.status).toBe(202);
    expect(deleted.body).toMatchObject({ task: c, accepted: 'delete' });
    await waitUntil('c stopped', () => !owner.running().includes(c), 60_000, show);
    expect(owner.state(c)).toBe('released');
    expect(await objects()).toEqual({ slots: 0, publications: 0 });
    // Its position is deleted too: the latest record of c in the positions topic is a tombstone.
    const positions = [...(await readTopicByPartition(topics.positions)).values()].flat().filter((r) => r.key?.toString() === c);
    expect(positions.length).toBeGreaterThan(1);
    expect(positions.at(-1)?.value).toBeNull();
    const gone = await waitForAnswer(() => call(url(away), 'POST', `/tasks/${c}/pause`));
    expect(gone.status).toBe(404);
  }, 150_000);

  it('a joining worker (brokers from --brokers): writes answer 409 with the leader while the group rebalances', async () => {
    const seen = new Map<number, Answer>();
    const w3 = start(2);
    const until = Date.now() + 40_000;
    // PUT of a task the cluster does not have: 404 from the leader, or 409 while the group rebalances.
    while (Date.now() < until && !seen.has(409)) {
      const r = await call(url(0), 'PUT', `/tasks/${groupId}-nosuch`, { body: yaml(0), type: 'application/yaml' });
      seen.set(r.status, r);
      await new Promise((res) => setTimeout(res, 30));
    }
    const conflict = seen.get(409);
    expect(conflict?.body.error?.code).toBe('CLUSTER_REBALANCING');
    expect(conflict?.headers.get('tributary-leader')).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Two tasks over three workers: the sticky assignment moves nothing (a move would not narrow the gap).
    await waitUntil('w3 in the assignment', () => w3.lines.some((l) => l.type === 'running'), 60_000, show);
    const after = (await waitForAnswer(() => call(url(2), 'GET', '/cluster'))).body as unknown as { state: string; workers: Array<{ workerId: string; tasks: string[] }> };
    expect(after.workers.map((w) => w.workerId)).toEqual(['w1', 'w2', 'w3']);
    expect(after.workers.flatMap((w) => w.tasks).sort()).toEqual(names.slice(0, 2).sort());
    expect(workers.flatMap((w) => w.running()).sort()).toEqual(names.slice(0, 2).sort());
  }, 90_000);

  it('a task removed just after its worker was SIGKILLed is released by the leader; a SIGKILLed worker\'s task continues on another; tables match', async () => {
    const c = names[3] as string;
    const put = await waitForAnswer(() => call(url(2), 'POST', '/tasks', { body: yaml(3), type: 'application/yaml' }));
    expect(put.status).toBe(202);
    await waitUntil('d runs', () => workers.some((w) => w.alive && runs(w, c)), 60_000, show);
    const slot = `tributary_${c.replace(/[^a-z0-9_]/g, '_')}`;
    const objects = () => withPg(db.database, async (q) => ({
      slots: (await q.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount,
      publications: (await q.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [slot])).rowCount,
    }));
    expect(await objects()).toEqual({ slots: 1, publications: 1 });
    await withPg(db.database, (q) => q.query(`INSERT INTO public.t1 SELECT g, 'w' || g FROM generate_series(51, 100) g; INSERT INTO public.t2 SELECT g, 'w' || g FROM generate_series(51, 100) g`));

    // c's worker dies; c is removed (through a live worker) before the group has noticed.
    const cOwner = workers.find((w) => w.alive && w.running().includes(c)) as WorkerProcess;
    let victim = cOwner;
    let moved = cOwner.running().find((t) => t !== c);
    await cOwner.kill('SIGKILL');
    let killedAt = Date.now();
    const via = workers.findIndex((w) => w.alive);
    const deleted = await waitForAnswer(() => call(url(via), 'DELETE', `/tasks/${c}`));
    expect(deleted.status).toBe(202);
    const until = Date.now() + 60_000;
    while (Date.now() < until && (await objects()).slots !== 0) await new Promise((r) => setTimeout(r, 500));
    expect(await objects()).toEqual({ slots: 0, publications: 0 });

    // Failover of a data task: the one c's worker also ran, else another worker's.
    if (moved === undefined) {
      victim = workers.find((w) => w.alive && w.running().length > 0) as WorkerProcess;
      moved = victim.running()[0] as string;
      await victim.kill('SIGKILL');
      killedAt = Date.now();
    }
    const task = moved;
    const others = workers.filter((w) => w.alive);
    await waitUntil('the killed worker\'s task runs elsewhere', () => others.some((w) => runs(w, task)), SESSION_MS + 40_000, show);
    console.log(`task ${task} streaming on another worker ${Date.now() - killedAt} ms after SIGKILL of ${victim.workerId} (session timeout ${SESSION_MS} ms)`);
    await withPg(db.database, (q) => q.query(`UPDATE public.t1 SET v = 'u' || id WHERE id % 7 = 0; UPDATE public.t2 SET v = 'u' || id WHERE id % 5 = 0`));
    for (const i of [0, 1]) await expectTopicMatchesSource({ topic: dataTopics[i] as string, database: db.database, tables: [`public.t${i + 1}`], timeoutMs: 45_000 });
    // SIGTERM: a worker leaves cleanly, exit 0.
    const leaving = others[0] as WorkerProcess;
    const code = new Promise<number | null>((res) => leaving.proc.once('exit', (x) => res(x)));
    leaving.signal('SIGTERM');
    expect(await code).toBe(0);
  }, 180_000);
});

/**
 * A write right after another lands in the rebalance it started, and a write forwarded to a leader
 * that just died fails until the group has another: retry while the answer is one of those.
 */
async function waitForAnswer(send: () => Promise<Answer>): Promise<Answer> {
  const until = Date.now() + 45_000;
  for (;;) {
    const r = await send();
    const retry = r.body.error?.code === 'CLUSTER_REBALANCING' || r.body.error?.code === 'CLUSTER_FORWARD_FAILED';
    if (!retry || Date.now() > until) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}
