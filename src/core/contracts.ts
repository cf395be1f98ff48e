import type { Observable } from 'rxjs';
import type { Batch } from './batch.js';
import type { ChangeEvent, TableRef, TableShape } from './events.js';
import type { Position } from './position.js';

/** One precheck result. `warn` items can be ignored by the user; `fail` items block the task. */
export interface PrecheckItem {
  id: string;
  /** 'connectivity' items run first. */
  group: 'connectivity' | 'source' | 'destination';
  title: string;
  status: 'pass' | 'warn' | 'fail';
  /** What was found, naming the object. */
  detail?: string;
  /** What to do about it. */
  fix?: string;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** One unit of full-sync work: a slice of one table, resumable on its own. */
export interface SnapshotChunk {
  id: string;
  table: TableRef;
  /** Source-specific bounds (ctid page range, key range, `_id` range), JSON-serializable. */
  bounds: unknown;
  estimatedRows?: number;
  /**
   * The physical layout the bounds refer to, when they depend on one (PostgreSQL: the heap's
   * relfilenode, which VACUUM FULL, CLUSTER or TRUNCATE replace). A resumed copy reuses a
   * persisted chunk only while its table's generation is unchanged; otherwise the table is copied
   * again from a fresh plan.
   */
  generation?: string;
}

export interface SnapshotPlan {
  chunks: readonly SnapshotChunk[];
  /** Where incremental sync starts so that it covers every write made during the copy. */
  streamFrom: Position;
}

/** Pausing the reader when the destination falls behind (bounded in-flight window). */
export interface FlowControl {
  /** Resolves immediately when there is room, or later when acks made room. */
  waitForRoom(): Promise<void> | undefined;
}

export interface Source {
  readonly kind: string;
  precheck(): Promise<PrecheckItem[]>;
  /** Prepares replication (slot, publication, helper objects) and plans the copy. */
  prepare(opts: { full: boolean }): Promise<SnapshotPlan>;
  /** Reads one chunk of the initial copy. */
  snapshot(chunk: SnapshotChunk, flow?: FlowControl): Observable<ChangeEvent>;
  /** Streams changes after `from`; heartbeats included. */
  stream(from: Position, flow: FlowControl): Observable<ChangeEvent>;
  /** Confirms that everything up to `upTo` is durable at the destination. */
  confirm(upTo: Position): Promise<void>;
  decodePosition(text: string): Position;
  /** Ends connections; keeps the slot (a task restart resumes from it). */
  close(): Promise<void>;
  /** Removes slot, publication and helper objects. */
  release(): Promise<void>;
  /** Known table shapes, for destinations that create objects. */
  shapes?(): Promise<TableShape[]>;
}

export interface Sink {
  readonly kind: string;
  precheck(): Promise<PrecheckItem[]>;
  /** Resolves when every item of the batch is durable at the destination (as configured). */
  write(batch: Batch<ChangeEvent>): Promise<void>;
  close(): Promise<void>;
}
