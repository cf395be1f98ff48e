import type { PrecheckItem } from '../core/contracts.js';
import type { TaskStatus } from '../runtime/task.js';

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

function rate(n: number, ms: number): string {
  return ms > 0 ? `${Math.round((n * 1000) / ms)}/s` : '-';
}

/** One progress line: full sync with a bar and ETA, incremental with latency and rates. */
export function progressLine(s: TaskStatus, startedAt: number, eventsAtPhaseStart: number): string {
  const elapsed = Date.now() - startedAt;
  if (s.state === 'full' || s.state.startsWith('full')) {
    const { rowsDone, rowsEstimated, chunksDone, chunksTotal } = s.progress;
    const frac = rowsEstimated > 0 ? Math.min(1, rowsDone / rowsEstimated) : chunksTotal > 0 ? chunksDone / chunksTotal : 0;
    const bar = '#'.repeat(Math.round(frac * 30)).padEnd(30, '.');
    const perSec = elapsed > 0 ? (rowsDone * 1000) / elapsed : 0;
    const eta = perSec > 0 && rowsEstimated > rowsDone ? `${Math.ceil((rowsEstimated - rowsDone) / perSec)}s` : '-';
    return `full sync [${bar}] ${rowsDone}/${rowsEstimated || '?'} rows, ${chunksDone}/${chunksTotal} chunks, ${rate(rowsDone, elapsed)}, ETA ${eta}`;
  }
  if (s.state === 'incremental') {
    const lat = s.latencyMs === null ? '-' : `${(s.latencyMs / 1000).toFixed(1)}s`;
    return `incremental: latency ${lat}, ${s.counters.events - eventsAtPhaseStart} events (${rate(s.counters.events - eventsAtPhaseStart, elapsed)}), position ${s.position ?? '-'}`;
  }
  return `state: ${s.state}${s.lastError ? ` (last error: ${s.lastError.message})` : ''}`;
}
