import '../kafka/patches.js';
import { loadTaskConfig } from '../config/load.js';
import { generateConfigDocs } from '../config/docs.js';
import { collectSecrets, redactConfig } from '../config/redact.js';
import type { TaskConfig } from '../config/schema.js';
import type { Logger } from '../core/contracts.js';
import { ConfigError, TributaryError } from '../core/errors.js';
import { FileCheckpointStore, KafkaCheckpointStore, type CheckpointStore } from '../checkpoints/index.js';
import { serveHttp } from '../http/server.js';
import { watchAlerts } from '../observe/alerts.js';
import { createLogger, type LogLevel } from '../observe/logger.js';
import { ObjectSelector } from '../operators/index.js';
import { createRuntime } from '../runtime/createRuntime.js';
import { defaultRegistry } from '../runtime/defaults.js';
import { planObjects } from '../runtime/objects.js';
import { taskMachineDefinition } from '../../machines/index.js';
import { commandHelp, flag, parseArgs, synopsis, type Args, type CommandSpec, type FlagSpec } from './args.js';
import { acquireTaskLock } from './lock.js';
import { progressLine, precheckTable } from './render.js';
import { runDemo } from './demo.js';

export const EXIT = { ok: 0, failed: 1, invalidConfig: 2, error: 3, usage: 64 } as const;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const satisfies readonly LogLevel[];
const DEFAULT_URL = 'http://127.0.0.1:8470';

const JSON_FLAG: FlagSpec = { name: 'json', help: 'machine-readable output' };
const URL_FLAG: FlagSpec = { name: 'url', value: 'url', help: `the management API of a running 'tributary run --http' (default $TRIBUTARY_URL, else ${DEFAULT_URL})` };
const logLevelFlag = (dflt: LogLevel): FlagSpec => ({ name: 'log-level', value: 'level', choices: LOG_LEVELS, help: `log to stderr at this level and above (default ${dflt})` });
const IGNORE_FLAG: FlagSpec = { name: 'ignore', value: 'ids', help: 'accept these precheck warnings (comma-separated item ids)' };
const RUN_FLAGS: readonly FlagSpec[] = [
  { name: 'http', value: 'port', help: 'serve the management API and /metrics on this port' },
  IGNORE_FLAG,
  { name: 'no-progress', help: 'no progress line, even on a terminal' },
  JSON_FLAG,
  logLevelFlag('warn'),
];
const TASK_FILE = [{ name: 'task.yaml' }];
const TASK_ID = [{ name: 'task' }];

interface Command extends CommandSpec {
  run(args: Args): Promise<number>;
}

class UsageError extends Error {}

function out(args: Args, human: string, json: unknown): void {
  if (args.flags.has('json')) process.stdout.write(`${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  else process.stdout.write(`${human}\n`);
}

function baseUrl(args: Args): string {
  return flag(args, 'url') ?? process.env.TRIBUTARY_URL ?? DEFAULT_URL;
}

/** The API token header, from $TRIBUTARY_HTTP_TOKEN. */
function authHeader(): Record<string, string> {
  const token = process.env.TRIBUTARY_HTTP_TOKEN;
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function api(args: Args, method: string, path: string, body?: unknown): Promise<unknown> {
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

async function load(args: Args): Promise<TaskConfig> {
  const file = args.positionals[0];
  if (!file) throw new UsageError(`'${args.command}' needs a task file: tributary ${args.command} task.yaml`);
  return loadTaskConfig(file);
}

function logLevel(args: Args, dflt: LogLevel): LogLevel {
  return (flag(args, 'log-level') as LogLevel | undefined) ?? dflt;
}

function storeFor(cfg: TaskConfig): CheckpointStore {
  if (cfg.checkpoints.store === 'kafka' && cfg.destination.kafka) return new KafkaCheckpointStore(cfg.destination.kafka.brokers, cfg.checkpoints.topic);
  return new FileCheckpointStore(cfg.checkpoints.store === 'file' ? cfg.checkpoints.dir : '.tributary/checkpoints');
}

async function cmdValidate(args: Args): Promise<number> {
  const cfg = await load(args);
  if (args.flags.has('print')) out(args, JSON.stringify(redactConfig(cfg), null, 2), redactConfig(cfg));
  else out(args, `${args.positionals[0]}: valid (task ${cfg.name})`, { valid: true, task: cfg.name });
  return EXIT.ok;
}

async function cmdPrecheck(args: Args): Promise<number> {
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

async function cmdRun(args: Args): Promise<number> {
  const cfg = await load(args);
  const httpPort = flag(args, 'http');
  if (httpPort !== undefined && !/^\d{1,5}$/.test(httpPort)) throw new UsageError(`--http must be a port number, got '${httpPort}'`);
  // One process per task: a second `run` (or `offsets --set`) of this task is refused while we live.
  const lock = await acquireTaskLock(cfg, 'tributary run');
  try {
    return await runTask(args, cfg, httpPort, (url) => lock.setUrl(url));
  } finally {
    await lock.release();
  }
}

async function runTask(args: Args, cfg: TaskConfig, httpPort: string | undefined, announce: (url: string) => Promise<void>): Promise<number> {
  const logger = createLogger({ level: logLevel(args, 'warn'), secrets: collectSecrets(cfg) });
  const live = args.flags.has('live');
  const runtime = createRuntime({
    logger,
    ...(live ? { inspect: (e) => e.type === '@xstate.event' && process.stdout.write(`${JSON.stringify({ transition: (e as { event: { type: string } }).event.type })}\n`) } : {}),
  });
  const task = runtime.add(cfg);
  const alerts = watchAlerts(task, { ...cfg.monitoring, logger });
  // The API token comes from the environment; tasks added over HTTP may keep files only inside this task's checkpoints.dir.
  const httpOpts = { port: Number(httpPort), token: process.env.TRIBUTARY_HTTP_TOKEN, dataDir: cfg.checkpoints.store === 'file' ? cfg.checkpoints.dir : undefined };
  const http = httpPort !== undefined ? await serveHttp(runtime, httpOpts) : null;
  if (http) {
    logger.info('management API listening', { url: `http://127.0.0.1:${http.port}` });
    await announce(`http://127.0.0.1:${http.port}`);
  }
  for (const id of (flag(args, 'ignore') ?? '').split(',').filter(Boolean)) task.ignoreAlert(id);

  const tty = process.stderr.isTTY && !args.flags.has('json') && !args.flags.has('no-progress');
  const startedAt = Date.now();
  let phaseStart = { at: startedAt, events: 0, state: '' };
  let lastPrinted = 0;
  const sub = task.status$.subscribe((s) => {
    if (s.state !== phaseStart.state) {
      phaseStart = { at: Date.now(), events: s.counters.events, state: s.state };
      if (args.flags.has('json')) out(args, '', { event: 'state', state: s.state, lastError: s.lastError });
      else process.stderr.write(`${tty ? '\n' : ''}[${new Date().toISOString()}] ${s.state}${s.lastError ? `: ${s.lastError.message}` : ''}\n`);
      if (s.state === 'precheckFailed' && s.precheck) process.stderr.write(`${precheckTable(s.precheck)}\n`);
      if (s.state === 'awaitingAlertIgnore' && s.precheck) {
        const warnings = s.precheck.filter((i) => i.status === 'warn').map((i) => i.id);
        process.stderr.write(`${precheckTable(s.precheck)}\nThe task waits until these warnings are ignored: run again with --ignore ${warnings.join(',')}, or POST /tasks/${cfg.name}/ignore-alert {"itemId": "<id>"} for each.\n`);
      }
    }
  });
  const ticker = setInterval(() => {
    const s = task.status;
    if (tty) process.stderr.write(`\r${progressLine(s, phaseStart.at, phaseStart.events).padEnd(100)}`);
    else if (Date.now() - lastPrinted > 10_000) {
      lastPrinted = Date.now();
      if (args.flags.has('json')) out(args, '', { event: 'progress', ...s });
      else process.stderr.write(`${progressLine(s, phaseStart.at, phaseStart.events)}\n`);
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
  alerts.stop();
  await runtime.shutdown();
  await http?.close();
  if (tty) process.stderr.write('\n');
  return outcome === -1 ? (failedAtStop ? EXIT.failed : EXIT.ok) : outcome;
}

async function cmdStatus(args: Args): Promise<number> {
  const tasks = (await api(args, 'GET', '/tasks')) as Array<{ taskId: string; state: string; latencyMs: number | null; counters: { events: number } }>;
  out(args, tasks.map((t) => `${t.taskId}\t${t.state}\tlatency ${t.latencyMs ?? '-'} ms\t${t.counters.events} events`).join('\n') || '(no tasks)', tasks);
  return EXIT.ok;
}

async function cmdControl(args: Args, action: string): Promise<number> {
  const id = args.positionals[0] as string;
  const s = await api(args, 'POST', `/tasks/${encodeURIComponent(id)}/${action}`);
  out(args, `${id}: ${(s as { state: string }).state}`, s);
  return EXIT.ok;
}

const THROTTLES = ['fullQps', 'fullRps', 'fullMBps', 'incrementalRps', 'incrementalMBps'] as const;

async function cmdThrottle(args: Args): Promise<number> {
  const id = args.positionals[0] as string;
  const body: Record<string, number> = {};
  for (const k of THROTTLES) {
    const v = flag(args, k);
    if (v !== undefined) {
      const n = Number(v);
      if (!(n >= 0) || !Number.isFinite(n)) throw new UsageError(`--${k} must be a finite non-negative number (0 lifts the limit), got '${v}'`);
      body[k] = n;
    }
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
async function refuseIfServed(args: Args, taskId: string): Promise<void> {
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

async function cmdOffsets(args: Args): Promise<number> {
  const cfg = await load(args);
  const set = flag(args, 'set');
  const reset = args.flags.has('reset');
  if (set !== undefined && reset) throw new UsageError('offsets: --set and --reset exclude each other');
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
async function cmdVerify(args: Args): Promise<number> {
  const cfg = await load(args);
  if (cfg.source.type !== 'mongodb' || !cfg.destination.mongodb) {
    throw new UsageError('verify compares a MongoDB source with a MongoDB destination; this task writes elsewhere.');
  }
  const { MongoClient } = await import('mongodb');
  const { verifyCollections, formatVerificationReport } = await import('../sinks/mongodb/verify.js');
  const { mongoUri } = await import('../runtime/defaults.js');
  const pairs = cfg.objects.flatMap((o) =>
    o.database && o.collection
      ? [{ source: { database: o.database, collection: o.collection }, destination: { database: o.rename?.database ?? o.database, collection: o.rename?.collection ?? o.collection } }]
      : [],
  );
  if (pairs.length === 0) throw new UsageError('verify needs objects that name a database and a collection.');
  const src = await MongoClient.connect(mongoUri(cfg.source));
  const dst = await MongoClient.connect(mongoUri(cfg.destination.mongodb));
  try {
    const report = await verifyCollections(src, dst, pairs);
    out(args, formatVerificationReport(report), report);
    return report.equal ? EXIT.ok : EXIT.failed;
  } finally {
    await src.close();
    await dst.close();
  }
}

async function cmdInspect(args: Args): Promise<number> {
  if (args.flags.has('live')) return cmdRun(args);
  process.stdout.write(`${JSON.stringify(taskMachineDefinition(), null, 2)}\n`);
  return EXIT.ok;
}

function control(name: string, summary: string): Command {
  return { name, positionals: TASK_ID, summary, flags: [URL_FLAG, JSON_FLAG], run: (args) => cmdControl(args, name) };
}

const COMMANDS: readonly Command[] = [
  {
    name: 'run',
    positionals: TASK_FILE,
    summary: 'run a task: precheck, full sync with progress, then incremental',
    details: `Runs until the task completes or fails (exit 1), or until SIGINT/SIGTERM (exit 0). While it runs it holds
the task's lock (<checkpoints.dir>/<task>.lock), so a second 'run' or an 'offsets --set' of the task is refused.`,
    flags: RUN_FLAGS,
    run: cmdRun,
  },
  { name: 'precheck', positionals: TASK_FILE, summary: 'run the prechecks and print a table; exit 0 only if the task may start', flags: [IGNORE_FLAG, JSON_FLAG, logLevelFlag('silent')], run: cmdPrecheck },
  {
    name: 'validate',
    positionals: TASK_FILE,
    summary: 'check a config file',
    flags: [{ name: 'print', help: 'show the config resolved: defaults filled, secrets masked' }, JSON_FLAG],
    run: cmdValidate,
  },
  { name: 'status', positionals: [], summary: "show the tasks of a running 'tributary run --http'", flags: [URL_FLAG, JSON_FLAG], run: cmdStatus },
  control('start', 'start a stopped task of a running instance'),
  control('pause', 'pause a task of a running instance'),
  control('resume', 'resume a paused task of a running instance'),
  control('stop', 'stop a task of a running instance (confirming and checkpointing what was acknowledged)'),
  {
    name: 'throttle',
    positionals: TASK_ID,
    summary: 'change the limits of a task of a running instance',
    details: 'A limit left out keeps its value; 0 lifts it.',
    flags: [
      { name: 'incrementalRps', value: 'n', help: 'incremental sync: records per second' },
      { name: 'incrementalMBps', value: 'n', help: 'incremental sync: megabytes per second' },
      { name: 'fullRps', value: 'n', help: 'full sync: rows per second' },
      { name: 'fullMBps', value: 'n', help: 'full sync: megabytes per second' },
      { name: 'fullQps', value: 'n', help: 'full sync: queries per second' },
      URL_FLAG,
      JSON_FLAG,
    ],
    run: cmdThrottle,
  },
  {
    name: 'offsets',
    positionals: TASK_FILE,
    summary: "show the task's checkpoint, or change it while no process runs the task",
    details: `--set and --reset are refused while the task runs: while a 'tributary run' of it holds its lock
(<checkpoints.dir>/<task>.lock; a lock whose process is gone is ignored), or while the instance at --url
has the task loaded. A position is checked by the task's source: PostgreSQL takes an LSN such as 0/16B3748
(or the commitLsn#seq@safeLsn form shown here); MongoDB an oplog time t:i such as 1700000000:1, or a
resume token {"_data": "...", "ts": "t:i"}.`,
    flags: [
      { name: 'set', value: 'position', help: 'resume incremental sync from this source position' },
      { name: 'reset', help: 'forget the position: the next run starts from a new stream start' },
      URL_FLAG,
      JSON_FLAG,
    ],
    run: cmdOffsets,
  },
  {
    name: 'inspect',
    positionals: [{ name: 'task.yaml', optional: true }],
    summary: 'print the task state chart (JSON, for the Stately visualizer)',
    details: 'With --live and a task file, runs the task as `run` does and prints every transition.',
    flags: [{ name: 'live', help: 'run the task and print every transition' }, ...RUN_FLAGS],
    run: cmdInspect,
  },
  { name: 'verify', positionals: TASK_FILE, summary: 'MongoDB → MongoDB: compare counts and content hashes per collection; exit 1 on differences', flags: [JSON_FLAG], run: cmdVerify },
  {
    name: 'docs',
    positionals: [],
    summary: 'print the configuration reference (markdown)',
    flags: [],
    run: () => {
      process.stdout.write(generateConfigDocs());
      return Promise.resolve(EXIT.ok);
    },
  },
  {
    name: 'demo',
    positionals: [],
    summary: 'PostgreSQL → Kafka demo on the local test servers',
    details: 'Drops and recreates the database tributary_demo and the topic tributary-demo, runs a task, checks every change arrived.',
    flags: [
      { name: 'pg-port', value: 'port', help: 'PostgreSQL on 127.0.0.1 (default $TRIBUTARY_PG_PORT, else 15432)' },
      { name: 'kafka', value: 'broker', help: 'Kafka broker (default $TRIBUTARY_KAFKA_BROKERS, else 127.0.0.1:19092)' },
    ],
    run: runDemo,
  },
];

const byName = new Map(COMMANDS.map((c) => [c.name, c]));

const USAGE = [
  'tributary: change-data-capture from PostgreSQL and MongoDB to Kafka and MongoDB',
  '',
  'usage: tributary <command> [options]',
  "       tributary <command> --help     that command's options",
  '',
  'commands:',
  ...(() => {
    const width = Math.max(...COMMANDS.map((c) => synopsis(c).length));
    return COMMANDS.map((c) => `  ${synopsis(c).padEnd(width)}  ${c.summary}`);
  })(),
  '',
  'exit codes: 0 ok, 1 task failed or precheck did not pass, 2 invalid config, 3 other error, 64 usage',
].join('\n');

export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    const about = rest[0] !== undefined ? byName.get(rest[0]) : undefined;
    if (cmd === 'help' && rest[0] !== undefined && !about) {
      process.stderr.write(`unknown command '${rest[0]}'\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    process.stdout.write(`${about ? commandHelp(about) : USAGE}\n`);
    return cmd === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = byName.get(cmd);
  if (!command) {
    process.stderr.write(`unknown command '${cmd}'\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const args = parseArgs(command, rest);
  if (args.flags.has('help')) {
    process.stdout.write(`${commandHelp(command)}\n`);
    return EXIT.ok;
  }
  if (args.errors.length > 0) {
    process.stderr.write(`${args.errors.join('\n')}\n(tributary ${cmd} --help shows its usage)\n`);
    return EXIT.usage;
  }
  try {
    return await command.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      if (args.flags.has('json')) out(args, '', { valid: false, issues: err.issues });
      else process.stderr.write(`${err.message}\n`);
      return EXIT.invalidConfig;
    }
    const e = err instanceof TributaryError ? err : null;
    if (args.flags.has('json')) out(args, '', { error: e ? e.toJSON() : { message: (err as Error).message } });
    else process.stderr.write(`error: ${e ? e.describe() : (err as Error).message}\n`);
    return EXIT.error;
  }
}
