import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, deliveredCanalIds, uniqueName, withPg } from './support.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('../fixtures/kafkajs-first.ts', import.meta.url));

/**
 * A host process that loaded kafkajs before Tributary: the fast path cannot take effect. That is
 * said loudly (a warning naming what is missing, and the sink's diagnostics for the metrics), and
 * the task still delivers everything on kafkajs' stock path.
 */
describe('kafkajs loaded before Tributary', () => {
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('stockpath');

  beforeAll(async () => {
    db = await createTestDatabase('stockpath');
    await createTopic(topic, 1);
    await withPg(db.database, (c) => c.query("CREATE TABLE public.items (id int PRIMARY KEY, v text); INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(1, 500) g"));
  });
  afterAll(async () => {
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
  });

  it('warns, reports kafka_fast_path 0, and delivers every row', async () => {
    const config = {
      name: topic.replace(/_/g, '-'),
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'items' }],
      checkpoints: { store: 'file', dir: `/tmp/trib-${topic}` },
    };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(config), '500'], { timeout: 120_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { state: string; events: number; diagnostics: Record<string, number>; warnings: Array<{ msg: string; fields?: { missing?: string } }> };
    expect(r.events).toBeGreaterThanOrEqual(500);
    expect(r.diagnostics).toEqual({ kafka_fast_path: 0 });
    const warning = r.warnings.find((w) => w.msg.includes('fast path is not in effect'));
    expect(warning?.fields?.missing).toContain('per-partition grouping');
    const want = Array.from({ length: 500 }, (_, i) => String(i + 1));
    const ids = await deliveredCanalIds(topic, want, 30_000);
    expect(want.filter((id) => !ids.has(id))).toEqual([]);
  }, 180_000);
});
