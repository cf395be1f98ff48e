/**
 * A task's status projection: the counters of what the destination acknowledged, the destination
 * lag, the full-sync progress, and the one plain `TaskStatus` object made of them and the task
 * machine's snapshot. No I/O and no control: the task's coordinator feeds it acknowledged batches
 * and asks it for the status.
 */
import type { SnapshotFrom } from 'xstate';
import type { ChunkState, ThrottleSettings } from '../../machines/index.js';
import type { taskMachine } from '../../machines/index.js';
import type { PrecheckItem } from '../core/contracts.js';
import { DestinationLag } from './destinationLag.js';
import type { AckedBatch } from './pipeline.js';

/** What a task has delivered since it was added to this runtime (counts start at 0 in every process). */
export interface TaskCounters {
  /** Changes written and acknowledged (heartbeats excluded). */
  events: number;
  /** Heartbeats acknowledged. */
  heartbeats: number;
  /** Bytes acknowledged (size estimates of the events). */
  bytes: number;
  /** Batches acknowledged. */
  batches: number;
  /** Rows of full synchronization acknowledged. */
  snapshotRows: number;
  /** Commit time of the last acknowledged event (heartbeats included), Unix ms. */
  lastCommitTime: number | null;
  /** When the destination last acknowledged a batch, Unix ms. */
  lastAckAt: number | null;
}

/** Rows and chunks of a full synchronization (a task's, or one table's). */
export interface RowProgress {
  rowsDone: number;
  rowsEstimated: number;
  chunksDone: number;
  chunksTotal: number;
}

/** Full-sync progress: the totals, and the same figures per source table (they add up to the totals). */
export interface FullSyncProgress extends RowProgress {
  tables: Record<string, RowProgress>;
}

/** Progress from the full-sync actor's chunks (see `TaskStatus.progress`). */
export function progressOfChunks(chunks: readonly ChunkState[]): FullSyncProgress {
  const total: FullSyncProgress = { rowsDone: 0, rowsEstimated: 0, chunksDone: 0, chunksTotal: 0, tables: {} };
  for (const c of chunks) {
    const done = c.status === 'done';
    const estimate = done ? c.rows : Math.max(c.estimatedRows, c.rows);
    const table = (total.tables[c.table] ??= { rowsDone: 0, rowsEstimated: 0, chunksDone: 0, chunksTotal: 0 });
    for (const p of [total, table]) {
      p.rowsDone += c.rows;
      p.rowsEstimated += estimate;
      p.chunksTotal += 1;
      if (done) p.chunksDone += 1;
    }
  }
  return total;
}

/**
 * A task's state as one plain, JSON-serializable object: what `TaskRunner.status` returns,
 * `TaskRunner.status$` and `Runtime.status$` emit on every change, and `GET /tasks/:id` shows.
 *
 * @example
 * ```ts
 * task.status$.subscribe((s) => {
 *   if (s.lastError) console.error(s.taskId, s.state, s.lastError.code, s.lastError.fix);
 *   else console.log(s.taskId, s.phase, `${s.progress.rowsDone}/${s.progress.rowsEstimated} rows`, s.latencyMs);
 * });
 * await task.waitFor((s) => s.phase === 'incremental');
 * ```
 */
export interface TaskStatus {
  /** The task's name. */
  taskId: string;
  /** The machine's state, e.g. `incremental`, `retrying.waiting`, `failed`. */
  state: string;
  /** The phase last entered (`prechecking`, `schema`, `full`, `incremental`); null before the first start. */
  phase: string | null;
  /**
   * Not failed, not retrying, prechecks passed; after a failure, only once the destination
   * acknowledged writes again (what `/readyz` reports).
   */
  healthy: boolean;
  /** The last error, with its stable code, kind (`connection`, `other`, `fatal`) and fix; never secrets. */
  lastError: { code: string; kind: string; message: string; fix?: string } | null;
  /** The retry episode under way: its cause, the deadline (Unix ms) after which the task fails, attempts so far. */
  retry: { cause: string; deadline: number; attempts: number } | null;
  /**
   * Full synchronization, in total and per source table: rows acknowledged by the destination
   * (counted as batches are acknowledged, not when a chunk finishes), rows estimated, chunks copied
   * and planned. A copied chunk counts its exact rows in place of its estimate, and a chunk still
   * copying at least the rows it acknowledged, so `rowsEstimated` never stays below `rowsDone` and
   * equals it once every chunk is copied.
   */
  progress: FullSyncProgress;
  /** The items of the last precheck; null before one ran. */
  precheck: PrecheckItem[] | null;
  /** What was delivered since the task was added. */
  counters: TaskCounters;
  /**
   * How far the destination is behind the source, ms: now minus the commit time of the oldest
   * change read and not yet acknowledged by the destination, or of the last acknowledged one
   * (heartbeats included) when nothing is pending. Null before anything was read.
   */
  latencyMs: number | null;
  /** The source position up to which the destination acknowledged everything, as last checkpointed (encoded); null before. */
  position: string | null;
  /** The limits in force; a field left out is unlimited. */
  throttle: ThrottleSettings;
}

/** A destination that acknowledged nothing for this long while writes wait makes the task unhealthy. */
export const STALL_MS = 30_000;

function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [k, v] = Object.entries(value)[0] ?? ['?', undefined];
    return v === undefined ? k : `${k}.${stateText(v)}`;
  }
  return String(value);
}

/** What the projection needs of the task besides the machine's snapshot. */
export interface StatusFacts {
  taskId: string;
  /** How long the destination has acknowledged nothing while writes wait (`TaskRunner.stalledMs`). */
  stalledMs: number;
  /** Beyond this stall the task is unhealthy. */
  stallLimitMs: number;
  /** The checkpointed position, encoded. */
  position: string | null;
}

export class StatusProjection {
  /** What was acknowledged since the task was added. */
  readonly counters: TaskCounters = { heartbeats: 0, events: 0, bytes: 0, batches: 0, snapshotRows: 0, lastCommitTime: null, lastAckAt: null };
  /** Events and bytes acknowledged per destination table. */
  readonly tableCounters = new Map<string, { events: number; bytes: number }>();
  /** How far the destination is behind the source. */
  readonly lag = new DestinationLag();
  /** Full-sync progress as last read from the fullSync actor; kept after the phase ended. */
  private fullProgress: FullSyncProgress | null = null;

  /** Counts an acknowledged batch. */
  count(a: AckedBatch): void {
    for (const [table, c] of a.byTable) {
      const t = this.tableCounters.get(table);
      if (t) {
        t.events += c.events;
        t.bytes += c.bytes;
      } else this.tableCounters.set(table, { ...c });
    }
    this.counters.events += a.events;
    this.counters.heartbeats += a.heartbeats;
    this.counters.bytes += a.bytes;
    this.counters.batches += 1;
    this.counters.lastCommitTime = a.last.commitTime;
    this.counters.lastAckAt = Date.now();
  }

  /**
   * Full-sync progress from the chunks of the running fullSync actor (rows as acknowledged); once
   * it ended, the last figures it had; before any full sync, the task machine's counters.
   */
  private fullSyncProgress(snap: SnapshotFrom<typeof taskMachine>): FullSyncProgress {
    const chunks = (snap.children.fullSync?.getSnapshot() as { context?: { chunks?: ChunkState[] } } | undefined)?.context?.chunks;
    if (chunks) this.fullProgress = progressOfChunks(chunks);
    const p = snap.context.progress;
    return this.fullProgress ?? { rowsDone: p.rowsDone, rowsEstimated: p.rowsEstimated, chunksDone: p.chunksDone, chunksTotal: p.chunksTotal, tables: {} };
  }

  /** The task's status at this machine snapshot. */
  status(snap: SnapshotFrom<typeof taskMachine>, facts: StatusFacts): TaskStatus {
    const c = snap.context;
    const state = stateText(snap.value);
    return {
      taskId: facts.taskId,
      state,
      phase: c.phase,
      // A phase entered again after a failure is not healthy until the destination acknowledged writes.
      healthy: !['failed', 'precheckFailed', 'releaseFailed'].includes(state) && !state.startsWith('retrying') && c.retry === null && facts.stalledMs < facts.stallLimitMs,
      lastError: c.lastError ? { code: c.lastError.code, kind: c.lastError.kind, message: c.lastError.message, ...(c.lastError.fix ? { fix: c.lastError.fix } : {}) } : null,
      retry: c.retry ? { cause: c.retry.cause, deadline: c.retry.deadline, attempts: c.retry.attempts } : null,
      progress: this.fullSyncProgress(snap),
      precheck: c.precheck?.items ?? null,
      counters: { ...this.counters },
      latencyMs: this.lag.lagMs(Date.now()),
      position: facts.position,
      throttle: c.throttle,
    };
  }
}
