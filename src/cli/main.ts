import '../kafka/patches.js';
import { loadTaskConfig } from '../config/load.js';
import { generateConfigDocs } from '../config/docs.js';
import { collectSecrets, redactConfig } from '../config/redact.js';
import type { TaskConfig } from '../config/schema.js';
import { ConfigError, TributaryError } from '../core/errors.js';
import { FileCheckpointStore, KafkaCheckpointStore, type CheckpointStore } from '../checkpoints/index.js';
import { serveHttp } from '../http/server.js';
import { watchAlerts } from '../observe/alerts.js';
import { createLogger, type LogLevel } from '../observe/logger.js';
import { createRuntime } from '../runtime/createRuntime.js';
import { taskMachineDefinition } from '../../machines/index.js';
import { flag, parseArgs, type Args } from './args.js';
import { progressLine, precheckTable } from './render.js';
import { runDemo } from './demo.js';

export const EXIT = { ok: 0, failed: 1, invalidConfig: 2, error: 3, usage: 64 } as const;

const USAGE = `tributary: change-data-capture from PostgreSQL and MongoDB to Kafka and MongoDB

usage: tributary <command> [options]

commands:
  run <task.yaml>        run a task: precheck, full sync with progress, then incremental
                         --http <port>  serve the management API and /metrics
                         --ignore <ids> accept these precheck warnings (comma-separated)
  precheck <task.yaml>   run the prechecks and print a table; exit 0 only if the task may start
  validate <task.yaml>   check a config file; --print shows it resolved, defaults filled, secrets masked
  status                 show tasks of a running 'tributary run --http' (--url, default $TRIBUTARY_URL)
  pause|resume|stop <task>         control a task of a running instance (--url)
  throttle <task> --incrementalRps N [--incrementalMBps N --fullRps N --fullMBps N --fullQps N]
  offsets <task.yaml>    show the task's checkpoint; --set <position> or --reset while the task is stopped
  inspect [task.yaml]    print the task state chart (JSON, for the Stately visualizer); --live runs the
                         task and prints every transition
  verify <task.yaml>     MongoDB → MongoDB: compare counts and content hashes per collection; exit 1 on differences
  docs                   print the configuration reference (markdown)
  demo                   PostgreSQL → Kafka demo on the local test servers

common options: --json (machine-readable output), --log-level debug|info|warn|error|silent
exit codes: 0 ok, 1 task failed or precheck did not pass, 2 invalid config, 3 other error, 64 usage`;

function out(args: Args, human: string, json: unknown): void {
  if (args.flags.has('json')) process.stdout.write(`${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  else process.stdout.write(`${human}\n`);
}

function baseUrl(args: Args): string {
  return flag(args, 'url') ?? process.env.TRIBUTARY_URL ?? 'http://127.0.0.1:8470';
}

async function api(args: Args, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl(args)}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
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
  const file = args.positionals[1];
  if (!file) throw new UsageError(`'${args.positionals[0]}' needs a task file: tributary ${args.positionals[0]} task.yaml`);
  return loadTaskConfig(file);
}

class UsageError extends Error {}

function storeFor(cfg: TaskConfig): CheckpointStore {
  if (cfg.checkpoints.store === 'kafka' && cfg.destination.kafka) return new KafkaCheckpointStore(cfg.destination.kafka.brokers, cfg.checkpoints.topic);
  return new FileCheckpointStore(cfg.checkpoints.store === 'file' ? cfg.checkpoints.dir : '.tributary/checkpoints');
}

async function cmdValidate(args: Args): Promise<number> {
  const cfg = await load(args);
  if (args.flags.has('print')) out(args, JSON.stringify(redactConfig(cfg), null, 2), redactConfig(cfg));
  else out(args, `${args.positionals[1]}: valid (task ${cfg.name})`, { valid: true, task: cfg.name });
  return EXIT.ok;
}

async function cmdPrecheck(args: Args): Promise<number> {
  const cfg = await load(args);
  const runtime = createRuntime({ logger: createLogger({ level: (flag(args, 'log-level') as LogLevel) ?? 'silent', secrets: collectSecrets(cfg) }) });
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
  const logger = createLogger({ level: (flag(args, 'log-level') as LogLevel) ?? 'warn', secrets: collectSecrets(cfg) });
  const live = args.flags.has('live');
  const runtime = createRuntime({
    logger,
    ...(live ? { inspect: (e) => e.type === '@xstate.event' && process.stdout.write(`${JSON.stringify({ transition: (e as { event: { type: string } }).event.type })}\n`) } : {}),
  });
  const task = runtime.add(cfg);
  const alerts = watchAlerts(task, { ...cfg.monitoring, logger });
  const httpPort = flag(args, 'http');
  const http = httpPort !== undefined ? await serveHttp(runtime, { port: Number(httpPort) }) : null;
  if (http) logger.info('management API listening', { url: `http://127.0.0.1:${http.port}` });
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
      if (s.state === 'failed' && cfg.retry.autoRestartWithinDays === 0) resolve(EXIT.failed);
    });
  });
  clearInterval(ticker);
  sub.unsubscribe();
  alerts.stop();
  await runtime.shutdown();
  await http?.close();
  if (tty) process.stderr.write('\n');
  return outcome === -1 ? EXIT.ok : outcome;
}

async function cmdStatus(args: Args): Promise<number> {
  const tasks = (await api(args, 'GET', '/tasks')) as Array<{ taskId: string; state: string; latencyMs: number | null; counters: { events: number } }>;
  out(args, tasks.map((t) => `${t.taskId}\t${t.state}\tlatency ${t.latencyMs ?? '-'} ms\t${t.counters.events} events`).join('\n') || '(no tasks)', tasks);
  return EXIT.ok;
}

async function cmdControl(args: Args, action: string): Promise<number> {
  const id = args.positionals[1];
  if (!id) throw new UsageError(`usage: tributary ${action} <task>`);
  const s = await api(args, 'POST', `/tasks/${encodeURIComponent(id)}/${action}`);
  out(args, `${id}: ${(s as { state: string }).state}`, s);
  return EXIT.ok;
}

async function cmdThrottle(args: Args): Promise<number> {
  const id = args.positionals[1];
  if (!id) throw new UsageError('usage: tributary throttle <task> --incrementalRps N ...');
  const body: Record<string, number> = {};
  for (const k of ['fullQps', 'fullRps', 'fullMBps', 'incrementalRps', 'incrementalMBps']) {
    const v = flag(args, k);
    if (v !== undefined) {
      const n = Number(v);
      if (!(n >= 0)) throw new UsageError(`--${k} must be a non-negative number, got '${v}'`);
      body[k] = n;
    }
  }
  const t = await api(args, 'PUT', `/tasks/${encodeURIComponent(id)}/throttle`, body);
  out(args, `${id}: throttle ${JSON.stringify(t)}`, t);
  return EXIT.ok;
}

async function cmdOffsets(args: Args): Promise<number> {
  const cfg = await load(args);
  const store = storeFor(cfg);
  try {
    const cp = (await store.load(cfg.name)) ?? { taskId: cfg.name, chunksDone: {}, updatedAt: 0 };
    const set = flag(args, 'set');
    if (set !== undefined || args.flags.has('reset')) {
      if (set !== undefined) cp.position = set;
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

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  const cmd = args.positionals[0];
  try {
    switch (cmd) {
      case 'run':
        return await cmdRun(args);
      case 'precheck':
        return await cmdPrecheck(args);
      case 'validate':
        return await cmdValidate(args);
      case 'status':
        return await cmdStatus(args);
      case 'pause':
      case 'resume':
      case 'stop':
        return await cmdControl(args, cmd);
      case 'throttle':
        return await cmdThrottle(args);
      case 'offsets':
        return await cmdOffsets(args);
      case 'inspect':
        return await cmdInspect(args);
      case 'verify':
        return await cmdVerify(args);
      case 'docs':
        process.stdout.write(generateConfigDocs());
        return EXIT.ok;
      case 'demo':
        return await runDemo(args);
      case undefined:
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return cmd === 'help' || args.flags.has('help') ? EXIT.ok : EXIT.usage;
      default:
        process.stderr.write(`unknown command '${cmd}'\n\n${USAGE}\n`);
        return EXIT.usage;
    }
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
