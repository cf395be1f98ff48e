import { loadTaskConfig } from '../config/load.js';
import { generateConfigDocs } from '../config/docs.js';
import { collectSecrets, redactConfig } from '../config/redact.js';
import type { TaskConfig } from '../config/schema.js';
import type { Logger } from '../core/contracts.js';
import { ConfigError, TributaryError } from '../core/errors.js';
import { FileCheckpointStore, KafkaCheckpointStore, type CheckpointStore } from '../checkpoints/index.js';
import { serveHttp } from '../http/server.js';
import { createLogger, type LogLevel } from '../observe/logger.js';
import { ObjectSelector } from '../operators/index.js';
import { createRuntime } from '../runtime/createRuntime.js';
import { defaultRegistry } from '../runtime/defaults.js';
import { planObjects } from '../runtime/objects.js';
import type { StateValue } from 'xstate';
import { inspectDocument, machineConfigJson } from '../http/statechart/machineConfig.js';
import { transitionPrinter } from '../http/statechart/transitions.js';
import { Option, InvalidArgumentError } from 'commander';
import { buildProgram, flag, has, parseCommandLine, type CommandSpec, type Invocation, type Parsed } from './args.js';
import { acquireTaskLock } from './lock.js';
import { TerminalProgress } from './progress.js';
import { progressLine, precheckTable, sampleRates, type RecentRate } from './render.js';
import { runDemo } from './demo.js';
import { logLevel, out, UsageError } from './output.js';
import { clusterOptions, runClusterWorker } from './cluster.js';

export const EXIT = { ok: 0, failed: 1, invalidConfig: 2, error: 3, usage: 64 } as const;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const satisfies readonly LogLevel[];
const DEFAULT_URL = 'http://127.0.0.1:8470';

/** A port number, 1-65535, kept as its text. */
function port(value: string): string {
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new InvalidArgumentError('It must be a port number (1-65535).');
  return value;
}

/** A throttle limit: a finite number, at least 0 (0 lifts the limit). */
function limit(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('It must be a finite non-negative number (0 lifts the limit).');
  return n;
}

const jsonOption = () => new Option('--json', 'machine-readable output');
const urlOption = () => new Option('--url <url>', `the management API of a running 'tributary run --http' (default $TRIBUTARY_URL, else ${DEFAULT_URL})`);
const logLevelOption = (dflt: LogLevel) => new Option('--log-level <level>', `log to stderr at this level and above (default ${dflt})`).choices(LOG_LEVELS);
const ignoreOption = () => new Option('--ignore <ids>', 'accept these precheck warnings (comma-separated item ids)');
const runOptions = () => [
  new Option('--http <port>', 'serve the management API and /metrics on this port').argParser(port),
  ignoreOption(),
  new Option('--no-progress', 'no bars on a terminal: a plain progress line every 10 s, as off a terminal'),
  jsonOption(),
  logLevelOption('warn'),
];
const TASK_FILE = ['<task.yaml>'];
const TASK_ID = ['<task>'];

interface Command extends CommandSpec {
  run(args: Invocation): Promise<number>;
}


function baseUrl(args: Invocation): string {
  return flag(args, 'url') ?? process.env.TRIBUTARY_URL ?? DEFAULT_URL;
}

/** The API token header, from $TRIBUTARY_HTTP_TOKEN. */
function authHeader(): Record<string, string> {
  const token = process.env.TRIBUTARY_HTTP_TOKEN;
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function api(args: Invocation, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    const headers = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...authHeader() };
    res = await fetch(`${baseUrl(args)}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    throw new TributaryError('API_UNREACHABLE', 'connection', `No Tributary instance answers at ${baseUrl(args)}: ${(err as Error).message}`, {
      fix: 'Start one with `tributary run task.yaml --http 8470`, or pass --url.',
    });
  }
  const data = (await res.json()) as unknown;
  if (!res.ok) throw new TributaryError('API_ERROR', 'fatal', `${method} ${path}: HTTP ${res.status}: ${JSON.stringify(data)}`);
  return data;
}

async function load(args: Invocation): Promise<TaskConfig> {
  const file = args.positionals[0];
  if (!file) throw new UsageError(`'${args.command}' needs a task file: tributary ${args.command} task.yaml`);
  return loadTaskConfig(file);
}


function storeFor(cfg: TaskConfig): CheckpointStore {
  if (cfg.checkpoints.store === 'kafka' && cfg.destination.kafka) return new KafkaCheckpointStore(cfg.destination.kafka.brokers, cfg.checkpoints.topic);
  return new FileCheckpointStore(cfg.checkpoints.store === 'file' ? cfg.checkpoints.dir : '.tributary/checkpoints');
}

async function cmdValidate(args: Invocation): Promise<number> {
  const cfg = await load(args);
  if (has(args, 'print')) out(args, JSON.stringify(redactConfig(cfg), null, 2), redactConfig(cfg));
  else out(args, `${args.positionals[0]}: valid (task ${cfg.name})`, { valid: true, task: cfg.name });
  return EXIT.ok;
}

async function cmdPrecheck(args: Invocation): Promise<number> {
  const cfg = await load(args);
  const runtime = createRuntime({ logger: createLogger({ level: logLevel(args, 'silent'), secrets: collectSecrets(cfg) }) });
  const task = runtime.add(cfg);
  const items = await task.precheck();
  const ignored = new Set((flag(args, 'ignore') ?? '').split(',').filter(Boolean));
  const mayStart = items.every((i) => i.status === 'pass' || (i.status === 'warn' && ignored.has(i.id)));
  out(args, `${precheckTable(items)}\n\n${mayStart ? 'The task may start.' : 'The task may not start: fix the FAIL items (or ignore WARN items with --ignore <id>).'}`, { mayStart, items });
  await runtime.shutdown();
  return mayStart ? EXIT.ok : EXIT.failed;
}

const CLUSTER_ONLY = ['brokers', 'workerId', 'sessionTimeout', 'weight', 'advertise', 'httpHost'];

async function cmdRun(args: Invocation): Promise<number> {
  const group = flag(args, 'cluster');
  if (group !== undefined) return runClusterWorker(args, group);
  const stray = CLUSTER_ONLY.filter((k) => args.options[k] !== undefined);
  if (stray.length > 0) throw new UsageError(`${stray.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}: only with --cluster`);
  const cfg = await load(args);
  const httpPort = flag(args, 'http');
  // One process per task: a second `run` (or `offsets --set`) of this task is refused while we live.
  const lock = await acquireTaskLock(cfg, 'tributary run');
  try {
    return await runTask(args, cfg, httpPort, (url) => lock.setUrl(url));
  } finally {
    await lock.release();
  }
}

async function runTask(args: Invocation, cfg: TaskConfig, httpPort: string | undefined, announce: (url: string) => Promise<void>): Promise<number> {
  const logger = createLogger({ level: logLevel(args, 'warn'), secrets: collectSecrets(cfg) });
  const live = has(args, 'live');
  const runtime = createRuntime({
    logger,
    // inspect --live: one line per transition of the task machine and of the machines it invoked (full sync).
    ...(live ? { inspect: transitionPrinter((line) => process.stdout.write(`${line}\n`), { children: true }) } : {}),
  });
  const task = runtime.add(cfg);
  // Alerts (monitoring.*) are watched by the runtime for every task, with this logger.
  // The API token comes from the environment; tasks added over HTTP may keep files only inside this task's checkpoints.dir.
  const httpOpts = { port: Number(httpPort), token: process.env.TRIBUTARY_HTTP_TOKEN, dataDir: cfg.checkpoints.store === 'file' ? cfg.checkpoints.dir : undefined };
  const http = httpPort !== undefined ? await serveHttp(runtime, httpOpts) : null;
  if (http) {
    logger.info('management API listening', { url: `http://127.0.0.1:${http.port}` });
    await announce(`http://127.0.0.1:${http.port}`);
  }
  for (const id of (flag(args, 'ignore') ?? '').split(',').filter(Boolean)) task.ignoreAlert(id);

  // On a terminal: bars (cli-progress); elsewhere, or with --no-progress, a line every 10 s.
  const json = has(args, 'json');
  const bars = process.stderr.isTTY === true && !json && args.options.progress !== false ? new TerminalProgress(process.stderr) : null;
  const rates = new Map<string, RecentRate>();
  const startedAt = Date.now();
  let phaseStart = { at: startedAt, events: 0, state: '' };
  let lastPrinted = 0;
  const sub = task.status$.subscribe((s) => {
    if (s.state !== phaseStart.state) {
      // Off a terminal, a full sync that ends leaves its last figures (100 % once complete) in the log.
      if (!bars && !json && phaseStart.state === 'full') process.stderr.write(`${progressLine({ ...s, state: 'full' }, phaseStart.at, 0, rates, true)}\n`);
      if (s.state === 'full') rates.clear();
      phaseStart = { at: Date.now(), events: s.counters.events, state: s.state };
      const line = `[${new Date().toISOString()}] ${s.state}${s.lastError ? `: ${s.lastError.message}` : ''}`;
      if (json) out(args, '', { event: 'state', state: s.state, lastError: s.lastError });
      else if (bars) bars.phaseChanged(s, line);
      else process.stderr.write(`${line}\n`);
      if (s.state === 'precheckFailed' && s.precheck) process.stderr.write(`${precheckTable(s.precheck)}\n`);
      if (s.state === 'awaitingAlertIgnore' && s.precheck) {
        const warnings = s.precheck.filter((i) => i.status === 'warn').map((i) => i.id);
        process.stderr.write(`${precheckTable(s.precheck)}\nThe task waits until these warnings are ignored: run again with --ignore ${warnings.join(',')}, or POST /tasks/${cfg.name}/ignore-alert {"itemId": "<id>"} for each.\n`);
      }
    }
  });
  const ticker = setInterval(() => {
    const s = task.status;
    if (s.state === 'full') sampleRates(rates, s);
    if (bars) bars.update(s, phaseStart.at, phaseStart.events);
    else if (Date.now() - lastPrinted > 10_000) {
      lastPrinted = Date.now();
      if (json) out(args, '', { event: 'progress', ...s });
      else process.stderr.write(`${progressLine(s, phaseStart.at, phaseStart.events, rates, true)}\n`);
    }
  }, 500);
  task.start();
  const outcome = await new Promise<number>((resolve) => {
    const stop = () => resolve(-1);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    task.status$.subscribe((s) => {
      if (s.state === 'completed') resolve(EXIT.ok);
      if (s.state === 'precheckFailed') resolve(EXIT.failed);
      // A fatal failure is never restarted by itself: nothing to wait for.
      if (s.state === 'failed' && (cfg.retry.autoRestartWithinDays === 0 || s.lastError?.kind === 'fatal')) resolve(EXIT.failed);
    });
  });
  // Stopped by a signal: the exit code still says whether the task had failed.
  const failedAtStop = outcome === -1 && (task.status.state === 'failed' || task.status.state === 'precheckFailed');
  clearInterval(ticker);
  sub.unsubscribe();
  bars?.finish(task.status);
  await runtime.shutdown();
  await http?.close();
  return outcome === -1 ? (failedAtStop ? EXIT.failed : EXIT.ok) : outcome;
}

async function cmdStatus(args: Invocation): Promise<number> {
  const tasks = (await api(args, 'GET', '/tasks')) as Array<{ taskId: string; state: string; latencyMs: number | null; counters: { events: number } }>;
  out(args, tasks.map((t) => `${t.taskId}\t${t.state}\tlatency ${t.latencyMs ?? '-'} ms\t${t.counters.events} events`).join('\n') || '(no tasks)', tasks);
  return EXIT.ok;
}

async function cmdControl(args: Invocation, action: string): Promise<number> {
  const id = args.positionals[0] as string;
  const s = await api(args, 'POST', `/tasks/${encodeURIComponent(id)}/${action}`);
  out(args, `${id}: ${(s as { state: string }).state}`, s);
  return EXIT.ok;
}

const THROTTLES = ['fullQps', 'fullRps', 'fullMBps', 'incrementalRps', 'incrementalMBps'] as const;

async function cmdThrottle(args: Invocation): Promise<number> {
  const id = args.positionals[0] as string;
  const body: Record<string, number> = {};
  // Each value was checked while parsing: a finite number, at least 0.
  for (const k of THROTTLES) {
    const v = args.options[k];
    if (typeof v === 'number') body[k] = v;
  }
  if (Object.keys(body).length === 0) throw new UsageError(`throttle needs at least one limit: ${THROTTLES.map((k) => `--${k}`).join(', ')}`);
  const t = await api(args, 'PUT', `/tasks/${encodeURIComponent(id)}/throttle`, body);
  out(args, `${id}: throttle ${JSON.stringify(t)}`, t);
  return EXIT.ok;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The position as the task's own source reads it (and writes it back), or a usage error naming its format. */
function checkedPosition(cfg: TaskConfig, text: string): string {
  const registry = defaultRegistry();
  const plan = planObjects(cfg);
  const source = registry.source(cfg.source.type)({ config: cfg, plan, selector: new ObjectSelector(plan.selection), logger: silent, registry });
  try {
    return source.decodePosition(text).encode();
  } catch (err) {
    throw new UsageError(`--set: ${(err as Error).message}`);
  }
}

/**
 * A task added to a running instance through its API holds no lock file; ask the instance at --url
 * ($TRIBUTARY_URL, default) whether it has the task. Nothing answering means no.
 */
async function refuseIfServed(args: Invocation, taskId: string): Promise<void> {
  const url = baseUrl(args);
  let res: Response;
  try {
    res = await fetch(`${url}/tasks/${encodeURIComponent(taskId)}`, { signal: AbortSignal.timeout(5000), headers: authHeader() });
  } catch (err) {
    if ((err as Error).name !== 'TimeoutError') return;
    throw new TributaryError('TASK_MAYBE_RUNNING', 'other', `The instance at ${url} did not answer within 5 s: cannot tell whether it runs task ${taskId}.`, {
      object: taskId,
      fix: 'Try again, or pass --url naming the instance that would run the task.',
    });
  }
  if (res.status === 401 || res.status === 403) {
    throw new TributaryError('TASK_MAYBE_RUNNING', 'other', `The instance at ${url} refused the request (HTTP ${res.status}): cannot tell whether it runs task ${taskId}.`, {
      object: taskId,
      fix: 'Set $TRIBUTARY_HTTP_TOKEN to that instance\'s API token, or stop it first.',
    });
  }
  if (!res.ok) return;
  const body = (await res.json().catch(() => null)) as { taskId?: unknown; state?: unknown } | null;
  if (body?.taskId !== taskId) return;
  throw new TributaryError('TASK_RUNNING', 'other', `Task ${taskId} is loaded in the Tributary instance at ${url} (state ${String(body.state)}); it would overwrite the checkpoint.`, {
    object: taskId,
    fix: `Stop that instance, or remove the task from it (DELETE ${url}/tasks/${encodeURIComponent(taskId)}), then change the offsets.`,
  });
}

async function cmdOffsets(args: Invocation): Promise<number> {
  const cfg = await load(args);
  const set = flag(args, 'set');
  const reset = has(args, 'reset');
  const position = set !== undefined ? checkedPosition(cfg, set) : undefined;
  const changing = set !== undefined || reset;
  // Changing: hold the task's lock while writing (refused if `tributary run` holds it), and make sure
  // no running instance has the task loaded.
  const lock = changing ? await acquireTaskLock(cfg, 'tributary offsets') : null;
  try {
    if (changing) await refuseIfServed(args, cfg.name);
    const store = storeFor(cfg);
    try {
      const cp = (await store.load(cfg.name)) ?? { taskId: cfg.name, chunksDone: {}, updatedAt: 0 };
      if (changing) {
        if (position !== undefined) cp.position = position;
        else {
          delete cp.position;
          delete cp.streamFrom;
        }
        cp.updatedAt = Date.now();
        await store.save(cp);
      }
      out(args, `task ${cfg.name}: position ${cp.position ?? '-'}, stream start ${cp.streamFrom ?? '-'}, ${Object.keys(cp.chunksDone).length} full-sync chunks done${cp.fullDone ? ' (full sync done)' : ''}`, cp);
    } finally {
      await store.close?.();
    }
  } finally {
    await lock?.release();
  }
  return EXIT.ok;
}

/** MongoDB destinations: per collection, counts and content hashes of source and destination. */
async function cmdVerify(args: Invocation): Promise<number> {
  const cfg = await load(args);
  if (cfg.source.type !== 'mongodb' || !cfg.destination.mongodb) {
    throw new UsageError('verify compares a MongoDB source with a MongoDB destination; this task writes elsewhere.');
  }
  const { MongoClient } = await import('mongodb');
  const { verifyCollections, verifyPairsFor, formatVerificationReport } = await import('../sinks/mongodb/verify.js');
  const { mongoUri } = await import('../runtime/defaults.js');
  const src = await MongoClient.connect(mongoUri(cfg.source));
  const dst = await MongoClient.connect(mongoUri(cfg.destination.mongodb));
  try {
    // Whole-database objects cover every collection the source holds in them now.
    const pairs = await verifyPairsFor(src, cfg.objects, cfg.exclude);
    if (pairs.length === 0) throw new UsageError('verify found no collection the task covers at the source.');
    const report = await verifyCollections(src, dst, pairs);
    out(args, formatVerificationReport(report), report);
    return report.equal ? EXIT.ok : EXIT.failed;
  } finally {
    await src.close();
    await dst.close();
  }
}

/**
 * No task file: the task machine as a config XState loads (`createMachine(JSON.parse(output))`).
 * A task file: that task's machine and current state in the instance at --url
 * (`createMachine(doc.machine).resolveState(doc.state)`). --live: run the task, printing transitions.
 */
async function cmdInspect(args: Invocation): Promise<number> {
  if (has(args, 'live')) return cmdRun(args);
  if (args.positionals[0] === undefined) {
    process.stdout.write(`${JSON.stringify(machineConfigJson(), null, 2)}\n`);
    return EXIT.ok;
  }
  const cfg = await load(args);
  const chart = (await api(args, 'GET', `/tasks/${encodeURIComponent(cfg.name)}/chart`)) as { state: { value: StateValue; context: unknown; text: string } };
  process.stdout.write(`${JSON.stringify(inspectDocument(chart.state), null, 2)}\n`);
  return EXIT.ok;
}

function control(name: string, summary: string): Command {
  return { name, arguments: TASK_ID, summary, options: () => [urlOption(), jsonOption()], run: (args) => cmdControl(args, name) };
}

const COMMANDS: readonly Command[] = [
  {
    name: 'run',
    arguments: ['[task.yaml]'],
    summary: 'run a task: precheck, full sync with progress, then incremental',
    details: `Runs until the task completes or fails (exit 1), or until SIGINT/SIGTERM (exit 0, or 1 when the task
had failed). While it runs it holds the task's lock (<checkpoints.dir>/<task>.lock), so a second 'run' or
an 'offsets --set' of the task is refused. On a terminal, full sync draws a bar per table and one for the
total (rows acknowledged, rate and ETA over the last 20 s); elsewhere it prints a line every 10 s.

With --cluster GROUP it runs as a worker of the cluster GROUP instead (README "Running a cluster"):
it joins the Kafka group GROUP, puts the task file (if given) into the cluster, and runs whatever
tasks the group assigns it, each with its position in Kafka, until SIGINT/SIGTERM (exit 0). The
cluster's Kafka is the task's destination (brokers, SASL, TLS), or --brokers. Its --http API
answers for the whole cluster: GET /cluster, writes forwarded to the leader.`,
    options: () => [...runOptions(), ...clusterOptions()],
    run: cmdRun,
  },
  { name: 'precheck', arguments: TASK_FILE, summary: 'run the prechecks and print a table; exit 0 only if the task may start', options: () => [ignoreOption(), jsonOption(), logLevelOption('silent')], run: cmdPrecheck },
  {
    name: 'validate',
    arguments: TASK_FILE,
    summary: 'check a config file',
    options: () => [new Option('--print', 'show the config resolved: defaults filled, secrets masked'), jsonOption()],
    run: cmdValidate,
  },
  { name: 'status', arguments: [], summary: "show the tasks of a running 'tributary run --http'", options: () => [urlOption(), jsonOption()], run: cmdStatus },
  control('start', 'start a stopped task of a running instance'),
  control('pause', 'pause a task of a running instance'),
  control('resume', 'resume a paused task of a running instance'),
  control('stop', 'stop a task of a running instance (confirming and checkpointing what was acknowledged)'),
  {
    name: 'throttle',
    arguments: TASK_ID,
    summary: 'change the limits of a task of a running instance',
    details: 'A limit left out keeps its value; 0 lifts it.',
    options: () => [
      new Option('--incrementalRps <n>', 'incremental sync: records per second').argParser(limit),
      new Option('--incrementalMBps <n>', 'incremental sync: megabytes per second').argParser(limit),
      new Option('--fullRps <n>', 'full sync: rows per second').argParser(limit),
      new Option('--fullMBps <n>', 'full sync: megabytes per second').argParser(limit),
      new Option('--fullQps <n>', 'full sync: queries per second').argParser(limit),
      urlOption(),
      jsonOption(),
    ],
    run: cmdThrottle,
  },
  {
    name: 'offsets',
    arguments: TASK_FILE,
    summary: "show the task's checkpoint, or change it while no process runs the task",
    details: `--set and --reset are refused while the task runs: while a 'tributary run' of it holds its lock
(<checkpoints.dir>/<task>.lock; a lock whose process is gone is ignored), or while the instance at --url
has the task loaded. A position is checked by the task's source: PostgreSQL takes an LSN such as 0/16B3748
(or the commitLsn#seq@safeLsn form shown here); MongoDB an oplog time t:i such as 1700000000:1, or a
resume token {"_data": "...", "ts": "t:i"}.`,
    options: () => [
      new Option('--set <position>', 'resume incremental sync from this source position').conflicts('reset'),
      new Option('--reset', 'forget the position: the next run starts from a new stream start'),
      urlOption(),
      jsonOption(),
    ],
    run: cmdOffsets,
  },
  {
    name: 'inspect',
    arguments: ['[task.yaml]'],
    summary: 'print the task state chart as a machine config XState loads; --live prints transitions',
    details: `Without a task file: the task machine, createMachine(JSON.parse(output)) loads it.
With a task file: that task's machine and current state in the instance at --url, as
{ machine, state, text }: createMachine(doc.machine).resolveState(doc.state) restores it.
With --live and a task file: runs the task as 'run' does and prints every transition of the task
machine and of full sync, one per line: <time> <from> -> <to> (<event>).`,
    options: () => [new Option('--live', 'run the task and print every transition'), urlOption(), ...runOptions()],
    run: cmdInspect,
  },
  { name: 'verify', arguments: TASK_FILE, summary: 'MongoDB → MongoDB: compare counts and content hashes per collection; exit 1 on differences', options: () => [jsonOption()], run: cmdVerify },
  {
    name: 'docs',
    arguments: [],
    summary: 'print the configuration reference (markdown)',
    options: () => [],
    run: () => {
      process.stdout.write(generateConfigDocs());
      return Promise.resolve(EXIT.ok);
    },
  },
  {
    name: 'demo',
    arguments: [],
    summary: 'PostgreSQL → Kafka demo on the local test servers',
    details: 'Drops and recreates the database tributary_demo and the topic tributary-demo, runs a task, checks every change arrived.',
    options: () => [
      new Option('--pg-port <port>', 'PostgreSQL on 127.0.0.1 (default $TRIBUTARY_PG_PORT, else 15432)').argParser(port),
      new Option('--kafka <broker>', 'Kafka broker (default $TRIBUTARY_KAFKA_BROKERS, else 127.0.0.1:19092)'),
    ],
    run: runDemo,
  },
];

const byName = new Map(COMMANDS.map((c) => [c.name, c]));

const HELP_TEXT = {
  intro: 'tributary: change-data-capture from PostgreSQL and MongoDB to Kafka and MongoDB',
  outro: 'exit codes: 0 ok, 1 task failed or precheck did not pass, 2 invalid config, 3 other error, 64 usage',
};

/** Reads the command line of `tributary` (the words after it): help and usage errors are written here. */
export function parseTributaryArgs(argv: readonly string[], stdout: (s: string) => void, stderr: (s: string) => void): Parsed {
  return parseCommandLine(buildProgram(COMMANDS, HELP_TEXT), argv, stdout, stderr);
}

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseTributaryArgs(
    argv,
    (text) => process.stdout.write(text),
    (text) => process.stderr.write(text),
  );
  if ('exit' in parsed) return parsed.exit;
  const args = parsed.invocation;
  const command = byName.get(args.command) as Command;
  try {
    return await command.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      if (has(args, 'json')) out(args, '', { valid: false, issues: err.issues });
      else process.stderr.write(`${err.message}\n`);
      return EXIT.invalidConfig;
    }
    const e = err instanceof TributaryError ? err : null;
    if (has(args, 'json')) out(args, '', { error: e ? e.toJSON() : { message: (err as Error).message } });
    else process.stderr.write(`error: ${e ? e.describe() : (err as Error).message}\n`);
    return EXIT.error;
  }
}
