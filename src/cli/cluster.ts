/**
 * `tributary run --cluster GROUP [task.yaml]`: this process joins the cluster GROUP as a worker
 * (see README "Running a cluster") and runs the tasks the group assigns it until SIGINT/SIGTERM.
 * A task file given is put into the cluster (unless the cluster has it unchanged), and its Kafka
 * destination (brokers, SASL, TLS) is where the cluster coordinates; without one, `--brokers`.
 */
import { InvalidArgumentError, Option } from 'commander';
import { joinCluster, kafkaConnectionOf } from '../cluster/index.js';
import { loadTaskConfig } from '../config/load.js';
import { collectSecrets } from '../config/redact.js';
import type { TaskConfig } from '../config/schema.js';
import { serveHttp } from '../http/server.js';
import { createLogger } from '../observe/logger.js';
import type { KafkaConnection } from '../sinks/kafka/clientConfig.js';
import { flag, type Invocation } from './args.js';
import { logLevel, out, UsageError } from './output.js';

/** A Kafka group id that also prefixes topic names: letters, digits, `.`, `_`, `-`. */
function groupId(value: string): string {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(value)) throw new InvalidArgumentError('It must be 1-200 letters, digits, ".", "_" or "-" (it names a Kafka group and prefixes its topics).');
  return value;
}

function positive(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new InvalidArgumentError('It must be a positive number.');
  return n;
}

/** The options `run` takes for a cluster. */
export const clusterOptions = (): Option[] => [
  new Option('--cluster <group>', 'join the cluster GROUP as a worker (Kafka group and topic prefix); the task file, if any, is put into it').argParser(groupId),
  new Option('--brokers <list>', 'with --cluster: Kafka brokers host:port,... (default: those of the task file\'s destination, with its SASL and TLS)'),
  new Option('--worker-id <id>', 'with --cluster: this worker\'s name (default <hostname>-<pid>)'),
  new Option('--session-timeout <ms>', 'with --cluster: a worker silent this long loses its tasks (default 10000)').argParser(positive),
  new Option('--weight <n>', 'with --cluster: the task\'s relative cost in the assignment (default 1)').argParser(positive),
  new Option('--http-host <addr>', 'with --cluster and --http: the address the API listens on (default 127.0.0.1; any other needs $TRIBUTARY_HTTP_TOKEN)'),
  new Option('--advertise <url>', 'with --cluster and --http: the address other workers reach this API at (default http://<http-host>:<port>)'),
];

function connectionOf(args: Invocation, cfg: TaskConfig | undefined): KafkaConnection {
  const brokers = flag(args, 'brokers');
  if (brokers !== undefined) return { brokers: brokers.split(',').map((b) => b.trim()).filter(Boolean) };
  if (cfg?.destination.kafka) return kafkaConnectionOf(cfg.destination.kafka);
  throw new UsageError(cfg ? `--cluster: task ${cfg.name} does not write to Kafka; give the cluster's brokers with --brokers host:port,...` : '--cluster without a task file needs --brokers host:port,... (or a task file whose destination is Kafka)');
}

/** Runs this process as a worker of the cluster named by `--cluster` until SIGINT/SIGTERM (exit 0). */
export async function runClusterWorker(args: Invocation, group: string): Promise<number> {
  const file = args.positionals[0];
  const cfg = file !== undefined ? await loadTaskConfig(file) : undefined;
  const brokers = connectionOf(args, cfg);
  const logger = createLogger({ level: logLevel(args, 'warn'), secrets: cfg ? collectSecrets(cfg) : [] });
  const httpPort = flag(args, 'http');
  const host = flag(args, 'httpHost') ?? '127.0.0.1';
  const url = httpPort !== undefined ? (flag(args, 'advertise') ?? `http://${host.includes(':') ? `[${host}]` : host}:${httpPort}`) : undefined;
  const sessionTimeoutMs = args.options.sessionTimeout as number | undefined;
  const workerId = flag(args, 'workerId');
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const cluster = await joinCluster({
    groupId: group,
    brokers,
    logger,
    runtime: { logger },
    ...(workerId !== undefined ? { workerId } : {}),
    ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
    ...(url !== undefined ? { url } : {}),
  });
  let http: Awaited<ReturnType<typeof serveHttp>> | null = null;
  try {
    if (httpPort !== undefined) {
      http = await serveHttp(cluster.runtime, { port: Number(httpPort), host, token: process.env.TRIBUTARY_HTTP_TOKEN, cluster });
      logger.info('management API listening', { url });
    }
    out(args, `worker ${cluster.workerId} joined cluster ${group}${url ? ` (API ${url})` : ''}`, { event: 'joined', workerId: cluster.workerId, group, ...(url ? { url } : {}) });
    if (cfg) {
      const weight = args.options.weight as number | undefined;
      const had = cluster.record(cfg.name);
      const same = had !== undefined && JSON.stringify(had.config) === JSON.stringify(cfg) && had.weight === weight;
      if (!same) await cluster.putTask(cfg, weight !== undefined ? { weight } : {});
      out(args, `task ${cfg.name}: ${same ? 'already in the cluster, unchanged' : had ? 'replaced in the cluster' : 'put into the cluster'}`, { event: 'put', task: cfg.name, changed: !same });
    }
    // What this worker runs: one line per change of its set of tasks, and per task state change.
    const states = new Map<string, string>();
    const sub = cluster.runtime.status$.subscribe((s) => {
      if (states.get(s.taskId) === s.state) return;
      states.set(s.taskId, s.state);
      out(args, `[${new Date().toISOString()}] ${s.taskId}: ${s.state}${s.lastError ? `: ${s.lastError.message}` : ''}`, { event: 'state', task: s.taskId, state: s.state, lastError: s.lastError });
    });
    let running: string | null = null; // the first set is printed, even an empty one
    const ticker = setInterval(() => {
      const now = cluster.running();
      if (now.join(',') === running) return;
      running = now.join(',');
      for (const t of [...states.keys()]) if (!now.includes(t)) states.delete(t);
      out(args, `[${new Date().toISOString()}] worker ${cluster.workerId} runs: ${now.join(', ') || '(nothing)'}`, { event: 'tasks', tasks: now });
    }, 250);
    await stopped;
    clearInterval(ticker);
    sub.unsubscribe();
  } finally {
    await cluster.stop();
    await http?.close();
  }
  return 0;
}
