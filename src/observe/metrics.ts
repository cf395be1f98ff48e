import type { TaskRunner } from '../runtime/task.js';

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function line(name: string, labels: Record<string, string>, value: number | bigint): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(',');
  return `${name}{${l}} ${typeof value === 'bigint' ? value.toString() : Number.isFinite(value) ? value : 0}`;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: string[];
}

/** Prometheus text exposition (format 0.0.4) of every task's metrics. */
export async function renderMetrics(tasks: readonly TaskRunner[]): Promise<string> {
  const fam = (name: string, type: Family['type'], help: string): Family => ({ name, type, help, samples: [] });
  const events = fam('tributary_events_total', 'counter', 'Events written to the destination and acknowledged.');
  const heartbeats = fam('tributary_heartbeats_total', 'counter', 'Heartbeats acknowledged (they keep latency and the source position moving when idle).');
  const bytes = fam('tributary_bytes_total', 'counter', 'Bytes (source size estimate) written and acknowledged.');
  const batches = fam('tributary_batches_total', 'counter', 'Batches written and acknowledged.');
  const tableEvents = fam('tributary_table_events_total', 'counter', 'Events acknowledged, by destination table.');
  const tableBytes = fam('tributary_table_bytes_total', 'counter', 'Bytes acknowledged, by destination table.');
  const latency = fam('tributary_latency_seconds', 'gauge', 'How far the destination is behind: now minus the source commit time of the oldest change not yet acknowledged by the destination, or of the last acknowledged one (heartbeats included) when nothing is pending.');
  const state = fam('tributary_task_state', 'gauge', '1 for the state the task is in.');
  const retries = fam('tributary_retries', 'gauge', 'Attempts in the current retry episode, by cause.');
  const rows = fam('tributary_fullsync_rows_done', 'gauge', 'Rows copied by full synchronization.');
  const rowsEst = fam('tributary_fullsync_rows_estimated', 'gauge', 'Estimated rows to copy.');
  const precheck = fam('tributary_precheck_items', 'gauge', 'Precheck items by status.');
  const slot = fam('tributary_postgres_slot_retained_wal_bytes', 'gauge', 'WAL retained by the task\'s replication slot.');
  const healthy = fam('tributary_task_healthy', 'gauge', '1 when the task is healthy (not failed, not retrying).');
  for (const t of tasks) {
    const s = t.status;
    const task = { task: t.id };
    events.samples.push(line(events.name, task, s.counters.events));
    bytes.samples.push(line(bytes.name, task, s.counters.bytes));
    heartbeats.samples.push(line(heartbeats.name, task, s.counters.heartbeats));
    batches.samples.push(line(batches.name, task, s.counters.batches));
    for (const [table, c] of t.tableCounters) {
      tableEvents.samples.push(line(tableEvents.name, { ...task, table }, c.events));
      tableBytes.samples.push(line(tableBytes.name, { ...task, table }, c.bytes));
    }
    if (s.latencyMs !== null) latency.samples.push(line(latency.name, task, s.latencyMs / 1000));
    state.samples.push(line(state.name, { ...task, state: s.state }, 1));
    healthy.samples.push(line(healthy.name, task, s.healthy ? 1 : 0));
    if (s.retry) retries.samples.push(line(retries.name, { ...task, cause: s.retry.cause }, s.retry.attempts));
    rows.samples.push(line(rows.name, task, s.progress.rowsDone));
    rowsEst.samples.push(line(rowsEst.name, task, s.progress.rowsEstimated));
    if (s.precheck) {
      for (const status of ['pass', 'warn', 'fail'] as const) precheck.samples.push(line(precheck.name, { ...task, status }, s.precheck.filter((i) => i.status === status).length));
    }
    const src = t.source as { retainedWalBytes?: () => Promise<bigint | null> };
    if (typeof src.retainedWalBytes === 'function' && s.state !== 'idle') {
      const v = await src.retainedWalBytes().catch(() => null);
      if (v !== null) slot.samples.push(line(slot.name, task, v));
    }
  }
  return [events, heartbeats, bytes, batches, tableEvents, tableBytes, latency, state, healthy, retries, rows, rowsEst, precheck, slot]
    .map((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.samples].join('\n'))
    .join('\n')
    .concat('\n');
}
