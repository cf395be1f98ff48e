/**
 * Options of issue 15 against the real servers: each test changes the option and observes its
 * effect (the walking test in test/unit/config/options.test.ts points here).
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import type { TaskConfigInput } from '../../src/config/schema.js';
import { readCatalog } from '../../src/sources/postgres/catalog.js';
import { precheckPostgres } from '../../src/sources/postgres/precheck.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, readTopic, uniqueName, withPg } from './support.js';

describe('issue 15 options, PostgreSQL → Kafka', () => {
  let db: { database: string; drop: () => Promise<void> };
  let dir: string;
  let runtime: Runtime;
  const topics: string[] = [];

  const task = (name: string, topic: string, extra: Partial<TaskConfigInput> = {}, source: Record<string, unknown> = {}): TaskConfigInput =>
    ({
      name,
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database, ...source },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'many' }],
      conflictMode: 'ignoreAndProceed',
      checkpoints: { store: 'file', dir },
      ...extra,
    }) as TaskConfigInput;

  const newTopic = async () => {
    const t = uniqueName('opts');
    await createTopic(t);
    topics.push(t);
    return t;
  };

  beforeAll(async () => {
    db = await createTestDatabase('opts');
    dir = await mkdtemp(join(tmpdir(), 'trib-opts-'));
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.many (id bigint PRIMARY KEY, v text NOT NULL)');
      await c.query(`INSERT INTO public.many SELECT g, 'row ' || g FROM generate_series(1, 4000) g`);
      await c.query('ANALYZE public.many');
    });
    runtime = createRuntime({ confirmIntervalMs: 200 });
  }, 120_000);

  afterAll(async () => {
    await runtime?.shutdown();
    for (const t of runtime?.list() ?? []) {
      t.release();
      await t.waitFor((s) => s.state === 'released' || s.state === 'releaseFailed', 20_000).catch(() => undefined);
    }
    await db?.drop();
    await deleteTopics(...topics).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  /** How long the full phase of a new task over public.many takes, and how many chunks it read. */
  const fullSyncRun = async (name: string, extra: Partial<TaskConfigInput>) => {
    const t = runtime.add(task(name, await newTopic(), { fullSync: { chunkRows: 400 }, ...extra }));
    t.start();
    await t.waitFor((s) => s.phase === 'full' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
    const began = Date.now();
    const s = await t.waitFor((x) => x.phase === 'incremental' || x.state === 'failed', 60_000);
    const ms = Date.now() - began;
    expect(s.phase).toBe('incremental');
    expect(s.progress.rowsDone).toBe(4000);
    await runtime.remove(name);
    return { ms, chunks: s.progress.chunksTotal };
  };

  it('throttle.full.sourceQps: the full-sync queries (one COPY per small chunk here) run no faster than the limit, across the parallel chunk readers', async () => {
    const free = await fullSyncRun(uniqueName('qps-free').replace(/_/g, '-'), {});
    const limited = await fullSyncRun(uniqueName('qps-two').replace(/_/g, '-'), { throttle: { full: { sourceQps: 2 } } });
    // Every chunk is at least one FETCH: N queries at 2 per second take at least (N - 1) / 2 s.
    expect(limited.chunks).toBeGreaterThanOrEqual(6);
    const floor = ((limited.chunks - 1) / 2) * 1000 * 0.95;
    expect(limited.ms).toBeGreaterThanOrEqual(floor);
    // Unlimited, the same copy is faster than the limit would allow.
    expect(free.ms).toBeLessThan(floor);
    console.log(`[sourceQps] ${limited.chunks} chunks: ${free.ms} ms unlimited, ${limited.ms} ms at 2 queries/s (floor ${Math.round(floor)} ms)`);
  }, 120_000);

  it('source.heartbeat.table: heartbeats go to the named table (never to the default one) and arrive as heartbeats', async () => {
    const name = uniqueName('beat').replace(/_/g, '-');
    const t = runtime.add(task(name, await newTopic(), { syncTypes: { full: false } }, { heartbeat: { table: 'my_beat', intervalMs: 200 } }));
    t.start();
    await t.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
    expect(t.status.state).toBe('incremental');
    await t.waitFor((s) => s.counters.heartbeats >= 3, 20_000);
    const slot = `tributary_${name.replace(/-/g, '_')}`;
    const found = await withPg(db.database, async (c) => ({
      beat: (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM public.my_beat WHERE slot_name = $1', [slot])).rows[0]?.n,
      // Other tasks of this database may have made the default table; this task never writes it.
      fallback: (await c.query<{ r: string | null }>(`SELECT to_regclass('public.dts_postgres_heartbeat')::text AS r`)).rows[0]?.r
        ? (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM public.dts_postgres_heartbeat WHERE slot_name = $1', [slot])).rows[0]?.n
        : 0,
      published: (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_publication_tables WHERE pubname = $1 AND tablename = 'my_beat'`, [slot])).rows[0]?.n,
    }));
    expect(found).toEqual({ beat: 1, fallback: 0, published: 1 });
    await runtime.remove(name);
  }, 90_000);

  it('monitoring.latencyThresholdSeconds and monitoring.webhookUrl: a task added through createRuntime POSTs its latency alert to the webhook', async () => {
    const received: Array<{ task: string; kind: string }> = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as { task: string; kind: string });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=abc`;
    try {
      const name = uniqueName('alert').replace(/_/g, '-');
      // 1 ms: any real delivery is behind by more, so the first latency check alerts.
      const t = runtime.add(task(name, await newTopic(), { syncTypes: { full: false }, monitoring: { latencyThresholdSeconds: 0.001, webhookUrl: url } }));
      t.start();
      await t.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
      const deadline = Date.now() + 20_000;
      while (!received.some((a) => a.kind === 'latency') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(received.find((a) => a.kind === 'latency')).toMatchObject({ task: name, kind: 'latency' });
      await runtime.remove(name);
    } finally {
      server.close();
    }
  }, 90_000);
  it('source.encryption: "ssl" asks the server for TLS (this server has ssl off, so the precheck fails naming SSL); "none" connects', async () => {
    const topic = await newTopic();
    const ssl = runtime.add(task(uniqueName('ssl').replace(/_/g, '-'), topic, {}, { encryption: 'ssl' }));
    const items = await ssl.precheck();
    const conn = items.find((i) => i.group === 'connectivity' && i.status === 'fail');
    expect(`${conn?.detail ?? ''} ${conn?.title ?? ''}`).toMatch(/SSL/i);
    const plain = runtime.add(task(uniqueName('plain').replace(/_/g, '-'), topic));
    expect((await plain.precheck()).filter((i) => i.group === 'connectivity').every((i) => i.status === 'pass')).toBe(true);
    await runtime.remove(ssl.id);
    await runtime.remove(plain.id);
  }, 60_000);

  it('source.caCert is read as PEM text or a file: an unreadable file refuses the task naming the option', () => {
    expect(() => runtime.add(task(uniqueName('ca').replace(/_/g, '-'), 'unused', {}, { encryption: 'ssl', caCert: '/nonexistent/ca.pem' }))).toThrow(/source\.caCert|\/nonexistent\/ca\.pem/);
  });

  it('destination.kafka.tls: enabled speaks TLS to the brokers (plaintext here, so the precheck fails); its caCert file is read', async () => {
    const topic = await newTopic();
    const base = task(uniqueName('tls').replace(/_/g, '-'), topic) as { destination: { kafka: Record<string, unknown> } };
    const tls = runtime.add({ ...base, destination: { kafka: { ...base.destination.kafka, tls: { enabled: true } } } } as TaskConfigInput);
    const items = await tls.precheck();
    expect(items.some((i) => i.group === 'connectivity' && i.id.startsWith('destination') && i.status === 'fail')).toBe(true);
    await runtime.remove(tls.id);
    const name = uniqueName('tlsca').replace(/_/g, '-');
    const withCa = { ...base, name, destination: { kafka: { ...base.destination.kafka, tls: { enabled: true, caCert: '/nonexistent/kafka-ca.pem' } } } } as TaskConfigInput;
    const caTask = (() => {
      try {
        return runtime.add(withCa);
      } catch (e) {
        return e as Error;
      }
    })();
    const failure = caTask instanceof Error ? caTask : (await caTask.precheck()).find((i) => i.status === 'fail');
    expect(JSON.stringify(failure instanceof Error ? { message: failure.message } : failure)).toMatch(/kafka-ca\.pem/);
    if (!(caTask instanceof Error)) await runtime.remove(name);
  }, 60_000);
  it('source.uri replaces host, port and user: a task given only a URI connects, one pointing at a closed port does not', async () => {
    const topic = await newTopic();
    const uri = `postgres://${servers.postgres.user}@${servers.postgres.host}:${servers.postgres.port}/${db.database}`;
    const good = runtime.add(task(uniqueName('uri').replace(/_/g, '-'), topic, {}, { host: undefined, port: undefined, user: undefined, uri }));
    expect((await good.precheck()).filter((i) => i.group === 'connectivity').every((i) => i.status === 'pass')).toBe(true);
    const bad = runtime.add(task(uniqueName('uribad').replace(/_/g, '-'), topic, {}, { uri: `postgres://${servers.postgres.user}@127.0.0.1:1/${db.database}` }));
    expect((await bad.precheck()).some((i) => i.group === 'connectivity' && i.status === 'fail')).toBe(true);
    await runtime.remove(good.id);
    await runtime.remove(bad.id);
  }, 60_000);

  it('source.heartbeat.enabled, intervalMs and schema: beats at the interval into the named schema; disabled, none at all', async () => {
    await withPg(db.database, (c) => c.query('CREATE SCHEMA IF NOT EXISTS beats'));
    const fast = runtime.add(task(uniqueName('fast').replace(/_/g, '-'), await newTopic(), { syncTypes: { full: false } }, { heartbeat: { intervalMs: 150, schema: 'beats' } }));
    const off = runtime.add(task(uniqueName('off').replace(/_/g, '-'), await newTopic(), { syncTypes: { full: false } }, { heartbeat: { enabled: false } }));
    fast.start();
    off.start();
    for (const t of [fast, off]) await t.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
    expect([fast.status.state, off.status.state]).toEqual(['incremental', 'incremental']);
    const before = fast.status.counters.heartbeats;
    await new Promise((r) => setTimeout(r, 2000));
    // 2 s at 150 ms is about 13 beats; the default interval (1 s) would give 2.
    expect(fast.status.counters.heartbeats - before).toBeGreaterThanOrEqual(6);
    expect(off.status.counters.heartbeats).toBe(0);
    const slot = `tributary_${fast.id.replace(/-/g, '_')}`;
    const rows = await withPg(db.database, async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM beats.dts_postgres_heartbeat WHERE slot_name = $1', [slot])).rows[0]?.n);
    expect(rows).toBe(1);
    await runtime.remove(fast.id);
    await runtime.remove(off.id);
  }, 90_000);
  it('the PolarDB table limit (1,000) counts tables selected one by one: a whole schema of 1,001 tables passes, the same tables listed fail', async () => {
    await withPg(db.database, async (c) => {
      await c.query('CREATE SCHEMA wide');
      await c.query(`DO $$ BEGIN FOR i IN 1..1001 LOOP EXECUTE format('CREATE TABLE wide.t%s (id int PRIMARY KEY)', i); END LOOP; END $$`);
      const selected = (await readCatalog(c, db.database)).filter((t) => t.ref.schema === 'wide');
      expect(selected).toHaveLength(1001);
      const limitOf = async (named: Array<{ schema: string; table: string }>) =>
        (await precheckPostgres({ client: c, database: db.database, flavour: 'polardb', selected, slot: 'tributary_limit_test', heartbeatSchema: null, exactlyOnce: false, full: true, named })).find((i) => i.id === 'source.table_limit');
      expect(await limitOf([])).toMatchObject({ status: 'pass', detail: expect.stringContaining('1001 through whole schemas') });
      const listed = await limitOf(selected.map((t) => ({ schema: 'wide', table: t.ref.table })));
      expect(listed).toMatchObject({ status: 'fail', detail: '1001 tables selected one by one' });
      await c.query('DROP SCHEMA wide CASCADE');
    });
  }, 90_000);
  it('a DDL transaction only partly selected is not synchronized at all; DDL on selected tables alone is', async () => {
    const ddlDb = await createTestDatabase('optsddl');
    try {
      await withPg(ddlDb.database, async (c) => {
        await c.query('CREATE TABLE public.a (id int PRIMARY KEY)');
        await c.query('CREATE TABLE public.b (id int PRIMARY KEY)');
      });
      const topic = await newTopic();
      const ddlTopic = await newTopic();
      const name = uniqueName('ddlpart').replace(/_/g, '-');
      const t = runtime.add({
        ...task(name, topic, { syncTypes: { full: false }, objects: [{ schema: 'public', table: 'a' }] }, { database: ddlDb.database }),
        destination: { kafka: { brokers: [...servers.kafka.brokers], topic, ddlTopic, format: 'canal-json' } },
      } as TaskConfigInput);
      t.start();
      await t.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
      expect(t.status.state).toBe('incremental');
      await withPg(ddlDb.database, async (c) => {
        await c.query('BEGIN');
        await c.query('ALTER TABLE public.a ADD COLUMN partly_a int');
        await c.query('ALTER TABLE public.b ADD COLUMN partly_b int');
        await c.query('COMMIT');
        await c.query('ALTER TABLE public.a ADD COLUMN alone_a int');
      });
      const [first] = await readTopic(ddlTopic, 1, { timeoutMs: 30_000 });
      const text = first?.value?.toString() ?? '';
      expect(text).toContain('alone_a');
      expect(text).not.toContain('partly_a');
      await runtime.remove(name);
      t.release();
      await t.waitFor((s) => s.state === 'released' || s.state === 'releaseFailed', 20_000).catch(() => undefined);
    } finally {
      await ddlDb.drop();
    }
  }, 90_000);
  it('a whole selected schema on PostgreSQL 15: the publication covers the schema, and a table created there later is streamed', async () => {
    const liveDb = await createTestDatabase('optslive');
    try {
      await withPg(liveDb.database, async (c) => {
        await c.query('CREATE SCHEMA live');
        await c.query('CREATE TABLE live.t1 (id int PRIMARY KEY, v text)');
        await c.query(`INSERT INTO live.t1 VALUES (1, 'a'), (2, 'b')`);
      });
      const topic = await newTopic();
      const name = uniqueName('live').replace(/_/g, '-');
      const t = runtime.add(task(name, topic, { objects: [{ schema: 'live' }] }, { database: liveDb.database }));
      t.start();
      await t.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
      expect(t.status.state).toBe('incremental');
      const slot = `tributary_${name.replace(/-/g, '_')}`;
      const inSchema = await withPg(liveDb.database, async (c) =>
        (await c.query<{ s: string }>('SELECT n.nspname AS s FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid JOIN pg_namespace n ON n.oid = pn.pnnspid WHERE p.pubname = $1', [slot])).rows.map((r) => r.s),
      );
      expect(inSchema).toEqual(['live']);
      expect(t.status.precheck?.find((i) => i.id === 'source.new_tables')).toMatchObject({ status: 'pass', detail: expect.stringContaining('FOR TABLES IN SCHEMA') });
      await withPg(liveDb.database, async (c) => {
        await c.query('CREATE TABLE live.t2 (id int PRIMARY KEY, v text)');
        await c.query(`INSERT INTO live.t2 VALUES (10, 'x'), (11, 'y'), (12, 'z')`);
        await c.query(`UPDATE live.t2 SET v = 'q' WHERE id = 10`);
        await c.query('DELETE FROM live.t2 WHERE id = 11');
      });
      // 2 copied rows of t1, the CREATE TABLE (DDL goes to the data topic here), 3 inserts, an update and a delete of t2.
      const messages = await readTopic(topic, 8, { timeoutMs: 30_000 });
      const rows = messages.map((m) => JSON.parse(m.value?.toString() ?? '{}') as { table?: string; type?: string; data?: Array<{ id?: string }> });
      const t2 = rows.filter((r) => r.table === 't2' && r.type === 'INSERT').flatMap((r) => (r.data ?? []).map((d) => d.id));
      expect(t2).toEqual(['10', '11', '12']);
      expect(rows.filter((r) => r.table === 't2' && (r.type === 'UPDATE' || r.type === 'DELETE')).map((r) => [r.type, r.data?.[0]?.id])).toEqual([
        ['UPDATE', '10'],
        ['DELETE', '11'],
      ]);
      expect(t.status.state).toBe('incremental');
      await runtime.remove(name);
      t.release();
      await t.waitFor((s) => s.state === 'released' || s.state === 'releaseFailed', 20_000).catch(() => undefined);
    } finally {
      await liveDb.drop();
    }
  }, 90_000);
});
