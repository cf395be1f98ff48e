import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers } from '../integration/servers.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from '../integration/support.js';

const exec = promisify(execFile);
const bin = resolve('bin/tributary.js');

/** Runs the built `tributary` command as a user would; never throws on a non-zero exit. */
async function tributary(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec('node', [bin, ...args], { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function taskYaml(o: { name: string; database: string; topic: string; dir: string; tables: string[] }): string {
  return [
    `name: ${o.name}`,
    'source:',
    '  type: postgres',
    `  host: ${servers.postgres.host}`,
    `  port: ${servers.postgres.port}`,
    '  user: postgres',
    `  database: ${o.database}`,
    'destination:',
    '  kafka:',
    `    brokers: [${servers.kafka.brokers.join(', ')}]`,
    `    topic: ${o.topic}`,
    '    format: canal-json',
    'objects:',
    ...o.tables.map((t) => `  - { schema: public, table: ${t} }`),
    'checkpoints:',
    '  store: file',
    `  dir: ${o.dir}`,
    '',
  ].join('\n');
}

describe('the tributary command', () => {
  let dir: string;
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('cli');

  beforeAll(async () => {
    // Build once so the command runs from dist/ as an installed package would.
    await exec('npx', ['tsc', '-p', 'tsconfig.build.json'], { timeout: 300_000 });
    dir = await mkdtemp(join(tmpdir(), 'trib-cli-'));
    db = await createTestDatabase('cli');
    await createTopic(topic);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.good (id int PRIMARY KEY, v text)');
      await c.query('CREATE TABLE public.nokey (a int, b text)');
      await c.query("INSERT INTO public.good SELECT g, 'v' || g FROM generate_series(1, 100) g");
    });
  }, 360_000);

  afterAll(async () => {
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('prints usage and exits 64 on an unknown command', async () => {
    const r = await tributary(['frobnicate']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it('validate: a config with several mistakes reports all of them with paths, exit 2, and never the password', async () => {
    const r = await tributary(['validate', 'test/fixtures/config/bad.yaml']);
    expect(r.code).toBe(2);
    for (const path of ['name', 'destination.kafka.compression', 'destination.kafka.format', 'retry.otherMinutes', 'throttle.incremental.rps', 'objects[0]']) {
      expect(r.stderr).toContain(path);
    }
    expect(r.stderr).not.toContain('hunter2-Secret');
    const json = await tributary(['validate', 'test/fixtures/config/bad.yaml', '--json']);
    const parsed = JSON.parse(json.stdout) as { valid: boolean; issues: Array<{ path: string; message: string }> };
    expect(parsed.valid).toBe(false);
    expect(parsed.issues.length).toBeGreaterThanOrEqual(6);
    expect(json.stdout).not.toContain('hunter2-Secret');
  });

  it('validate --print shows the resolved config with defaults and masked secrets', async () => {
    const r = await tributary(['validate', 'test/fixtures/config/postgres-kafka.yaml', '--print', '--json'], { PG_PASSWORD: 'pg-Secret-1', KAFKA_PASSWORD: 'kafka-Secret-2' });
    expect(r.code).toBe(0);
    const cfg = JSON.parse(r.stdout) as { retry: { autoRestartWithinDays: number }; fullSync: { parallelism: number }; destination: { kafka: { acks: string; sasl: { password: string } } }; source: { password: string } };
    expect(cfg.retry.autoRestartWithinDays).toBe(7);
    expect(cfg.fullSync.parallelism).toBe(4);
    expect(cfg.destination.kafka.acks).toBe('all');
    expect(r.stdout).not.toContain('pg-Secret-1');
    expect(r.stdout).not.toContain('kafka-Secret-2');
    expect(cfg.source.password).toMatch(/\*+/);
  });

  it('precheck: a table without a key fails with a readable table and exit 1; a good task passes with exit 0', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, taskYaml({ name: 'cli-bad', database: db.database, topic, dir, tables: ['good', 'nokey'] }));
    const r = await tributary(['precheck', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+Every table has a primary key or a UNIQUE constraint\s+no primary key or usable UNIQUE constraint: public\.nokey/);
    expect(r.stdout).toContain('fix: Add a primary key');
    expect(r.stdout).toContain('The task may not start');

    const good = join(dir, 'good.yaml');
    await writeFile(good, taskYaml({ name: 'cli-good', database: db.database, topic, dir, tables: ['good'] }));
    const ok = await tributary(['precheck', good, '--json']);
    const report = JSON.parse(ok.stdout) as { mayStart: boolean; items: Array<{ id: string; status: string }> };
    expect(report.items.find((i) => i.id === 'source.wal_level')?.status).toBe('pass');
    expect(report.mayStart).toBe(true);
    expect(ok.code).toBe(0);
  }, 120_000);

  it('verify compares MongoDB source and destination: exit 0 when equal, 1 with the differing _id otherwise', async () => {
    const { MongoClient } = await import('mongodb');
    const rs = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
    const other = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';
    const dbName = uniqueName('verify');
    const a = await MongoClient.connect(rs);
    const b = await MongoClient.connect(other);
    try {
      const docs = Array.from({ length: 20 }, (_, i) => ({ _id: i, n: i }));
      await a.db(dbName).collection<{ _id: number; n: number }>('c').insertMany(docs);
      await b.db(dbName).collection<{ _id: number; n: number }>('c').insertMany(docs);
      const file = join(dir, 'verify.yaml');
      await writeFile(file, [`name: verify-task`, 'source:', '  type: mongodb', `  uri: "${rs}"`, 'destination:', '  mongodb:', `    uri: "${other}"`, 'objects:', `  - { database: ${dbName}, collection: c }`, ''].join('\n'));
      const same = await tributary(['verify', file]);
      expect(same.stdout).toContain('EQUAL');
      expect(same.code).toBe(0);
      await b.db(dbName).collection<{ _id: number; n: number }>('c').updateOne({ _id: 7 }, { $set: { n: -1 } });
      const differs = await tributary(['verify', file, '--json']);
      expect(differs.code).toBe(1);
      const report = JSON.parse(differs.stdout) as { equal: boolean; collections: Array<{ contentDiffers: string[] }> };
      expect(report.equal).toBe(false);
      expect(report.collections[0]?.contentDiffers).toEqual(['7']);
    } finally {
      await a.db(dbName).dropDatabase();
      await b.db(dbName).dropDatabase();
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('inspect prints the task state chart', async () => {
    const r = await tributary(['inspect']);
    expect(r.code).toBe(0);
    const chart = JSON.parse(r.stdout) as { id: string; states: Record<string, unknown> };
    expect(chart.id).toBe('task');
    expect(Object.keys(chart.states)).toEqual(expect.arrayContaining(['idle', 'prechecking', 'full', 'incremental', 'retrying', 'paused', 'failed']));
  });

  it('run serves the API; status, pause, resume and throttle talk to it; SIGTERM stops cleanly with exit 0', async () => {
    const file = join(dir, 'run.yaml');
    const name = 'cli-run';
    await writeFile(file, taskYaml({ name, database: db.database, topic, dir, tables: ['good'] }));
    const port = 18470 + Math.floor(Math.random() * 500);
    const child = spawn('node', [bin, 'run', file, '--http', String(port), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number>((res) => child.on('exit', (code) => res(code ?? -1)));
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      let state = '';
      while (Date.now() < deadline && state !== 'incremental') {
        const s = await tributary(['status', '--url', url, '--json']);
        if (s.code === 0) state = (JSON.parse(s.stdout) as Array<{ state: string }>)[0]?.state ?? '';
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(state).toBe('incremental');
      const t = await tributary(['throttle', name, '--incrementalRps', '500', '--url', url, '--json']);
      expect(t.code).toBe(0);
      expect(JSON.parse(t.stdout)).toEqual({ incrementalRps: 500 });
      expect((await tributary(['pause', name, '--url', url])).stdout).toContain(`${name}: paused`);
      expect((await tributary(['resume', name, '--url', url])).code).toBe(0);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`tributary_events_total\\{task="${name}"\\} (\\d+)`));
      expect(Number(/tributary_events_total\{task="cli-run"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(100);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stdout).toContain('"state":"incremental"');
  }, 120_000);
});
