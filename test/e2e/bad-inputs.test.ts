import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers } from '../integration/servers.js';
import { createTestDatabase, withPg } from '../integration/support.js';

const exec = promisify(execFile);
const SECRET = 'Sup3r-Secret-Pw-91';

/** The command as a user runs it (the sources, so a stale build is never what is tested). */
async function tributary(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  try {
    const r = await exec(process.execPath, ['--import', 'tsx', resolve('src/cli/bin.ts'), ...args], { env: { ...process.env, ...env }, timeout: 90_000, maxBuffer: 8 * 1024 * 1024 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

interface Case {
  input: string;
  command: 'validate' | 'precheck';
  /** YAML text of the task file, or a function of the test database. */
  yaml: string | ((db: string) => string);
  /** A file name ending in .json makes a JSON file; null passes a path that does not exist. */
  file?: string | null;
  code: number;
  says: RegExp;
  env?: Record<string, string>;
}

const pg = (db: string, extra = '', objects = '  - { schema: public, table: good }') =>
  [
    'name: bad-inputs',
    'source:',
    '  type: postgres',
    `  host: ${servers.postgres.host}`,
    `  port: ${servers.postgres.port}`,
    '  user: tributary_bad_inputs',
    `  password: ${SECRET}`,
    `  database: ${db}`,
    'destination:',
    '  kafka:',
    `    brokers: [${servers.kafka.brokers.join(', ')}]`,
    '    topic: bad-inputs',
    'objects:',
    objects,
    extra,
  ].join('\n');
const valid = pg('shop');
const patch = (from: string, to: string) => valid.replace(from, to);

const cases: Case[] = [
  { input: 'malformed YAML', command: 'validate', yaml: 'name: t\nsource: [unclosed\n', code: 2, says: /YAML/ },
  { input: 'a key given twice', command: 'validate', yaml: `${valid}\nname: again`, code: 2, says: /line \d+.*keys must be unique/ },
  { input: 'JSON with a trailing comma', command: 'validate', yaml: '{"name": "t",}', file: 'task.json', code: 2, says: /JSON/ },
  { input: 'a file that does not exist', command: 'validate', yaml: '', file: null, code: 2, says: /cannot read/ },
  { input: 'a directory instead of a file', command: 'validate', yaml: '', file: 'a-directory', code: 2, says: /cannot read|EISDIR/ },
  { input: 'not a mapping', command: 'validate', yaml: '- just\n- a list\n', code: 2, says: /mapping/ },
  { input: 'unknown top-level key', command: 'validate', yaml: `${valid}\nbogus: 1`, code: 2, says: /bogus/ },
  { input: 'misspelt nested key', command: 'validate', yaml: patch('  host:', '  hots:'), code: 2, says: /hots/ },
  { input: 'wrong type (port: abc)', command: 'validate', yaml: patch(`  port: ${servers.postgres.port}`, '  port: abc'), code: 2, says: /source\.port/ },
  { input: 'port out of range (70000)', command: 'validate', yaml: patch(`  port: ${servers.postgres.port}`, '  port: 70000'), code: 2, says: /source\.port/ },
  { input: 'broker port 99999', command: 'validate', yaml: patch(`    brokers: [${servers.kafka.brokers.join(', ')}]`, '    brokers: [k:99999]'), code: 2, says: /brokers\[0\].*1 and 65535/ },
  { input: 'no brokers', command: 'validate', yaml: patch(`    brokers: [${servers.kafka.brokers.join(', ')}]`, '    brokers: []'), code: 2, says: /destination\.kafka\.brokers/ },
  { input: 'retry window below its range', command: 'validate', yaml: `${valid}\nretry: { connectionMinutes: 5 }`, code: 2, says: /retry\.connectionMinutes/ },
  { input: 'other-issues window not below the connection window', command: 'validate', yaml: `${valid}\nretry: { connectionMinutes: 20, otherMinutes: 30 }`, code: 2, says: /retry\.otherMinutes/ },
  { input: 'negative parallelism', command: 'validate', yaml: `${valid}\nfullSync: { parallelism: -1 }`, code: 2, says: /fullSync\.parallelism/ },
  { input: 'huge throttle (1e400)', command: 'validate', yaml: `${valid}\nthrottle: { incremental: { rps: 1e400 } }`, code: 2, says: /throttle\.incremental\.rps/ },
  { input: 'zero throttle in a file', command: 'validate', yaml: `${valid}\nthrottle: { incremental: { rps: 0 } }`, code: 2, says: /throttle\.incremental\.rps/ },
  { input: 'unknown format', command: 'validate', yaml: patch('    topic: bad-inputs', '    topic: bad-inputs\n    format: xml'), code: 2, says: /format/ },
  { input: 'unknown compression', command: 'validate', yaml: patch('    topic: bad-inputs', '    topic: bad-inputs\n    compression: zstd'), code: 2, says: /compression/ },
  { input: 'maxMessageBytes below 1 KB', command: 'validate', yaml: patch('    topic: bad-inputs', '    topic: bad-inputs\n    maxMessageBytes: 10'), code: 2, says: /maxMessageBytes/ },
  { input: 'no objects', command: 'validate', yaml: valid.replace('  - { schema: public, table: good }', '  []').replace('objects:\n', 'objects:'), code: 2, says: /objects/ },
  { input: 'filter with injected SQL', command: 'validate', yaml: pg('shop', '', '  - { schema: public, table: good, filter: "id > 0; DROP TABLE x" }'), code: 2, says: /filter/ },
  { input: 'ETL expression that does not parse', command: 'validate', yaml: `${valid}\netl: { expression: "set a = (1 + " }`, code: 2, says: /etl/ },
  { input: 'invalid slot name', command: 'validate', yaml: patch('  database: shop', '  database: shop\n  slotName: My-Slot'), code: 2, says: /source\.slotName/ },
  { input: 'database name with a hyphen', command: 'validate', yaml: pg('my-shop'), code: 2, says: /source\.database/ },
  { input: 'task name with spaces', command: 'validate', yaml: patch('name: bad-inputs', 'name: Bad Name!'), code: 2, says: /name/ },
  { input: 'unknown source type', command: 'validate', yaml: patch('  type: postgres', '  type: oracle'), code: 2, says: /source/ },
  { input: 'unset environment variable', command: 'validate', yaml: patch('  user: tributary_bad_inputs', '  user: ${TRIBUTARY_NOT_SET_ANYWHERE}'), code: 2, says: /TRIBUTARY_NOT_SET_ANYWHERE/ },
  { input: 'webhook that is not a URL', command: 'validate', yaml: `${valid}\nmonitoring: { webhookUrl: not a url }`, code: 2, says: /monitoring\.webhookUrl/ },
  { input: 'exactly-once with file checkpoints', command: 'validate', yaml: patch('    topic: bad-inputs', '    topic: bad-inputs\n    exactlyOnce: true'), code: 2, says: /exactlyOnce|checkpoints/ },
  { input: 'MongoDB system database selected', command: 'validate', yaml: 'name: m\nsource: { type: mongodb, uri: "mongodb://127.0.0.1:27117" }\ndestination: { kafka: { brokers: [k], topic: t } }\nobjects:\n  - { database: admin }\n', code: 2, says: /admin/ },
  { input: 'unreachable host', command: 'precheck', yaml: (db) => pg(db).replace(`  port: ${servers.postgres.port}`, '  port: 1'), code: 1, says: /Source reachable.*ECONNREFUSED 127\.0\.0\.1:1/ },
  { input: 'wrong password', command: 'precheck', yaml: (db) => pg(db).replace(SECRET, `${SECRET}-wrong`), code: 1, says: /password authentication failed/ },
  { input: 'a table that does not exist', command: 'precheck', yaml: (db) => pg(db, '', '  - { schema: public, table: good }\n  - { schema: public, table: missing_table }'), code: 1, says: /no table public\.missing_table/ },
  { input: 'a table without a key', command: 'precheck', yaml: (db) => pg(db, '', '  - { schema: public, table: nokey }'), code: 1, says: /nokey/ },
  { input: 'filter naming an unknown column', command: 'precheck', yaml: (db) => pg(db, '', '  - { schema: public, table: good, filter: "idd > 3" }'), code: 1, says: /unknown column 'idd'/ },
  { input: 'columns naming an unknown column', command: 'precheck', yaml: (db) => pg(db, '', '  - { schema: public, table: good, columns: [id, nope] }'), code: 1, says: /'nope'/ },
];

describe('bad inputs to the command: a clear message, the documented exit code, never a secret', () => {
  let dir: string;
  let db: { database: string; drop: () => Promise<void> };
  const rows: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-bad-'));
    await mkdir(join(dir, 'a-directory'));
    db = await createTestDatabase('badin');
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE public.good (id int PRIMARY KEY, v text)');
      await c.query('CREATE TABLE public.nokey (a int, b text)');
      await c.query(`DO $$ BEGIN CREATE ROLE tributary_bad_inputs LOGIN REPLICATION PASSWORD '${SECRET}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
      await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO tributary_bad_inputs`);
    });
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
    if (rows.length > 0) console.log(['| input | command | exit | message |', '| --- | --- | --- | --- |', ...rows].join('\n'));
  });

  it(`${cases.length} inputs, each refused with its own message`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    const results: Array<{ c: Case; code: number; out: string }> = [];
    const queue = cases.map((c, i) => ({ c, i }));
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { c, i } = next;
        const path = c.file === null ? join(dir, 'does-not-exist.yaml') : c.file === 'a-directory' ? join(dir, 'a-directory') : join(dir, c.file ?? `case-${i}.yaml`);
        if (c.file !== null && c.file !== 'a-directory') await writeFile(path, typeof c.yaml === 'function' ? c.yaml(db.database) : c.yaml);
        const r = await tributary([c.command, path], c.env);
        results[i] = { c, ...r };
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    const failures: string[] = [];
    for (const { c, code, out } of results) {
      const message = out.split('\n').map((l) => l.trim()).filter((l) => c.says.test(l))[0] ?? out.trim().split('\n')[0] ?? '';
      rows.push(`| ${c.input} | ${c.command} | ${code} | ${message.replace(/\|/g, '\\|').slice(0, 200)} |`);
      if (code !== c.code) failures.push(`${c.input}: exit ${code}, expected ${c.code}: ${out.slice(0, 400)}`);
      if (!c.says.test(out)) failures.push(`${c.input}: output does not match ${c.says}: ${out.slice(0, 400)}`);
      if (out.includes(SECRET)) failures.push(`${c.input}: the password appears in the output`);
      if (/\n\s+at .*\(.*:\d+:\d+\)/.test(out)) failures.push(`${c.input}: a stack trace reached the user`);
    }
    expect(failures).toEqual([]);
  }, 300_000);
});
