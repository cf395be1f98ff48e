import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, deliveredCanalIds, uniqueName, withPg } from './support.js';
import { TcpProxy } from './tcpProxy.js';

/**
 * The network to PostgreSQL goes dark (no RST, no data) while a task streams through it: the task
 * must notice within the replication silence limit, retry, and deliver everything once the network
 * is back.
 */
describe('PostgreSQL → Kafka: a half-open connection to PostgreSQL', () => {
  let db: { database: string; drop: () => Promise<void> };
  let dir: string;
  let runtime: Runtime | undefined;
  const proxy = new TcpProxy(servers.postgres.host, servers.postgres.port);
  const topic = uniqueName('halfopen');

  beforeAll(async () => {
    db = await createTestDatabase('halfopen');
    dir = await mkdtemp(join(tmpdir(), 'trib-halfopen-'));
    await createTopic(topic, 1);
    await withPg(db.database, (c) => c.query("CREATE TABLE public.items (id int PRIMARY KEY, v text); INSERT INTO public.items SELECT g, 'v' FROM generate_series(1, 10) g"));
    await proxy.start();
  });

  afterAll(async () => {
    await runtime?.shutdown().catch(() => undefined);
    await proxy.stop();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('is detected within the silence limit, retried, and nothing is lost once the network is back', async () => {
    runtime = createRuntime({ confirmIntervalMs: 200 });
    const task = runtime.add({
      name: topic.replace(/_/g, '-'),
      source: { type: 'postgres', host: '127.0.0.1', port: proxy.port, user: servers.postgres.user, database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'items' }],
      checkpoints: { store: 'file', dir },
    });
    task.start();
    await task.waitFor((s) => s.state === 'incremental' && s.healthy, 90_000);

    proxy.blackhole();
    const darkAt = Date.now();
    await withPg(db.database, (c) => c.query("INSERT INTO public.items SELECT g, 'dark' FROM generate_series(11, 30) g"));
    await task.waitFor((s) => s.state.startsWith('retrying'), 60_000);
    const detectedMs = Date.now() - darkAt;
    expect(detectedMs).toBeLessThan(45_000);
    expect(task.status.lastError?.kind).toBe('connection');

    proxy.restore();
    await task.waitFor((s) => s.state === 'incremental' && s.healthy, 120_000);
    const want = Array.from({ length: 30 }, (_, i) => String(i + 1));
    const ids = await deliveredCanalIds(topic, want, 60_000);
    expect(want.filter((id) => !ids.has(id))).toEqual([]);
    console.log(`[half-open] detected after ${detectedMs} ms: ${task.status.lastError?.message}`);
  }, 240_000);
});
