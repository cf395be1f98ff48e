/**
 * Prometheus metrics of a runtime's tasks, with prom-client: a {@link Registry} per
 * {@link createMetrics} call holding the `tributary_*` families (read from the tasks at each
 * scrape), merged with one process-wide registry of Node's default process metrics
 * (`process_*`, `nodejs_*`).
 */
import type { Observable, Subscription } from 'rxjs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TaskRunner, TaskStatus } from '../runtime/task.js';

/** What the metrics read: the runtime's tasks, and (optionally) their status changes. */
export interface MetricsSource {
  list(): readonly TaskRunner[];
  /** Every status change of every task: feeds the latency histogram between scrapes. */
  readonly status$?: Observable<TaskStatus>;
}

/** The metrics of one runtime, as {@link createMetrics} makes them. */
export interface TributaryMetrics {
  /** This runtime's `tributary_*` metrics and the process metrics. */
  readonly registry: Registry;
  /** The exposition's content type (`text/plain; version=0.0.4; charset=utf-8`). */
  readonly contentType: string;
  /** The text exposition of every metric. */
  render(): Promise<string>;
  /** Stops following status changes. */
  close(): void;
}

/** Buckets of the delivery-latency histogram, seconds: from 5 ms to an hour. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600];

let processRegistry: Registry | undefined;
/** Node's default metrics (CPU, memory, event loop, GC, handles): once per process, whatever the number of servers. */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    // Gauges named like counters (promtool: "non-counter metrics should not have _total suffix");
    // each is the sum over `type` of nodejs_active_handles, nodejs_active_requests, nodejs_active_resources.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) processRegistry.removeSingleMetric(name);
  }
  return processRegistry;
}

interface InflightView {
  events: number;
  bytes: number;
  maxEvents: number;
  maxBytes: number;
}

/** The task's in-flight window (events and bytes read but not yet acknowledged, and their limits). */
function inflightOf(task: TaskRunner): InflightView | null {
  return task.inflight;
}

interface TableRows {
  rowsDone: number;
  rowsEstimated: number;
}

/** Full-sync rows per source table (`TaskStatus.progress.tables`, kept once the phase ended), if the status has them. */
function fullSyncTables(s: TaskStatus): Array<[string, TableRows]> {
  const tables = (s.progress as { tables?: unknown }).tables;
  if (tables === null || typeof tables !== 'object') return [];
  return Object.entries(tables as Record<string, Partial<TableRows> | undefined>).flatMap(([table, p]) =>
    p && typeof p.rowsDone === 'number' && typeof p.rowsEstimated === 'number' ? [[table, { rowsDone: p.rowsDone, rowsEstimated: p.rowsEstimated }] as [string, TableRows]] : [],
  );
}

/**
 * The metrics of a runtime. Families (label `task`; `table` where per table):
 *
 * - counters: `tributary_events_total`, `tributary_heartbeats_total`, `tributary_bytes_total`,
 *   `tributary_batches_total`, `tributary_snapshot_rows_total`, `tributary_table_events_total`,
 *   `tributary_table_bytes_total`;
 * - histogram: `tributary_delivery_latency_seconds`;
 * - gauges: `tributary_latency_seconds`, `tributary_task_state`, `tributary_task_healthy`,
 *   `tributary_retries`, `tributary_fullsync_rows_done`, `tributary_fullsync_rows_estimated`,
 *   `tributary_fullsync_table_rows_done`, `tributary_fullsync_table_rows_estimated`,
 *   `tributary_inflight_events`, `tributary_inflight_bytes`, `tributary_inflight_max_events`,
 *   `tributary_inflight_max_bytes`, `tributary_precheck_items`,
 *   `tributary_postgres_slot_retained_wal_bytes`;
 * - Node's process metrics (`process_*`, `nodejs_*`).
 *
 * @example
 * ```ts
 * const metrics = createMetrics(runtime);
 * const text = await metrics.render(); // what GET /metrics answers
 * metrics.close();
 * ```
 */
export function createMetrics(source: MetricsSource): TributaryMetrics {
  const own = new Registry();
  const registers = [own];
  const tasks = () => source.list();

  /** A counter whose value is read from the tasks at each scrape (the runtime counts; counts restart with the process). */
  const counter = (name: string, help: string, labelNames: string[], read: (add: (labels: Record<string, string>, v: number) => void) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read((labels, v) => this.inc(labels, Number.isFinite(v) && v > 0 ? v : 0));
      },
    });
  const gauge = (name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, v: number) => void) => void | Promise<void>) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        return read((labels, v) => this.set(labels, v));
      },
    });
  const perTask = (read: (t: TaskRunner, s: TaskStatus) => number) => (add: (labels: Record<string, string>, v: number) => void) => {
    for (const t of tasks()) add({ task: t.id }, read(t, t.status));
  };

  counter('tributary_events_total', 'Changes written to the destination and acknowledged (heartbeats excluded).', ['task'], perTask((_t, s) => s.counters.events));
  counter('tributary_heartbeats_total', 'Heartbeats acknowledged (they keep latency and the source position moving when idle).', ['task'], perTask((_t, s) => s.counters.heartbeats));
  counter('tributary_bytes_total', 'Bytes (source size estimate) written and acknowledged.', ['task'], perTask((_t, s) => s.counters.bytes));
  counter('tributary_batches_total', 'Batches written and acknowledged.', ['task'], perTask((_t, s) => s.counters.batches));
  counter('tributary_snapshot_rows_total', 'Rows of full synchronization written and acknowledged.', ['task'], perTask((_t, s) => s.counters.snapshotRows));
  counter('tributary_table_events_total', 'Changes acknowledged, by destination table (full and incremental synchronization).', ['task', 'table'], (add) => {
    for (const t of tasks()) for (const [table, c] of t.tableCounters) add({ task: t.id, table }, c.events);
  });
  counter('tributary_table_bytes_total', 'Bytes acknowledged, by destination table.', ['task', 'table'], (add) => {
    for (const t of tasks()) for (const [table, c] of t.tableCounters) add({ task: t.id, table }, c.bytes);
  });

  // Delivery latency: source commit to destination acknowledgement of the last event (heartbeats
  // included) of the latest acknowledged batch, observed once per acknowledgement seen, whether
  // through a status change (about every confirm interval while streaming) or a scrape.
  const delivery = new Histogram({
    name: 'tributary_delivery_latency_seconds',
    help: 'Source commit to destination acknowledgement of the last event of the latest acknowledged batch, sampled at every status change and scrape that sees a new acknowledgement.',
    labelNames: ['task'],
    buckets: LATENCY_BUCKETS,
    registers,
    collect() {
      for (const t of tasks()) sampleDelivery(t.id, t.status);
    },
  });
  const lastAck = new Map<string, number>();
  function sampleDelivery(task: string, s: TaskStatus): void {
    const { lastAckAt, lastCommitTime } = s.counters;
    if (lastAckAt === null || lastCommitTime === null || lastAck.get(task) === lastAckAt) return;
    lastAck.set(task, lastAckAt);
    delivery.observe({ task }, Math.max(0, lastAckAt - lastCommitTime) / 1000);
  }

  gauge('tributary_latency_seconds', 'How far the destination is behind: now minus the source commit time of the oldest change not yet acknowledged by the destination, or of the last acknowledged one (heartbeats included) when nothing is pending.', ['task'], (set) => {
    for (const t of tasks()) {
      const ms = t.status.latencyMs;
      if (ms !== null) set({ task: t.id }, ms / 1000);
    }
  });
  gauge('tributary_task_state', '1 for the state the task is in.', ['task', 'state'], (set) => {
    for (const t of tasks()) set({ task: t.id, state: t.status.state }, 1);
  });
  gauge('tributary_task_healthy', '1 when the task is healthy (not failed, not retrying).', ['task'], perTask((_t, s) => (s.healthy ? 1 : 0)));
  gauge('tributary_retries', 'Attempts in the current retry episode, by cause.', ['task', 'cause'], (set) => {
    for (const t of tasks()) {
      const r = t.status.retry;
      if (r) set({ task: t.id, cause: r.cause }, r.attempts);
    }
  });
  gauge('tributary_fullsync_rows_done', 'Rows copied by full synchronization, all tables.', ['task'], perTask((_t, s) => s.progress.rowsDone));
  gauge('tributary_fullsync_rows_estimated', 'Estimated rows to copy by full synchronization, all tables.', ['task'], perTask((_t, s) => s.progress.rowsEstimated));

  const tableGauge = (name: string, help: string, pick: (r: TableRows) => number) =>
    gauge(name, help, ['task', 'table'], (set) => {
      for (const t of tasks()) for (const [table, r] of fullSyncTables(t.status)) set({ task: t.id, table }, pick(r));
    });
  tableGauge('tributary_fullsync_table_rows_done', 'Rows copied by full synchronization and acknowledged, by source table.', (r) => r.rowsDone);
  tableGauge('tributary_fullsync_table_rows_estimated', 'Estimated rows to copy by full synchronization, by source table.', (r) => r.rowsEstimated);

  const inflight = (name: string, help: string, pick: (v: InflightView) => number) =>
    gauge(name, help, ['task'], (set) => {
      for (const t of tasks()) {
        const v = inflightOf(t);
        const n = v === null ? NaN : pick(v);
        if (Number.isFinite(n)) set({ task: t.id }, n);
      }
    });
  inflight('tributary_inflight_events', 'Events read and not yet acknowledged by the destination (the in-flight window).', (v) => v.events);
  inflight('tributary_inflight_bytes', 'Bytes read and not yet acknowledged by the destination (the in-flight window).', (v) => v.bytes);
  inflight('tributary_inflight_max_events', 'Limit of the in-flight window in events: reading pauses at it (absent when unlimited).', (v) => v.maxEvents);
  inflight('tributary_inflight_max_bytes', 'Limit of the in-flight window in bytes: reading pauses at it (absent when unlimited).', (v) => v.maxBytes);

  // What a sink reports about its own machinery, e.g. kafka_fast_path (1: Tributary's kafkajs fast path is in effect).
  const diagnosticNames = new Set(tasks().flatMap((t) => Object.keys(t.sink.diagnostics?.() ?? {})));
  const registered = new Set<string>();
  for (const key of ['kafka_fast_path', ...diagnosticNames]) {
    if (!/^[a-z_][a-z0-9_]*$/.test(key) || registered.has(key)) continue;
    registered.add(key);
    gauge(`tributary_sink_${key}`, `The sink's own report: ${key.replace(/_/g, ' ')} (1 yes, 0 no, or a count).`, ['task'], (set) => {
      for (const t of tasks()) {
        const v = t.sink.diagnostics?.()[key];
        if (v !== undefined && Number.isFinite(v)) set({ task: t.id }, v);
      }
    });
  }

  gauge('tributary_precheck_items', 'Items of the last precheck, by status.', ['task', 'status'], (set) => {
    for (const t of tasks()) {
      const items = t.status.precheck;
      if (items) for (const status of ['pass', 'warn', 'fail'] as const) set({ task: t.id, status }, items.filter((i) => i.status === status).length);
    }
  });
  gauge('tributary_postgres_slot_retained_wal_bytes', "WAL retained by the task's replication slot.", ['task'], async (set) => {
    for (const t of tasks()) {
      const src = t.source;
      if (!t.sourceCapabilities.retainedLog || src.retainedWalBytes === undefined || t.status.state === 'idle') continue;
      const v = await src.retainedWalBytes().catch(() => null);
      if (v !== null) set({ task: t.id }, Number(v));
    }
  });

  const subscription: Subscription | undefined = source.status$?.subscribe((s) => sampleDelivery(s.taskId, s));
  const registry = Registry.merge([processMetrics(), own]);
  return {
    registry,
    contentType: registry.contentType,
    render: async () => `${await registry.metrics()}${taskInfo(tasks())}`,
    close: () => subscription?.unsubscribe(),
  };
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * `tributary_task_info{task, environment, label_<key>...} 1`: a task's `environment` and `labels`
 * as metric labels, the Prometheus way for metadata (join on `task`: `… * on(task)
 * group_left(environment) tributary_task_info`). Label keys are sanitized to label names
 * (`label_` + letters, digits, `_`). Written by hand because each task may have its own keys.
 */
export function taskInfo(tasks: readonly Pick<TaskRunner, 'id' | 'options'>[]): string {
  if (tasks.length === 0) return '';
  const lines = tasks.map((t) => {
    const labels: Array<[string, string]> = [['task', t.id]];
    if (t.options.environment !== undefined) labels.push(['environment', t.options.environment]);
    for (const [k, v] of Object.entries(t.options.labels ?? {}).sort(([a], [b]) => a.localeCompare(b))) labels.push([`label_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`, String(v)]);
    return `tributary_task_info{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}} 1`;
  });
  return `# HELP tributary_task_info A task's environment and labels (value 1), to join on task.\n# TYPE tributary_task_info gauge\n${lines.join('\n')}\n`;
}

/** Prometheus text exposition (format 0.0.4) of the tasks' metrics and the process metrics. */
export async function renderMetrics(tasks: readonly TaskRunner[]): Promise<string> {
  const metrics = createMetrics({ list: () => tasks });
  try {
    return await metrics.render();
  } finally {
    metrics.close();
  }
}
