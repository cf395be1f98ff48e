import type { PrecheckItem } from '../core/contracts.js';
import type { RowProgress, TaskStatus } from '../runtime/task.js';

const MARK = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;

/** A readable precheck table: status, item, detail, and the fix for what did not pass. */
export function precheckTable(items: readonly PrecheckItem[]): string {
  const w = Math.max(...items.map((i) => i.title.length), 10);
  const lines = [`${'STATUS'.padEnd(6)}  ${'ITEM'.padEnd(w)}  DETAIL`];
  for (const i of items) {
    lines.push(`${MARK[i.status].padEnd(6)}  ${i.title.padEnd(w)}  ${i.detail ?? ''}`);
    if (i.status !== 'pass' && i.fix) lines.push(`${''.padEnd(6)}  ${''.padEnd(w)}  fix: ${i.fix}`);
  }
  return lines.join('\n');
}

/**
 * The rate of a growing count over the last `windowMs` (default 20 s): what an ETA should use, so
 * that a slow start, a pause or a throttle changed on the way does not skew it for the rest of the run.
 */
export class RecentRate {
  private samples: Array<{ at: number; n: number }> = [];
  constructor(private readonly windowMs = 20_000) {}

  /** Records the count `n` at time `at` (ms). A count that went down (a restarted copy) starts over. */
  add(n: number, at = Date.now()): void {
    const last = this.samples[this.samples.length - 1];
    if (last && n < last.n) this.samples = [];
    this.samples.push({ at, n });
    // Keep one sample at or before the window's start, so the window is always covered.
    while (this.samples.length > 2 && (this.samples[1] as { at: number }).at <= at - this.windowMs) this.samples.shift();
  }

  /** Per second over the window; null until two samples at least 1 s apart. */
  perSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 1000) return null;
    return ((last.n - first.n) * 1000) / (last.at - first.at);
  }
}

/** 42 s, 3m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const num = (n: number) => Math.round(n).toLocaleString('en-US');

/** A copy is complete once every chunk of it is copied. */
export function isComplete(p: RowProgress): boolean {
  return p.chunksTotal > 0 && p.chunksDone === p.chunksTotal;
}

/**
 * How full the bar is: rows done over rows estimated (chunks when nothing is estimated), held at
 * 99 % until every chunk is copied (an estimate can be low), and 100 % once they are.
 */
export function barFraction(p: RowProgress): number {
  if (isComplete(p)) return 1;
  const f = p.rowsEstimated > 0 ? p.rowsDone / p.rowsEstimated : p.chunksTotal > 0 ? p.chunksDone / p.chunksTotal : 0;
  return Math.min(0.99, Math.max(0, f));
}

/** Seconds left at `perSecond`, or null when there is no rate or nothing is known to be left. */
export function etaSeconds(p: RowProgress, perSecond: number | null): number | null {
  if (isComplete(p)) return 0;
  if (perSecond === null || perSecond <= 0 || p.rowsEstimated <= p.rowsDone) return null;
  return (p.rowsEstimated - p.rowsDone) / perSecond;
}

/** `42% 21,000/50,000 rows, 1/2 chunks, 2,003 rows/s, ETA 14s`: the figures beside a bar. */
export function rowFigures(p: RowProgress, perSecond: number | null): string {
  const pct = `${Math.floor(barFraction(p) * 100)}%`.padStart(4);
  const eta = etaSeconds(p, perSecond);
  const rate = perSecond === null ? '- rows/s' : `${num(perSecond)} rows/s`;
  return `${pct} ${num(p.rowsDone)}/${p.rowsEstimated > 0 ? num(p.rowsEstimated) : '?'} rows, ${p.chunksDone}/${p.chunksTotal} chunks, ${rate}, ETA ${eta === null ? '-' : formatDuration(eta)}`;
}

/** Tables shown one per line below the total (more would not fit a screen or a log line). */
export const MAX_TABLE_LINES = 8;

/**
 * One progress line: full sync with its figures and an ETA from the recent rate (`rates.get('')`
 * for the total; the average since the phase started when no rate is given), incremental with
 * latency and rates. With `tables`, a line per table follows a full-sync line (up to MAX_TABLE_LINES).
 */
export function progressLine(s: TaskStatus, startedAt: number, eventsAtPhaseStart: number, rates?: ReadonlyMap<string, RecentRate>, tables = false): string {
  const elapsed = Date.now() - startedAt;
  const average = (n: number) => (elapsed >= 1000 ? (n * 1000) / elapsed : null);
  if (s.state === 'full' || s.state.startsWith('full')) {
    const lines = [`full sync ${rowFigures(s.progress, rates ? (rates.get('')?.perSecond() ?? null) : average(s.progress.rowsDone))}`];
    const names = Object.keys(s.progress.tables ?? {});
    if (tables && names.length > 1 && names.length <= MAX_TABLE_LINES) {
      for (const name of names) lines.push(`  ${name} ${rowFigures(s.progress.tables[name] as RowProgress, rates?.get(name)?.perSecond() ?? null)}`);
    }
    return lines.join('\n');
  }
  if (s.state === 'incremental') {
    const lat = s.latencyMs === null ? '-' : `${(s.latencyMs / 1000).toFixed(1)}s`;
    const events = s.counters.events - eventsAtPhaseStart;
    const rate = average(events);
    return `incremental: latency ${lat}, ${num(events)} events (${rate === null ? '-' : num(rate)}/s), position ${s.position ?? '-'}`;
  }
  return `state: ${s.state}${s.lastError ? ` (last error: ${s.lastError.message})` : ''}`;
}

/** Feeds a full-sync status into per-table rates ('' is the total). */
export function sampleRates(rates: Map<string, RecentRate>, s: TaskStatus, at = Date.now()): void {
  const add = (key: string, n: number) => {
    let r = rates.get(key);
    if (!r) rates.set(key, (r = new RecentRate()));
    r.add(n, at);
  };
  add('', s.progress.rowsDone);
  for (const [name, t] of Object.entries(s.progress.tables ?? {})) add(name, t.rowsDone);
}
