import type { Observable } from 'rxjs';
import type { Batch } from './batch.js';
import type { ChangeEvent, TableRef, TableShape } from './events.js';
import type { Position } from './position.js';
import type { Checkpoint } from '../checkpoints/store.js';

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

/**
 * Where Tributary logs: four levels, a message and structured fields. `createLogger` makes
 * one (pino, secrets masked); any object with these methods will do.
 *
 * @example
 * ```ts
 * const logger: Logger = {
 *   debug: () => {},
 *   info: (msg, fields) => console.log(msg, fields ?? {}),
 *   warn: (msg, fields) => console.warn(msg, fields ?? {}),
 *   error: (msg, fields) => console.error(msg, fields ?? {}),
 * };
 * const runtime = createRuntime({ logger });
 * ```
 */
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
  /**
   * A read view another process exported (`Source.exportedSnapshot()` of the task's owner), opaque
   * to the runtime: a chunk a cluster worker copies for the task's owner is read in it, consistent
   * with the owner's other chunks. A source that can no longer use it reads without it (at least once).
   * Never part of a persisted plan.
   */
  snapshot?: string;
}

/** What `Source.prepare` returns: the chunks of the initial copy and where streaming starts after it. */
export interface SnapshotPlan {
  chunks: readonly SnapshotChunk[];
  /** Where incremental sync starts so that it covers every write made during the copy. */
  streamFrom: Position;
}

/** Pausing the reader when the destination falls behind (bounded in-flight window). */
export interface FlowControl {
  /** Resolves immediately when there is room, or later when acks made room. */
  waitForRoom(): Promise<void> | undefined;
  /**
   * Awaited by a full-sync reader before each query it sends to the source (`throttle.full.sourceQps`):
   * resolves when the task's query rate allows the next one. Absent: unlimited.
   */
  beforeQuery?(): Promise<void> | undefined;
}

/**
 * A source database as the runtime drives it: prechecks, full-sync chunks, the change stream, and
 * confirming positions the destination made durable. Implementations: `PostgresSource`, the
 * MongoDB source; a new one is registered in a `Registry` under `source.type`.
 */
export interface Source {
  /** The source type, e.g. `postgres`, `mongodb`. */
  readonly kind: string;
  precheck(): Promise<PrecheckItem[]>;
  /** Prepares replication (slot, publication, helper objects) and plans the copy. */
  prepare(opts: { full: boolean }): Promise<SnapshotPlan>;
  /** Reads one chunk of the initial copy. */
  snapshot(chunk: SnapshotChunk, flow?: FlowControl): Observable<ChangeEvent>;
  /**
   * The consistent read view full-sync chunks are read in, as a token another process can read a
   * chunk in (`SnapshotChunk.snapshot`); null when there is none now (the exporting connection
   * ended, or a resumed copy). Sources without a shareable view leave it out.
   */
  exportedSnapshot?(): string | null;
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
  /**
   * Bytes of change log the source keeps for the task (a PostgreSQL slot's retained WAL), for the
   * lag metrics; null when unknown. Sources without such a log leave it out.
   */
  retainedWalBytes?(): Promise<bigint | null>;
  /**
   * The definitions of the selected objects (for MongoDB: collection options and indexes), for
   * destinations that create objects (`syncTypes.schema`). Opaque to the runtime.
   */
  objectDefinitions?(): Promise<ObjectDefinition[]>;
}

/** What a destination declares about itself. */
export interface SinkCapabilities {
  /**
   * Batches the pipeline may hand to `write` before the first one is acknowledged; the sink keeps
   * them in order (1: one after the other).
   */
  maxInFlightWrites: number;
  /**
   * Data and the task's checkpoint are committed together (exactly-once): the runtime recovers the
   * checkpoint with `recover()`, drops replayed events at or before its position, and never saves
   * positions on its own.
   */
  transactional: boolean;
}

/** What a precheck may need to know about the task. */
export interface PrecheckContext {
  /** The task resumes from its own checkpoint: its earlier output at the destination is no conflict. */
  resuming: boolean;
}

/**
 * A destination as the runtime drives it: batches in, acknowledgement out. Implementations:
 * `KafkaSink`, the MongoDB sink; a new one is registered in a `Registry`.
 */
export interface Sink {
  /** The destination type, e.g. `kafka`, `mongodb`. */
  readonly kind: string;
  /** What the runtime may rely on; it reads these, it never probes the sink. */
  readonly capabilities: SinkCapabilities;
  /** Checks the destination before the task starts (reachable, topics or permissions). */
  precheck(context?: PrecheckContext): Promise<PrecheckItem[]>;
  /**
   * Transactional sinks (`capabilities.transactional`): takes over the destination (fencing an
   * older writer of the same task) and returns the checkpoint committed with the data, null when
   * none. The runtime loads the checkpoint only through it.
   */
  recover?(): Promise<Checkpoint | null>;
  /**
   * Schema synchronization (`syncTypes.schema`): creates the destination objects of the source's
   * definitions, under their destination names. Sinks without a schema leave it out (and
   * validation refuses the option for them).
   */
  createObjects?(definitions: readonly ObjectDefinition[], destinationName: (ref: TableRef) => TableRef): Promise<void>;
  /** Facts about the sink's own machinery for the metrics, as numbers (e.g. `{ kafka_fast_path: 1 }`). */
  diagnostics?(): Record<string, number>;
  /** Resolves when every item of the batch is durable at the destination (as configured). */
  write(batch: Batch<ChangeEvent>): Promise<void>;
  /**
   * Optional: a batch that the sink encodes while the pipeline fills it, so each event is garbage
   * as soon as it was added instead of waiting in memory until its batch is full (on a busy
   * pipeline that wait outlives young-generation collections and every event gets copied into
   * the old generation). Null when the sink cannot now; the pipeline then uses `write`.
   */
  openBatch?(): OpenBatch | null;
  close(): Promise<void>;
}

/** A batch being filled: see `Sink.openBatch`. */
export interface OpenBatch {
  /** Takes one event (encodes it now). An event the sink cannot write fails `write`, never `add`. */
  add(event: ChangeEvent): void;
  /** Writes every event added; resolves when they are durable at the destination, as `Sink.write`. */
  write(): Promise<void>;
}

/** Where one table's changes go at a destination that routes them: its own topic, its partition key columns. */
export interface TableRoute {
  topic?: string;
  partitionKey?: readonly string[];
}

/** One source object's definition for schema synchronization: its name and what the source says of it. */
export interface ObjectDefinition {
  ref: TableRef;
  /** Source-specific (MongoDB: `{ options, indexes }` from listCollections / listIndexes). */
  definition: unknown;
}
