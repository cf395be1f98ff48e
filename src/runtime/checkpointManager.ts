/**
 * A task's checkpoint manager: the one place that reads and writes the task's {@link Checkpoint}.
 * It loads it when the task starts or resumes (from the store, or through the sink's `recover()`
 * when the sink commits positions with its data), keeps the full-sync plan and the chunks copied,
 * saves the acknowledged position on confirm, and removes the checkpoint when the task is
 * released. No control and no source or sink I/O besides `recover()`: the task's coordinator
 * tells it what happened and asks it where to start.
 *
 * A save that fails (e.g. `CHECKPOINT_WRITE_FAILED` from the file store) rejects: the coordinator
 * then neither confirms the position to the source nor counts it as progress.
 */
import type { Checkpoint, CheckpointStore } from '../checkpoints/index.js';
import { emptyCheckpoint } from '../checkpoints/index.js';
import type { Logger, Sink, SnapshotChunk } from '../core/contracts.js';
import { FatalError } from '../core/errors.js';
import type { Position } from '../core/position.js';
import { resumePlan } from './resumePlan.js';

export interface CheckpointManagerDeps {
  taskId: string;
  store: CheckpointStore;
  /** The task's sink: its capabilities say whether positions are committed with the data. */
  sink: Pick<Sink, 'kind' | 'capabilities' | 'recover'>;
  logger: Logger;
}

export class CheckpointManager {
  private checkpoint: Checkpoint;
  private loaded = false;
  /** Exactly-once: the sink closed since the last load, so the committed checkpoint is read again. */
  private stale = false;

  constructor(private readonly deps: CheckpointManagerDeps) {
    this.checkpoint = emptyCheckpoint(deps.taskId);
  }

  /** True when the sink commits data and checkpoint together (it says so in its capabilities). */
  get exactlyOnce(): boolean {
    return this.deps.sink.capabilities.transactional;
  }

  /** The checkpoint as it stands (what a transactional sink commits with its data). */
  get current(): Checkpoint {
    return this.checkpoint;
  }

  /** A transactional sink committed `cp` with its data: its position is now the task's. */
  committed(cp: Checkpoint): void {
    if (cp.position !== undefined) this.checkpoint.position = cp.position;
    this.checkpoint.updatedAt = cp.updatedAt;
  }

  /** The contiguous acknowledged position of incremental sync, as saved (encoded). */
  get position(): string | undefined {
    return this.checkpoint.position;
  }

  /** The task resumes from its own checkpoint (it has a stream start or a position). */
  get resuming(): boolean {
    return this.checkpoint.streamFrom !== undefined || this.checkpoint.position !== undefined;
  }

  /** True once full sync finished. */
  get fullDone(): boolean | undefined {
    return this.checkpoint.fullDone;
  }

  /** Rows recorded for a copied chunk of the plan; undefined when it was not copied yet. */
  rowsCopied(chunkId: string): number | undefined {
    return this.checkpoint.chunksDone[chunkId];
  }

  /**
   * Loads the checkpoint once. Exactly-once: takes over the transactional id first (fencing a dead
   * writer, aborting its open transaction), then reads the last committed checkpoint; and again
   * after every {@link sinkClosed}, because another writer may have taken the id over and committed
   * since (a cluster's new owner): what Kafka committed is where the task stands, never the copy
   * held here, and the sink's `recover()` is where ownership is checked.
   */
  async load(): Promise<void> {
    if (this.loaded && !this.stale) return;
    const sink = this.deps.sink;
    const recover = this.exactlyOnce ? sink.recover?.bind(sink) : undefined;
    if (this.exactlyOnce && !recover) throw new FatalError('SINK_CONTRACT', `The ${sink.kind} sink declares transactional writes but has no recover().`, { object: sink.kind });
    this.checkpoint = (recover ? await recover() : await this.deps.store.load(this.deps.taskId)) ?? emptyCheckpoint(this.deps.taskId);
    this.loaded = true;
    this.stale = false;
  }

  /** The sink closed its connections (the task stopped, paused or retries): see {@link load}. */
  sinkClosed(): void {
    if (this.exactlyOnce) this.stale = true;
  }

  /** Writes the checkpoint; rejects when the store cannot (nothing is then confirmed). */
  async save(): Promise<void> {
    this.checkpoint.updatedAt = Date.now();
    await this.deps.store.save(this.checkpoint);
  }

  /** True when incremental sync knows where to begin (a saved position or stream start). */
  get hasStart(): boolean {
    return Boolean(this.checkpoint.position || this.checkpoint.streamFrom);
  }

  /** Records where incremental sync begins (first start, incremental only) and saves it. */
  async recordStreamFrom(streamFrom: Position): Promise<void> {
    this.checkpoint.streamFrom = streamFrom.encode();
    await this.save();
  }

  /**
   * Full sync is planned: keeps the stream start when none was recorded, and the plan first made
   * (a resumed copy runs it: chunks recorded as copied keep their bounds; chunks that no longer
   * hold are forgotten). Saves, and returns the chunks to run.
   */
  async adoptPlan(streamFrom: Position, fresh: readonly SnapshotChunk[]): Promise<SnapshotChunk[]> {
    if (!this.checkpoint.streamFrom) this.checkpoint.streamFrom = streamFrom.encode();
    const resumed = resumePlan(this.checkpoint.plan, fresh);
    for (const id of resumed.discarded) delete this.checkpoint.chunksDone[id];
    for (const r of resumed.replanned) this.deps.logger.warn('full sync of a table starts over', { task: this.deps.taskId, table: r.table, reason: r.reason });
    this.checkpoint.plan = resumed.chunks;
    await this.save();
    return resumed.chunks;
  }

  /** A chunk was copied and acknowledged: records its rows and saves. */
  async chunkCopied(chunkId: string, rows: number): Promise<void> {
    this.checkpoint.chunksDone[chunkId] = rows;
    await this.save();
  }

  /**
   * Incremental sync begins: full sync (when the task has one) is marked done and the plan is
   * dropped, saved when that changed anything.
   */
  async endFullSync(syncFull: boolean): Promise<void> {
    if ((syncFull && !this.checkpoint.fullDone) || this.checkpoint.plan) {
      if (syncFull) this.checkpoint.fullDone = true;
      delete this.checkpoint.plan;
      await this.save();
    }
  }

  /** Where the stream starts (encoded): the saved position, else the recorded stream start. */
  streamStart(): string {
    return (this.checkpoint.position ?? this.checkpoint.streamFrom) as string;
  }

  /**
   * Exactly-once: the stream replays events the destination already committed with the position;
   * they are dropped through `from`. Null when nothing is to be dropped.
   */
  replayedThrough(from: Position): Position | null {
    return this.exactlyOnce && this.checkpoint.position ? from : null;
  }

  /**
   * The acknowledged watermark, before it is confirmed to the source: saved as the position.
   * Exactly-once commits the position with the data; a separate save could move it backwards.
   */
  async recordPosition(watermark: Position): Promise<void> {
    if (this.exactlyOnce) return;
    this.checkpoint.position = watermark.encode();
    await this.save();
  }

  /** The task is released: its checkpoint is removed from the store. */
  async release(): Promise<void> {
    await this.deps.store.delete(this.deps.taskId);
  }
}
