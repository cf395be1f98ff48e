import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { FAULTS, kafkaProxiedListener } from './config.js';
import { runScenario, DEFAULT_RETRY, HEALTHY_STALL_LIMIT_S, type Phase, type RunResult, type Scenario } from './harness.js';
import { FaultProxy } from './proxy.js';
import { QUICK, scenarios } from './scenarios.js';
import { kafka, postgres } from './servers.js';
import { withPg } from '../test/integration/support.js';

interface Args {
  quick: boolean;
  only: string[];
  phase: Phase | null;
  keepServers: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: [], phase: null, keepServers: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--keep-servers') args.keepServers = true;
    else if (a === '--only') args.only.push(argv[++i] ?? '');
    else if (a === '--phase') {
      const p = argv[++i];
      if (p !== 'full' && p !== 'incremental') throw new Error(`--phase takes full or incremental, got ${p}`);
      args.phase = p;
    } else throw new Error(`unknown option ${a}; see faults/run.ts`);
  }
  return args;
}

const log = (m: string) => process.stderr.write(`[faults ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ').trim();
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function machine(): string {
  const c = cpus();
  return `${c.length} cores (${c[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GB, ${osType()} ${release()}, Node ${process.versions.node}`;
}

/** The commit the runtime ran from, and whether src/ or machines/ had uncommitted changes then. */
export function codeVersion(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: FAULTS.root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'machines'], { cwd: FAULTS.root, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' with uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown';
  }
}

export function table(results: readonly RunResult[]): string {
  const rows = [
    '| scenario | phase | outcome | time to recover | lost | wrong | duplicates | states seen | message |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const time = r.recoverSeconds !== null ? `${r.recoverSeconds} s` : r.failedAfterSeconds !== null ? `— (${r.ended ?? 'failed'} after ${r.failedAfterSeconds} s)` : '—';
    const lostText = r.lost === null ? '?' : `${r.lost}${r.undelivered > 0 && r.requirement.includes('LOST_HISTORY') ? ` (+${r.undelivered} written after the fault, history gone)` : ''}`;
    const verdict = r.pass ? '' : ' **✗**';
    const notes = r.notes.length > 0 ? ` (${r.notes.join('; ')})` : '';
    rows.push(
      `| ${cell(r.scenario)} | ${r.phase} | ${cell(`${r.outcome}${verdict}${notes}`)} | ${time} | ${lostText} | ${r.wrong ?? '?'} | ${r.duplicates ?? '?'} | ${cell(r.states.join(' ‖ '))} | ${cell(truncate(r.message, 300)) || '—'} |`,
    );
  }
  return rows.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  let plan: Array<[Scenario, Phase]> = [];
  if (args.quick) {
    for (const [name, phase] of QUICK) {
      const s = scenarios.find((x) => x.name === name);
      // A renamed scenario must not shrink the CI form without anyone noticing.
      if (!s) throw new Error(`quick form: no scenario named "${name}" (faults/scenarios.ts QUICK is out of date)`);
      plan.push([s, phase]);
    }
  } else {
    for (const s of scenarios) for (const p of s.phases) plan.push([s, p]);
  }
  if (args.only.length > 0) plan = plan.filter(([s]) => args.only.some((o) => s.name.toLowerCase().includes(o.toLowerCase())));
  if (args.phase) plan = plan.filter(([, p]) => p === args.phase);
  if (plan.length === 0) throw new Error('no scenario selected');

  const started = new Date();
  const code = codeVersion();
  const pgProxy = new FaultProxy('postgres', '127.0.0.1', FAULTS.pgPort);
  const kafkaProxy = new FaultProxy('kafka', '127.0.0.1', kafkaProxiedListener);
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: finishing the current run's cleanup, then stopping`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const results: RunResult[] = [];
  try {
    log(`starting private servers: PostgreSQL 127.0.0.1:${FAULTS.pgPort}, Kafka 127.0.0.1:${FAULTS.kafkaPort} (a fresh broker)`);
    await kafka.reset();
    await Promise.all([kafka.up(), postgres.up()]);
    // Databases left by an interrupted earlier run.
    await withPg('postgres', async (c) => {
      const old = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'faults\\_%'");
      for (const { datname } of old.rows) {
        await c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active', [datname]);
        await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      }
    });
    await pgProxy.start(FAULTS.pgProxyPort);
    await kafkaProxy.start(FAULTS.kafkaProxyPort);
    log(`proxies: PostgreSQL 127.0.0.1:${pgProxy.port}, Kafka 127.0.0.1:${kafkaProxy.port}; ${plan.length} runs`);
    for (const [scenario, phase] of plan) {
      if (interrupted) break;
      log(`${scenario.name} / ${phase}: ${scenario.description}`);
      const rowCode = codeVersion();
      const r = { ...(await runScenario(scenario, phase, { pg: pgProxy, kafka: kafkaProxy }, log)), code: rowCode };
      results.push(r);
      log(
        `${scenario.name} / ${phase}: ${r.pass ? 'ok' : 'NOT OK'}: ${r.outcome}; recover ${r.recoverSeconds ?? '—'} s; lost ${r.lost ?? '?'}, wrong ${r.wrong ?? '?'}, duplicates ${r.duplicates ?? '?'}; ${r.states.join(' ‖ ')}; ${r.message} (${r.durationSeconds} s)`,
      );
    }
  } finally {
    await pgProxy.stop().catch(() => undefined);
    await kafkaProxy.stop().catch(() => undefined);
    if (!args.keepServers) {
      log('stopping the private servers');
      await kafka.down().catch((e: unknown) => log(`kafka down: ${(e as Error).message}`));
      await postgres.down().catch((e: unknown) => log(`postgres down: ${(e as Error).message}`));
    }
  }

  // Others may commit while the harness runs: each run starts a runtime from the tree as it is then.
  const codes = [...new Set(results.map((r) => r.code ?? code))];
  const codeText = codes.length <= 1 ? `code ${codes[0] ?? code}` : `code ${codes[0]} to ${codes.at(-1)} (changed during the run; each row's in the JSON)`;
  const header = [
    `Fault harness, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${args.quick ? 'quick form' : 'full run'}, ${codeText}; machine: ${machine()}.`,
    `Retry windows: connection ${DEFAULT_RETRY.connectionMs / 1000} s, other issues ${DEFAULT_RETRY.otherMs / 1000} s unless the scenario says otherwise. ${results.filter((r) => r.pass).length} of ${results.length} runs met their requirement (✗: did not: rows lost or wrong, a failure not required, a crash, stuck, or healthy for over ${HEALTHY_STALL_LIMIT_S} s while acknowledging nothing).`,
  ].join('\n');
  const text = `${header}\n\n${table(results)}\n`;
  process.stdout.write(`\n${text}`);
  const dir = join(FAULTS.root, 'faults', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `faults-${stamp}${args.quick ? '-quick' : ''}.json`);
  await writeFile(file, JSON.stringify({ started: started.toISOString(), finished: new Date().toISOString(), code, machine: machine(), args, retry: DEFAULT_RETRY, results }, null, 2));
  await writeFile(join(dir, `latest${args.quick ? '-quick' : ''}.md`), text);
  log(`results: ${file}`);
  return results.every((r) => r.pass) && !interrupted ? 0 : 1;
}
