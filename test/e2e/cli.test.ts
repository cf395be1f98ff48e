import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { servers } from '../integration/servers.js';
import { createTestDatabase, createTopic, deleteTopics, uniqueName, withPg } from '../integration/support.js';

const exec = promisify(execFile);
const bin = resolve('bin/tributary.js');

/** Runs the built `tributary` command as a user would; never throws on a non-zero exit. */
async function tributary(args: string[], env: Record<string, string> = {}, timeout = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec('node', [bin, ...args], { env: { ...process.env, ...env }, timeout, maxBuffer: 16 * 1024 * 1024 });
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

/** `tributary run <file> --http <port> --json` in the background. */
function startRun(file: string): { child: ChildProcess; url: string; exited: Promise<number>; stdout: () => string } {
  const port = 18470 + Math.floor(Math.random() * 500);
  const child = spawn('node', [bin, 'run', file, '--http', String(port), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number>((res) => child.on('exit', (code) => res(code ?? -1)));
  return { child, url: `http://127.0.0.1:${port}`, exited, stdout: () => stdout };
}

/** Polls `tributary status` until the task reaches `want` (or a minute passes); returns the last state seen. */
async function waitForState(url: string, task: string, want: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  let state = '';
  while (Date.now() < deadline && state !== want) {
    const s = await tributary(['status', '--url', url, '--json']);
    if (s.code === 0) state = (JSON.parse(s.stdout) as Array<{ taskId: string; state: string }>).find((t) => t.taskId === task)?.state ?? '';
    if (state !== want) await new Promise((r) => setTimeout(r, 300));
  }
  return state;
}

/** The position saved in a file checkpoint, if any. */
async function savedPosition(dir: string, task: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(dir, `${task}.json`), 'utf8')) as { position?: string }).position;
  } catch {
    return undefined;
  }
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const p = spawn('node', ['-e', '0']);
  await new Promise((r) => p.on('exit', r));
  return p.pid as number;
}

describe('the tributary command', () => {
  let dir: string;
  let db: { database: string; drop: () => Promise<void> };
  const topic = uniqueName('cli');
  /** A topic no other task writes to, so that a new task's precheck finds no conflicting output. */
  const freshTopic = uniqueName('cli_offsets');

  beforeAll(async () => {
    // In a checkout the bin runs the sources (test/e2e/package.test.ts covers the installed package).
    dir = await mkdtemp(join(tmpdir(), 'trib-cli-'));
    db = await createTestDatabase('cli');
    await createTopic(topic);
    await createTopic(freshTopic);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.good (id int PRIMARY KEY, v text)');
      await c.query('CREATE TABLE public.nokey (a int, b text)');
      await c.query("INSERT INTO public.good SELECT g, 'v' || g FROM generate_series(1, 100) g");
    });
  }, 360_000);

  afterAll(async () => {
    await db?.drop();
    await deleteTopics(topic, freshTopic).catch(() => undefined);
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
    // A config XState loads back: the same states.
    const machine = createMachine(chart as Parameters<typeof createMachine>[0]);
    expect(Object.keys(machine.root.states)).toEqual(Object.keys(chart.states));
  });

  it('run serves the API; status, pause, resume, stop, start and throttle talk to it; SIGTERM stops cleanly with exit 0', async () => {
    const file = join(dir, 'run.yaml');
    const name = 'cli-run';
    await writeFile(file, taskYaml({ name, database: db.database, topic, dir, tables: ['good'] }));
    const run = startRun(file);
    const url = run.url;
    try {
      expect(await waitForState(url, name, 'incremental')).toBe('incremental');
      // inspect with the task file: its machine and current state in that instance, which XState restores.
      const inspected = await tributary(['inspect', file, '--url', url]);
      expect(inspected.code).toBe(0);
      const doc = JSON.parse(inspected.stdout) as { machine: Parameters<typeof createMachine>[0]; state: { value: unknown; context: unknown }; text: string };
      expect(doc.text).toBe('incremental');
      expect(createMachine(doc.machine).resolveState(doc.state as Parameters<ReturnType<typeof createMachine>['resolveState']>[0]).value).toBe('incremental');
      const t = await tributary(['throttle', name, '--incrementalRps', '500', '--url', url, '--json']);
      expect(t.code).toBe(0);
      expect(JSON.parse(t.stdout)).toEqual({ incrementalRps: 500 });
      expect((await tributary(['pause', name, '--url', url])).stdout).toContain(`${name}: paused`);
      expect((await tributary(['resume', name, '--url', url])).code).toBe(0);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`tributary_events_total\\{task="${name}"\\} (\\d+)`));
      expect(Number(/tributary_events_total\{task="cli-run"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(100);

      expect((await tributary(['stop', name, '--url', url])).stdout).toContain(`${name}: stopped`);
      const started = await tributary(['start', name, '--url', url]);
      expect(started.stderr).toBe('');
      expect(started.code).toBe(0);
      expect(started.stdout).toMatch(new RegExp(`^${name}: \\w+`));
      expect(await waitForState(url, name, 'incremental')).toBe('incremental');
      const unknown = await tributary(['start', 'no-such-task', '--url', url]);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toContain('HTTP 404');
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('"state":"incremental"');
  }, 180_000);

  it('--help and -h print the command\'s help and nothing else, exit 0, whatever else is on the line', async () => {
    const good = join(dir, 'help.yaml');
    await writeFile(good, taskYaml({ name: 'cli-help', database: db.database, topic, dir, tables: ['good'] }));
    const commands = ['run', 'precheck', 'validate', 'status', 'start', 'pause', 'resume', 'stop', 'throttle', 'offsets', 'inspect', 'verify', 'docs'];
    for (const [i, cmd] of commands.entries()) {
      const r = await tributary([cmd, i % 2 === 0 ? '--help' : '-h'], {}, 30_000);
      expect({ cmd, code: r.code, stderr: r.stderr }).toEqual({ cmd, code: 0, stderr: '' });
      expect(r.stdout.startsWith(`usage: tributary ${cmd}`)).toBe(true);
      expect(r.stdout).toContain('--help');
      expect(r.stdout.length).toBeLessThan(4000);
    }
    // With a task file and other options, --help still only prints help: nothing runs, nothing is written.
    const started = Date.now();
    const run = await tributary(['run', good, '--http', '18999', '--help'], {}, 30_000);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--http <port>');
    expect(Date.now() - started).toBeLessThan(15_000);
    const offsets = await tributary(['offsets', good, '--set', '0/16B3748', '-h'], {}, 30_000);
    expect(offsets.code).toBe(0);
    expect(offsets.stdout).toContain('--set <position>');
    expect(existsSync(join(dir, 'cli-help.json'))).toBe(false);
    expect(existsSync(join(dir, 'cli-help.lock'))).toBe(false);
    // The command list names every command, start included, and `help <command>` is the same as `<command> --help`.
    const usage = await tributary(['--help']);
    expect(usage.code).toBe(0);
    for (const cmd of [...commands, 'demo']) expect(usage.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    expect((await tributary(['help', 'offsets'])).stdout).toBe(offsets.stdout);
  }, 120_000);

  it('demo --help prints its usage at once and leaves the tributary_demo database alone', async () => {
    const demoDb = () =>
      withPg('postgres', async (c) => {
        const d = await c.query<{ oid: string }>("SELECT oid::text FROM pg_database WHERE datname = 'tributary_demo'");
        const slots = await c.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_replication_slots WHERE database = 'tributary_demo'");
        return { oid: d.rows[0]?.oid ?? null, slots: slots.rows[0]?.n };
      });
    const before = await demoDb();
    const started = Date.now();
    const r = await tributary(['demo', '--help'], {}, 20_000);
    const elapsed = Date.now() - started;
    // A demo that ran would have dropped and recreated the database: a new oid, or one where there was none.
    expect(await demoDb()).toEqual(before);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('usage: tributary demo')).toBe(true);
    expect(r.stdout).not.toContain('demo: database');
    expect(elapsed).toBeLessThan(10_000);
  }, 60_000);

  it('an unknown option is a usage error (exit 64) naming it and the command\'s options', async () => {
    const good = join(dir, 'unknown.yaml');
    await writeFile(good, taskYaml({ name: 'cli-unknown', database: db.database, topic, dir, tables: ['good'] }));
    const v = await tributary(['validate', good, '--bogus']);
    expect(v.code).toBe(64);
    expect(v.stderr).toContain("unknown option '--bogus' for 'validate'");
    expect(v.stderr).toContain('--print');
    expect(v.stdout).toBe('');
    // A misspelt --set must not pass for a plain `offsets` that shows the checkpoint.
    const o = await tributary(['offsets', good, '--sett', '0/16B3748']);
    expect(o.code).toBe(64);
    expect(o.stderr).toContain("'--sett'");
    expect(o.stderr).toContain('--set');
    const s = await tributary(['status', '--urll', 'http://127.0.0.1:1']);
    expect(s.code).toBe(64);
    expect(s.stderr).toContain("'--urll'");
    const short = await tributary(['validate', good, '-p']);
    expect(short.code).toBe(64);
    expect(short.stderr).toContain("'-p'");
  });

  it('--log-level rejects a level it does not know, listing the valid ones (exit 64)', async () => {
    const good = join(dir, 'loglevel.yaml');
    await writeFile(good, taskYaml({ name: 'cli-loglevel', database: db.database, topic, dir, tables: ['good'] }));
    const r = await tributary(['precheck', good, '--log-level', 'verbose']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("'verbose'");
    expect(r.stderr).toContain('debug, info, warn, error, silent');
    expect(r.stdout).toBe('');
    // A known level is accepted: the precheck runs and reports (the topic may already hold other tasks' output).
    const ok = await tributary(['precheck', good, '--log-level=error', '--json']);
    expect(ok.code).not.toBe(64);
    expect((JSON.parse(ok.stdout) as { items: unknown[] }).items.length).toBeGreaterThan(0);
  }, 60_000);

  it('offsets --set takes only a position the task\'s source can read, and stores it in the source\'s own form', async () => {
    const file = join(dir, 'offsets-pg.yaml');
    await writeFile(file, taskYaml({ name: 'cli-offsets-pg', database: db.database, topic, dir, tables: ['good'] }));
    for (const bad of ['banana', '16B3748', '0/XYZ', '12:34']) {
      const r = await tributary(['offsets', file, '--set', bad]);
      expect({ bad, code: r.code }).toEqual({ bad, code: 64 });
      expect(r.stderr).toContain(`'${bad}'`);
      expect(r.stderr).toMatch(/LSN.*0\/16B3748/);
    }
    expect(await savedPosition(dir, 'cli-offsets-pg')).toBeUndefined();
    const set = await tributary(['offsets', file, '--set', '0/16B3748', '--json']);
    expect(set.code).toBe(0);
    expect((JSON.parse(set.stdout) as { position: string }).position).toBe('0/16B3748#0@0/16B3748');
    expect(await savedPosition(dir, 'cli-offsets-pg')).toBe('0/16B3748#0@0/16B3748');
    expect((await tributary(['offsets', file, '--set', '0/1', '--reset'])).code).toBe(64);
    expect(await savedPosition(dir, 'cli-offsets-pg')).toBe('0/16B3748#0@0/16B3748');

    // MongoDB positions have their own form: an oplog time t:i, or a resume token.
    const mongo = join(dir, 'offsets-mongo.yaml');
    await writeFile(
      mongo,
      ['name: cli-offsets-mongo', 'source:', '  type: mongodb', '  uri: "mongodb://127.0.0.1:27117/?replicaSet=rs0"', 'destination:', '  kafka:', `    brokers: [${servers.kafka.brokers.join(', ')}]`, `    topic: ${topic}`, '    format: canal-json', 'objects:', '  - { database: shop, collection: orders }', 'checkpoints:', '  store: file', `  dir: ${dir}`, ''].join('\n'),
    );
    const lsn = await tributary(['offsets', mongo, '--set', '0/16B3748']);
    expect(lsn.code).toBe(64);
    expect(lsn.stderr).toContain("'0/16B3748'");
    expect(lsn.stderr).toContain('t:i');
    const ts = await tributary(['offsets', mongo, '--set', '1700000000:7', '--json']);
    expect(ts.code).toBe(0);
    expect(await savedPosition(dir, 'cli-offsets-mongo')).toBe('1700000000:7');
  }, 60_000);

  it('offsets --set and --reset are refused while the task runs (its run holds the lock, or an instance has it loaded), and allowed once it stopped', async () => {
    const name = 'cli-offsets';
    const file = join(dir, 'offsets-run.yaml');
    const lock = join(dir, `${name}.lock`);
    await writeFile(file, taskYaml({ name, database: db.database, topic: freshTopic, dir, tables: ['good'] }));
    const run = startRun(file);
    try {
      expect(await waitForState(run.url, name, 'incremental')).toBe('incremental');
      expect(existsSync(lock)).toBe(true);
      // The run's API is not at the default address: the lock alone tells.
      for (const change of [['--set', '0/1'], ['--reset']]) {
        const r = await tributary(['offsets', file, ...change]);
        expect({ change, code: r.code }).toEqual({ change, code: 3 });
        expect(r.stderr).toContain(`Task ${name} is running: tributary run (pid ${run.child.pid}`);
        expect(r.stderr).toContain(run.url);
      }
      expect(await savedPosition(dir, name)).not.toBe('0/1#0@0/1');
      expect((await tributary(['offsets', file, '--json'])).code).toBe(0);
      // A second run of the same task is refused too.
      const second = await tributary(['run', file], {}, 30_000);
      expect(second.code).toBe(3);
      expect(second.stderr).toContain(`pid ${run.child.pid}`);

      // A task added to the instance through its API has no lock: the instance at $TRIBUTARY_URL / --url is asked.
      const apiName = 'cli-offsets-api';
      const apiFile = join(dir, 'offsets-api.yaml');
      const apiYaml = taskYaml({ name: apiName, database: db.database, topic: freshTopic, dir, tables: ['good'] });
      await writeFile(apiFile, apiYaml);
      const created = await fetch(`${run.url}/tasks?start=false`, { method: 'POST', body: apiYaml, headers: { 'content-type': 'application/yaml' } });
      expect(created.status).toBe(201);
      const viaEnv = await tributary(['offsets', apiFile, '--set', '0/1'], { TRIBUTARY_URL: run.url });
      expect(viaEnv.code).toBe(3);
      expect(viaEnv.stderr).toContain(`Task ${apiName} is loaded in the Tributary instance at ${run.url}`);
      const viaFlag = await tributary(['offsets', apiFile, '--reset', '--url', run.url]);
      expect(viaFlag.code).toBe(3);
      expect(await savedPosition(dir, apiName)).toBeUndefined();
      expect(existsSync(join(dir, `${apiName}.lock`))).toBe(false);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    expect(existsSync(lock)).toBe(false);
    const after = await tributary(['offsets', file, '--set', '0/2']);
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    expect(await savedPosition(dir, name)).toBe('0/2#0@0/2');

    // A lock left by a process that died (SIGKILL) is not a running task; one held by a live process is.
    await writeFile(lock, JSON.stringify({ pid: await deadPid(), host: hostname(), command: 'tributary run', startedAt: new Date().toISOString() }));
    const stale = await tributary(['offsets', file, '--set', '0/3']);
    expect(stale.code).toBe(0);
    expect(await savedPosition(dir, name)).toBe('0/3#0@0/3');
    expect(existsSync(lock)).toBe(false);
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), command: 'tributary run', startedAt: new Date().toISOString() }));
    const live = await tributary(['offsets', file, '--set', '0/4']);
    expect(live.code).toBe(3);
    expect(live.stderr).toContain(`pid ${process.pid}`);
    expect(await savedPosition(dir, name)).toBe('0/3#0@0/3');
    // A pid reused by a process that started at another time (after a crash and reboot) is not the holder.
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), procStart: '1', command: 'tributary run', startedAt: new Date().toISOString() }));
    const reused = await tributary(['offsets', file, '--set', '0/5']);
    expect(reused.code).toBe(0);
    expect(await savedPosition(dir, name)).toBe('0/5#0@0/5');
    expect(existsSync(lock)).toBe(false);
  }, 180_000);
  it('run --ignore ITEM lets a task with that precheck warning start; without it the table is printed and the task waits', async () => {
    const name = uniqueName('cli_ignore').replace(/_/g, '-');
    const pub = uniqueName('userpub');
    const ignoreTopic = uniqueName('cli_ignore');
    await createTopic(ignoreTopic);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.pubbed (id int PRIMARY KEY, v text)');
      // A user-made publication without the task's helper tables: a warning, not a failure.
      await c.query(`CREATE PUBLICATION ${pub} FOR TABLE public.pubbed`);
    });
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, taskYaml({ name, database: db.database, topic: ignoreTopic, dir, tables: ['pubbed'] }).replace(`  database: ${db.database}\n`, `  database: ${db.database}\n  publication: ${pub}\n`));
    try {
      const waiting = spawn('node', [bin, 'run', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      waiting.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !err.includes('--ignore')) await new Promise((r) => setTimeout(r, 200));
      waiting.kill('SIGTERM');
      await new Promise((r) => waiting.once('exit', r));
      expect(err).toContain('awaitingAlertIgnore');
      expect(err).toContain('source.publication');
      expect(err).toMatch(/run again with --ignore [^\n]*source\.publication/);

      const port = 18970 + Math.floor(Math.random() * 500);
      const run = spawn('node', [bin, 'run', file, '--ignore', 'source.publication', '--http', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number>((res) => run.on('exit', (code) => res(code ?? -1)));
      try {
        expect(await waitForState(`http://127.0.0.1:${port}`, name, 'incremental')).toBe('incremental');
      } finally {
        run.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
    } finally {
      await deleteTopics(ignoreTopic).catch(() => undefined);
    }
  }, 180_000);

  it('run off a terminal prints line-based progress; the full sync ends at 100 % with the rows copied, per table and in total', async () => {
    const name = uniqueName('cli_lines').replace(/_/g, '-');
    const linesTopic = uniqueName('cli_lines');
    await createTopic(linesTopic);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.more (id int PRIMARY KEY, v text)');
      await c.query("INSERT INTO public.more SELECT g, 'm' || g FROM generate_series(1, 2000) g");
    });
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, taskYaml({ name, database: db.database, topic: linesTopic, dir, tables: ['good', 'more'] }));
    try {
      const run = spawn('node', [bin, 'run', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      run.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number>((res) => run.on('exit', (code) => res(code ?? -1)));
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !/\] incremental\n/.test(err)) await new Promise((r) => setTimeout(r, 200));
      run.kill('SIGTERM');
      expect(await exited).toBe(0);
      // Plain lines, no terminal control sequences (no bars off a terminal).
      expect(err).not.toContain('\u001b[');
      expect(err).not.toContain('\r');
      expect(err).toMatch(/^full sync 100% 2,100\/2,100 rows, 2\/2 chunks, .* rows\/s, ETA 0s$/m);
      expect(err).toMatch(new RegExp(`^  ${db.database}\\.public\\.good 100% 100/100 rows, 1/1 chunks`, 'm'));
      expect(err).toMatch(new RegExp(`^  ${db.database}\\.public\\.more 100% 2,000/2,000 rows, 1/1 chunks`, 'm'));
      // The last full-sync figures come before the line saying incremental sync began.
      expect(err.indexOf('full sync 100%')).toBeLessThan(err.search(/\] incremental\n/));
    } finally {
      await deleteTopics(linesTopic).catch(() => undefined);
    }
  }, 120_000);

  it('inspect --live runs the task and prints each transition as `time from -> to (event)`, full sync included', async () => {
    const name = uniqueName('cli_live').replace(/_/g, '-');
    const liveTopic = uniqueName('cli_live');
    await createTopic(liveTopic);
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, taskYaml({ name, database: db.database, topic: liveTopic, dir, tables: ['good'] }));
    try {
      const live = spawn('node', [bin, 'inspect', '--live', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      live.stdout?.on('data', (d: Buffer) => (text += d.toString()));
      const exited = new Promise<number>((res) => live.on('exit', (code) => res(code ?? -1)));
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !text.includes('-> incremental')) await new Promise((r) => setTimeout(r, 200));
      live.kill('SIGTERM');
      expect(await exited).toBe(0);
      const lines = text.trim().split('\n');
      const time = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
      for (const line of lines) expect(line).toMatch(new RegExp(`^${time} \\S+ -> \\S+ \\(\\S+\\)$`));
      expect(lines[0]).toMatch(new RegExp(`^${time} idle -> prechecking \\(START\\)$`));
      expect(text).toMatch(/ prechecking -> full \(xstate\.done\.actor\.precheck\)\n/);
      expect(text).toMatch(/ fullSync\.planning -> fullSync\.copying \(xstate\.done\.actor\.planChunks\)\n/);
      expect(text).toMatch(/ full -> incremental \(xstate\.done\.actor\.fullSync\)\n/);
      expect(text).toMatch(/ incremental -> stopped \(STOP\)\n/);
    } finally {
      await deleteTopics(liveTopic).catch(() => undefined);
    }
  }, 120_000);

  it('run exits 1 by itself when the task fails fatally (no auto-restart to wait for), naming the error', async () => {
    const name = uniqueName('cli_fatal').replace(/_/g, '-');
    const fatalTopic = uniqueName('cli_fatal');
    await createTopic(fatalTopic);
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.wide (id int PRIMARY KEY, v text)');
      await c.query("INSERT INTO public.wide VALUES (1, repeat('x', 4000))");
    });
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, taskYaml({ name, database: db.database, topic: fatalTopic, dir, tables: ['wide'] }).replace('    format: canal-json\n', '    format: canal-json\n    maxMessageBytes: 1024\n'));
    try {
      const r = await tributary(['run', file], {}, 90_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('failed');
      expect(r.stderr).toContain('public.wide');
      expect(r.stderr).toMatch(/\] failed: .*message limit/);
    } finally {
      await deleteTopics(fatalTopic).catch(() => undefined);
    }
  }, 120_000);
});
