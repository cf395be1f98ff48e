/**
 * The harness's private servers: a Kafka broker (instance `faults`) and a PostgreSQL cluster of
 * their own, on ports no test uses, started through the project's scripts, with the process
 * faults the scenarios need (SIGKILL, SIGSTOP/SIGCONT, `pg_ctl stop -m fast|immediate`).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FAULTS } from './config.js';

const exec = promisify(execFile);
const PGBIN = '/usr/lib/postgresql/15/bin';

export const kafkaEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  TRIBUTARY_KAFKA_INSTANCE: FAULTS.kafkaInstance,
  TRIBUTARY_KAFKA_PORT: String(FAULTS.kafkaPort),
  TRIBUTARY_KAFKA_PROXY_PORT: String(FAULTS.kafkaProxyPort),
});

/** The PostgreSQL script's cache (its log link) is the harness's own, not the shared `.cache/logs/postgres.log`. */
export const pgEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  TRIBUTARY_PG_PORT: String(FAULTS.pgPort),
  TRIBUTARY_PG_HOME: FAULTS.pgHome,
  TRIBUTARY_CACHE: join(FAULTS.root, '.cache', 'faults'),
});

async function script(name: 'kafka' | 'postgres', verb: string): Promise<void> {
  await exec('bash', [`scripts/${name}.sh`, verb], { cwd: FAULTS.root, env: name === 'kafka' ? kafkaEnv() : pgEnv(), timeout: 180_000 });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function waitPort(port: number, open: boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if ((await portOpen(port)) === open) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

export const kafka = {
  /** Starts the broker (idempotent). */
  up: () => script('kafka', 'up'),
  /** Graceful stop (SIGTERM, then SIGKILL after 20 s). */
  down: () => script('kafka', 'down'),
  /** Stops it and removes its data: a fresh broker for a fresh run. */
  reset: () => script('kafka', 'reset'),
  async pid(): Promise<number | null> {
    const text = await readFile(join(FAULTS.root, '.cache', 'run', `kafka-${FAULTS.kafkaInstance}.pid`), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  },
  /** SIGKILL: the broker dies without closing anything; waits until its port is closed. */
  async kill(): Promise<void> {
    const pid = await kafka.pid();
    if (pid === null) throw new Error('the faults broker has no pid file');
    process.kill(pid, 'SIGKILL');
    await waitPort(FAULTS.kafkaPort, false, 10_000);
  },
  async signal(sig: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    const pid = await kafka.pid();
    if (pid !== null) process.kill(pid, sig);
  },
};

const pgData = () => join(FAULTS.pgHome, 'data');
const asPostgres = (args: string[], timeoutMs = 120_000) => exec('runuser', ['-u', 'postgres', '--', `${PGBIN}/pg_ctl`, ...args], { timeout: timeoutMs });

export const postgres = {
  up: () => script('postgres', 'up'),
  down: () => script('postgres', 'down'),
  /**
   * `pg_ctl stop -m <mode>`; resolves with how long it took, or throws when PostgreSQL did not
   * stop within `timeoutSeconds` (what a task holding a walsender open used to cause).
   */
  async stop(mode: 'fast' | 'immediate', timeoutSeconds = 60): Promise<number> {
    const started = Date.now();
    await asPostgres(['-D', pgData(), '-m', mode, '-w', '-t', String(timeoutSeconds), 'stop'], (timeoutSeconds + 10) * 1000);
    return Date.now() - started;
  },
  async start(): Promise<void> {
    await postgres.up();
  },
  async pid(): Promise<number | null> {
    const text = await readFile(join(pgData(), 'postmaster.pid'), 'utf8').catch(() => '');
    const pid = Number(text.split('\n')[0]?.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  },
};
