/**
 * The package as a user gets it: `npm pack` (which builds dist/ through `prepack`), the tarball
 * installed into an empty project, then only plain Node there: no tsx, no TypeScript sources, no
 * repository around it.
 *
 * The empty project installs without network access: the npm cache holds the tarballs of the
 * repository's dependencies (by integrity, from `npm ci`) but not the registry metadata that
 * `npm install <tgz> --offline` needs to resolve version ranges, so the project gets a lockfile
 * pinning the tarball's dependencies to the versions in the repository's package-lock.json and
 * runs `npm ci --offline`. Only when that fails (a pruned cache) does it fall back to
 * `npm install <tgz> --prefer-offline`, which may use the registry.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers } from '../integration/servers.js';
import { createTestDatabase, createTopic, deleteTopics, deliveredCanalIds, uniqueName, withPg } from '../integration/support.js';

const execFileP = promisify(execFile);
const repo = resolve('.');
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

/** The environment without what an enclosing `npm run`/`npx` set about the repository's own package. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/.test(k) || ['npm_config_local_prefix', 'npm_config_prefix', 'INIT_CWD', 'npm_command'].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws on a non-zero exit. */
async function run(file: string, args: string[], opts: { cwd: string; timeout?: number; env?: Record<string, string> }): Promise<Run> {
  try {
    const r = await execFileP(file, args, { cwd: opts.cwd, env: cleanEnv(opts.env), timeout: opts.timeout ?? 60_000, maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}${typeof e.code === 'number' ? '' : e.message}` };
  }
}

function expectOk(r: Run, what: string): void {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
}

interface PackInfo {
  filename: string;
  files: Array<{ path: string }>;
}

/** The first TypeScript block of the README's "As a library" section. */
async function readmeLibraryExample(): Promise<string> {
  const text = await readFile(join(repo, 'README.md'), 'utf8');
  const section = text.indexOf('### As a library');
  const start = text.indexOf('```ts\n', section);
  const end = text.indexOf('\n```', start + 6);
  if (section < 0 || start < 0 || end < 0) throw new Error('README.md has no ```ts block under "### As a library"');
  return text.slice(start + 6, end) + '\n';
}

/** Replaces each literal, which must occur exactly once (else the README example changed: update this test). */
function substitute(code: string, replacements: ReadonlyArray<[string, string]>): string {
  let out = code;
  for (const [from, to] of replacements) {
    const n = out.split(from).length - 1;
    if (n !== 1) throw new Error(`the README library example holds \`${from}\` ${n} times, not once: update test/e2e/package.test.ts`);
    out = out.replace(from, to);
  }
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

describe('the packed package', () => {
  let dir: string;
  let project: string;
  let tarball: string;
  let packed: PackInfo;
  let installedWith: string;
  const installed = () => join(project, 'node_modules/tributary');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-pkg-'));
    // `prepack` builds dist/ from the current sources (npm run build: clean, then tsc).
    const pack = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: repo, timeout: 240_000 });
    expectOk(pack, 'npm pack');
    [packed] = JSON.parse(pack.stdout) as [PackInfo];
    tarball = join(dir, packed.filename);

    project = join(dir, 'project');
    await mkdir(project);
    await copyFile(tarball, join(project, packed.filename));
    const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string> };
    const lock = JSON.parse(await readFile(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; link?: boolean }> };
    const spec = `file:${packed.filename}`;
    const manifest = { name: 'empty-project', version: '1.0.0', private: true, type: 'module', dependencies: { tributary: spec } };
    await writeFile(join(project, 'package.json'), JSON.stringify(manifest, null, 2));

    // The tarball's dependencies at the versions the repository is tested with, hoisted as in the repository.
    const packages: Record<string, unknown> = {
      '': { name: manifest.name, version: manifest.version, dependencies: manifest.dependencies },
      'node_modules/tributary': {
        version: pkg.version,
        resolved: spec,
        integrity: `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`,
        license: pkg.license,
        dependencies: pkg.dependencies,
        bin: pkg.bin,
        engines: pkg.engines,
      },
    };
    for (const [path, entry] of Object.entries(lock.packages)) if (path.startsWith('node_modules/') && !entry.dev && !entry.link) packages[path] = entry;
    await writeFile(join(project, 'package-lock.json'), JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages }, null, 2));

    const ci = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project, timeout: 120_000 });
    installedWith = 'npm ci --offline (dependencies pinned by the repository lockfile)';
    if (ci.code !== 0) {
      await rm(join(project, 'package-lock.json'), { force: true });
      const install = await run('npm', ['install', `./${packed.filename}`, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project, timeout: 180_000 });
      expectOk(install, `npm ci --offline failed (${ci.stderr.trim().split('\n').slice(-2).join(' ')}), then npm install --prefer-offline`);
      installedWith = 'npm install <tgz> --prefer-offline';
    }
  }, 360_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ships the compiled code, its types and the bin, and no sources, tests or build leftovers', async () => {
    const dry = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repo });
    expectOk(dry, 'npm pack --dry-run');
    const files = (JSON.parse(dry.stdout) as [PackInfo])[0].files.map((f) => f.path).sort();
    expect(files).toEqual(packed.files.map((f) => f.path).sort());
    for (const f of ['package.json', 'README.md', 'bin/tributary.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/bin.js', 'dist/src/http/server.js', 'dist/src/sinks/kafka/producerWorker.js', 'dist/machines/index.js', 'dist/machines/task.machine.d.ts']) {
      expect(files).toContain(f);
    }
    const strays = files.filter((f) => !/^(dist\/(src|machines)\/.+\.(js|d\.ts)|bin\/tributary\.js|package\.json|README\.md|LICENSE)$/.test(f));
    expect(strays).toEqual([]);
    expect(files.filter((f) => /(^|\/)test\/|\.test\.|\.spec\.|^src\/|^examples\/|^bench\/|^scripts\/|\.map$|\.tgz$/.test(f))).toEqual([]);
  });

  it('installs into an empty project without tsx or TypeScript', async () => {
    expect(installedWith).toBeTruthy();
    expect(existsSync(join(installed(), 'dist/src/index.js'))).toBe(true);
    expect(existsSync(join(installed(), 'src'))).toBe(false);
    expect(existsSync(join(project, 'node_modules/tsx'))).toBe(false);
    expect(existsSync(join(project, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(project, 'node_modules/vitest'))).toBe(false);
  });

  it('imports under plain Node: the exports are there, and a runtime is created, serves HTTP and shuts down', async () => {
    const script = `
      import * as t from 'tributary';
      import { createRuntime, serveHttp, createLogger, watchAlerts } from 'tributary';
      const out = { kinds: {} };
      for (const name of ['createRuntime', 'serveHttp', 'createLogger', 'watchAlerts', 'defaultRegistry', 'loadTaskConfig', 'parseTaskConfig', 'validateTaskConfig', 'redactConfig', 'taskMachineDefinition', 'TaskRunner', 'Registry', 'FileCheckpointStore', 'KafkaCheckpointStore', 'PostgresSource', 'KafkaSink', 'TributaryError', 'ConfigError']) out.kinds[name] = typeof t[name];
      const logger = createLogger({ level: 'silent' });
      const runtime = createRuntime({ logger });
      const task = runtime.add({
        name: 'probe',
        source: { type: 'postgres', host: '127.0.0.1', port: 1, user: 'u', password: 'not-shown', database: 'd' },
        destination: { kafka: { brokers: ['127.0.0.1:1'], topic: 't', format: 'canal-json' } },
        objects: [{ schema: 'public', table: 'orders' }],
        checkpoints: { store: 'file', dir: './checkpoints' },
      });
      const alerts = watchAlerts(task, { alertOnFailure: true, logger });
      runtime.setThrottle('probe', { incrementalRps: 5000 });
      const http = await serveHttp(runtime, { port: 0 });
      const res = await fetch('http://127.0.0.1:' + http.port + '/tasks/probe');
      out.http = { status: res.status, body: await res.text() };
      try { runtime.add({ name: 'bad' }); } catch (e) { out.invalid = { ctor: e.constructor.name, code: e.code, isTributary: e instanceof t.TributaryError }; }
      alerts.stop();
      await runtime.shutdown();
      await http.close();
      out.final = task.status.state;
      out.throttle = task.status.throttle;
      console.log(JSON.stringify(out));
    `;
    const r = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project, timeout: 30_000 });
    expectOk(r, 'node --input-type=module');
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { kinds: Record<string, string>; http: { status: number; body: string }; invalid: { ctor: string; code: string; isTributary: boolean }; final: string; throttle: unknown };
    for (const [name, kind] of Object.entries(out.kinds)) expect(kind, name).toBe('function');
    expect(out.http.status).toBe(200);
    expect(JSON.parse(out.http.body)).toMatchObject({ taskId: 'probe', state: 'idle' });
    expect(out.http.body).not.toContain('not-shown');
    expect(out.invalid).toEqual({ ctor: 'ConfigError', code: 'CONFIG_INVALID', isTributary: true });
    expect(out.final).toBe('stopped');
    expect(out.throttle).toEqual({ incrementalRps: 5000 });
  });

  it('its types come with it: the README example type-checks in the empty project, with the pg types of its public API', async () => {
    const deps = (JSON.parse(await readFile(join(installed(), 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
    // Every package the published declarations import is a dependency, so a consumer gets it.
    const imported = new Set<string>();
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith('.d.ts')) {
          // The module specifiers of imports, exports and import() types, comments (the TSDoc examples) aside.
          for (const { fileName: spec } of ts.preProcessFile(await readFile(p, 'utf8'), true, true).importedFiles) {
            if (spec.startsWith('.') || spec.startsWith('node:')) continue;
            imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec));
          }
        }
      }
    };
    await walk(join(installed(), 'dist'));
    expect(imported.has('pg')).toBe(true);
    // ...and TypeScript finds declarations for it from the package, in the consumer's node_modules.
    const options = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
    const importer = join(installed(), 'dist/src/index.d.ts');
    for (const name of imported) {
      expect(deps, `the declarations import '${name}'`).toHaveProperty([name]);
      const found = ts.resolveModuleName(name, importer, options, ts.sys, undefined, undefined, ts.ModuleKind.ESNext).resolvedModule;
      expect(found?.resolvedFileName ?? `no declarations found for '${name}'`).toMatch(/\.d\.[cm]?ts$/);
      const typesPackage = /node_modules\/(@types\/[^/]+)\//.exec(found?.resolvedFileName ?? '')?.[1];
      if (typesPackage) expect(deps, `'${name}' takes its types from ${typesPackage}`).toHaveProperty([typesPackage]);
    }

    // A consumer with the usual skipLibCheck: the README example compiles, and pg's own types are
    // really there (were @types/pg missing, they would be `any` and the expected error would not come).
    const consumer = `${await readmeLibraryExample()}
import type { PostgresSource } from 'tributary';
type PgConnection = ConstructorParameters<typeof PostgresSource>[0]['connection'];
// @ts-expect-error port is a number in pg's ClientConfig
export const wrong: PgConnection = { database: 'shop', port: 'not a number' };
`;
    await writeFile(join(project, 'consumer.ts'), consumer);
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, files: ['consumer.ts'] }),
    );
    const r = await run(process.execPath, [tsc, '-p', '.'], { cwd: project, timeout: 60_000 });
    expectOk(r, 'tsc in the empty project');
  });

  it('the tributary bin runs without tsx: --help, and validate on a good and a bad file', async () => {
    const bin = join(project, 'node_modules/.bin/tributary');
    const help = await run(bin, ['--help'], { cwd: project });
    expectOk(help, 'tributary --help');
    expect(help.stdout + help.stderr).toMatch(/usage: tributary/);
    expect(help.stdout + help.stderr).toContain('validate');

    await writeFile(
      join(project, 'task.yaml'),
      ['name: orders', 'source:', '  type: postgres', '  host: 127.0.0.1', '  port: 15432', '  user: repl', '  password: ${PGPASSWORD}', '  database: shop', 'destination:', '  kafka:', '    brokers: [127.0.0.1:19092]', '    topic: shop', '    format: canal-json', 'objects:', '  - { schema: public, table: orders }', ''].join('\n'),
    );
    await writeFile(join(project, 'bad.yaml'), 'name: orders\nsource: { type: postgres }\n');
    // Through npx, as a user would run it, and through the shebang line (node_modules/.bin).
    const good = await run('npx', ['--no-install', 'tributary', 'validate', 'task.yaml'], { cwd: project, env: { PGPASSWORD: 'a-secret-value' } });
    expectOk(good, 'tributary validate task.yaml');
    expect(good.stdout).toMatch(/valid/);
    expect(good.stdout + good.stderr).not.toContain('a-secret-value');
    const bad = await run(bin, ['validate', 'bad.yaml'], { cwd: project });
    expect(bad.code).toBe(2);
    expect(bad.stderr + bad.stdout).toContain('source.database');
  });

  describe('the README library example, run in the empty project against the test servers', () => {
    let db: { database: string; drop: () => Promise<void> } | undefined;
    const topic = uniqueName('pkg');

    beforeAll(async () => {
      db = await createTestDatabase('pkg');
      await createTopic(topic);
      await withPg(db.database, async (c) => {
        await c.query('CREATE TABLE public.orders (id int PRIMARY KEY, status text NOT NULL, total numeric(10,2))');
        await c.query("INSERT INTO public.orders SELECT g, CASE WHEN g % 10 = 0 THEN 'test' ELSE 'new' END, g * 1.5 FROM generate_series(1, 50) g");
      });
    }, 60_000);

    afterAll(async () => {
      await db?.drop();
      await deleteTopics(topic).catch(() => undefined);
    });

    it('copies, streams, serves the API and stops on SIGTERM with exit code 0', async () => {
      if (!db) throw new Error('no test database');
      const port = await freePort();
      const code = substitute(await readmeLibraryExample(), [
        ["host: 'db'", `host: '${servers.postgres.host}'`],
        ['port: 5432', `port: ${servers.postgres.port}`],
        ["user: 'repl'", `user: '${servers.postgres.user}'`],
        ["database: 'shop'", `database: '${db.database}'`],
        ["brokers: ['kafka:9092']", `brokers: ${JSON.stringify(servers.kafka.brokers)}`],
        ["topic: 'shop'", `topic: '${topic}'`],
        ['port: 8470', `port: ${port}`],
      ]);
      await writeFile(join(project, 'example.mjs'), code);

      const child = spawn(process.execPath, ['example.mjs'], { cwd: project, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | string>((res) => child.on('exit', (c, signal) => res(c ?? signal ?? -1)));
      try {
        const until = async (what: string, ok: () => boolean | Promise<boolean>, ms: number) => {
          const end = Date.now() + ms;
          while (!(await ok())) {
            if (Date.now() > end || child.exitCode !== null) throw new Error(`${what} not reached (exit ${child.exitCode}):\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
            await new Promise((r) => setTimeout(r, 200));
          }
        };
        await until('state incremental', () => /^incremental /m.test(stdout), 45_000);
        const base = `http://127.0.0.1:${port}`;
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
        // setThrottle runs once waitFor resolved; then the API shows it.
        await until('the throttle set', async () => {
          const r = await fetch(`${base}/tasks/orders`);
          const body = (await r.json()) as { state?: string; throttle?: { incrementalRps?: number } };
          return r.status === 200 && body.state === 'incremental' && body.throttle?.incrementalRps === 5000;
        }, 10_000);

        await withPg(db.database, (c) => c.query("INSERT INTO public.orders VALUES (51, 'new', 1), (60, 'test', 2)"));
        const want = Array.from({ length: 51 }, (_, i) => i + 1).filter((i) => i % 10 !== 0).map(String);
        const ids = new Set([...(await deliveredCanalIds(topic, want, 30_000))].map(String));
        expect(want.filter((id) => !ids.has(id))).toEqual([]);
        // The filter `status <> 'test'` held, in the copy and in the stream.
        expect([...ids].filter((id) => Number(id) % 10 === 0)).toEqual([]);

        child.kill('SIGTERM');
        const exitCode = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running 20 s after SIGTERM'), 20_000))]);
        expect(exitCode, stderr.slice(-3000)).toBe(0);
        // The task checkpointed where it stopped (file checkpoints, the default, relative to the working directory).
        expect(existsSync(join(project, '.tributary/checkpoints'))).toBe(true);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }, 120_000);
  });
});
