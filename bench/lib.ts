/** Shared helpers for the benchmark suite: servers, clients, sampling, statistics, result rows. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { TaskConfigInput } from '../src/config/schema.js';
import type { TaskRunner } from '../src/runtime/task.js';

export const servers = {
  postgres: { host: '127.0.0.1', port: Number(process.env.TRIBUTARY_PG_PORT ?? 15432), user: 'postgres' },
  kafka: { brokers: (process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',') },
  mongo: { uri: process.env.TRIBUTARY_MONGO_URI ?? 'mongodb://127.0.0.1:27117' },
} as const;

/** One line of the results table. `target` is printed beside the figure, never asserted. */
export interface ResultRow {
  scenario: string;
  metric: string;
  value: number | string | null;
  unit: string;
  target?: string;
  /** true / false when a target applies and could be judged; undefined otherwise. */
  meets?: boolean;
  /** The baseline this figure stands against in the same run (drawn on the chart). */
  baseline?: { name: string; value: number };
  note?: string;
}

export interface ScenarioContext {
  quick: boolean;
  /** Adds a row to the table. */
  row(r: Omit<ResultRow, 'scenario'>): void;
  log(msg: string): void;
  /** Shared between scenarios (e.g. the codec figures use the incremental run's message size). */
  shared: Map<string, unknown>;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export function pgConfig(database = 'postgres'): pg.ClientConfig {
  return { host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database };
}

export async function withPg<T>(database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(pgConfig(database));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database; `drop()` removes it with every replication slot and publication in it. */
export async function createDatabase(prefix: string): Promise<{ database: string; drop: () => Promise<void> }> {
  const database = uniqueName(prefix);
  await withPg('postgres', (c) => c.query(`CREATE DATABASE ${database}`));
  return {
    database,
    drop: () =>
      withPg('postgres', async (c) => {
        const slots = await c.query<{ slot_name: string }>('SELECT slot_name FROM pg_replication_slots WHERE database = $1', [database]);
        for (const s of slots.rows) {
          await c.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [s.slot_name]);
          await sleep(200);
          await c.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]).catch(() => undefined);
        }
        await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }),
  };
}

export function kafka(clientId = 'tributary-bench'): Kafka {
  return new Kafka({ clientId, brokers: [...servers.kafka.brokers], logLevel: logLevel.NOTHING });
}

export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** A topic whose message timestamps are the broker's append time (for end-to-end latency). */
export async function createTopic(topic: string, numPartitions: number): Promise<void> {
  await withAdmin((a) =>
    a.createTopics({
      topics: [{ topic, numPartitions, replicationFactor: 1, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }],
      waitForLeaders: true,
    }),
  );
}

export async function deleteTopics(...topics: string[]): Promise<void> {
  await withAdmin((a) => a.deleteTopics({ topics })).catch(() => undefined);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

setFlagsFromString('--expose-gc');
const fullCollection = runInNewContext('gc') as () => void;

/**
 * Samples process RSS every `everyMs`; `stop()` returns the peak in bytes. It starts with a full
 * collection: V8 sizes its next old-generation limit from what was live at the last one, so a
 * phase that ran before in the same process (a baseline holding a whole cursor batch, an earlier
 * task) would otherwise let this phase's garbage pile up to a limit it did not set (seen: 158 MB
 * live after the raw oplog read, then 552 MB of heap before the next replay's first full
 * collection, 39 MB of it live).
 */
export function rssSampler(everyMs = 100): { stop: () => number } {
  fullCollection();
  let peak = process.memoryUsage.rss();
  // BENCH_MEMLOG=1: one line per second with the main thread's heap and the process's buffers.
  let ticks = 0;
  const perSecond = Math.max(1, Math.round(1000 / everyMs));
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
    if (process.env.BENCH_MEMLOG && ++ticks % perSecond === 0) {
      const m = process.memoryUsage();
      const mb = (v: number) => Math.round(v / MB);
      console.log(`   mem: rss ${mb(m.rss)} heapUsed ${mb(m.heapUsed)} heapTotal ${mb(m.heapTotal)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)} MB`);
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryMB: Math.round(os.totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

export const MB = 1024 * 1024;
export const round = (n: number, digits = 1) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n);

/**
 * The benchmark table: about 200 bytes of row data per change (bigint key, two short texts, an
 * int, a numeric, a timestamp and a ~120-character note).
 */
export const ITEMS_DDL = `CREATE TABLE public.items (
  id bigint PRIMARY KEY, sku text NOT NULL, customer text NOT NULL, qty int NOT NULL,
  price numeric(12,2) NOT NULL, created timestamptz NOT NULL, note text NOT NULL)`;

/** INSERT ... SELECT of ids [from, to]. */
export function itemsInsert(from: number, to: number): string {
  return `INSERT INTO public.items
    SELECT g, 'sku-' || lpad((g % 100000)::text, 6, '0'), 'customer-' || (g % 9973), (g % 17) + 1,
           ((g % 100000) / 100.0)::numeric(12,2), timestamptz '2026-01-01 00:00:00+00' + g * interval '1 ms',
           md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) || left(md5((g + 3)::text), 24)
      FROM generate_series(${from}, ${to}) g`;
}

/** CPU seconds (user + system) this whole process has used: `process.cpuUsage()` is getrusage(RUSAGE_SELF), every thread (main, workers, libuv pool, V8's GC helpers). */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * CPU seconds of another process (utime + stime from /proc/<pid>/stat, every thread); NaN when it is gone.
 */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = 100;

/** The CPU figures of a drain: events per CPU-second and µs of CPU per event. */
export function perCpu(events: number, cpu: number): { perCpuSecond: number; usPerEvent: number } {
  return { perCpuSecond: events / cpu, usPerEvent: (cpu * 1e6) / events };
}

/**
 * Polls `count()` until it reaches `n` and returns the rate from the first acknowledgement to the
 * `n`-th (excluding what the first poll already saw), and the time it finished; `cpu` is this
 * process's CPU seconds (every thread) over the same window, `events` the events it covers. `check`
 * throws to abort (a failed task).
 */
export async function drainRate(count: () => number, n: number, what: string, check: () => void = () => undefined): Promise<{ rate: number; doneAt: number; cpu: number; events: number }> {
  let firstAt = 0;
  let firstCount = 0;
  let firstCpu = 0;
  await until(
    () => {
      check();
      const got = count();
      if (got > 0 && firstAt === 0) {
        firstAt = performance.now();
        firstCpu = cpuSeconds();
        firstCount = got;
      }
      return got >= n;
    },
    900_000,
    what,
    5,
  );
  const doneAt = performance.now();
  const cpu = cpuSeconds() - firstCpu;
  return { rate: (n - firstCount) / ((doneAt - firstAt) / 1000), doneAt, cpu, events: n - firstCount };
}

/** drainRate's check for a task: throws with the task's error or failed precheck items. */
export function failIfTaskFailed(task: TaskRunner): void {
  const st = task.status;
  if (st.state === 'failed' || st.state === 'precheckFailed') throw new Error(`task ${st.state}: ${st.lastError?.message ?? JSON.stringify(st.precheck?.filter((p) => p.status !== 'pass'))}`);
}

/** The PostgreSQL → Kafka task of the PostgreSQL scenarios: public.items, Canal JSON, LZ4, acks all, keyHash. */
export function pgKafkaTask(o: { name: string; database: string; topic: string; checkpointDir: string; full: boolean }): TaskConfigInput {
  return {
    name: o.name,
    source: { type: 'postgres', host: '127.0.0.1', port: Number(pgConfig().port), user: 'postgres', database: o.database },
    destination: { kafka: { brokers: ['127.0.0.1:19092'], topic: o.topic, format: 'canal-json', compression: 'lz4', acks: 'all', partitionPolicy: 'keyHash' } },
    objects: [{ schema: 'public', table: 'items' }],
    syncTypes: { full: o.full, incremental: true },
    checkpoints: { store: 'file', dir: o.checkpointDir },
  };
}
