/**
 * A cluster worker helping other workers' full syncs: it claims chunks their owners offer in the
 * chunks topic (at most `capacity` at a time), copies the ones it wins into the task's destination
 * (read in the owner's exported snapshot), says it is alive while it copies and reports each chunk
 * done with its rows, or failed. The owner records the chunk; nothing here touches a checkpoint.
 *
 * A copy stops when the owner cancels the attempt (or offers the chunk again), when this worker
 * could not say it is alive for most of `silenceMs` (the owner is about to give up on it), or when
 * the worker stops or loses its membership.
 */
import type { SnapshotChunk } from '../core/contracts.js';
import { Aborted, abortable, until, type ChunkChannel } from './chunkChannel.js';
import { offerKey, type ChunkOfferRecord, type ChunkRef } from './chunkOffers.js';

/** Copies chunks of one task for its owner (the worker's own instance of the task's source and sink). */
export interface ChunkCopier {
  copyRows(chunk: SnapshotChunk, signal: AbortSignal): Promise<number>;
  /** This copy is over (the copier may close its connections once nobody uses it). */
  release(): void;
}

export interface HelperOptions {
  /** Chunks copied at once for other workers' tasks (0: this worker does not help). */
  capacity: number;
  /** How long the owner waits for an alive record before it gives up on this worker. */
  silenceMs: number;
  /** How often an alive record is written while a chunk is copied. */
  aliveEveryMs: number;
  /** The worker that owns `task` by the latest assignment, null when none. */
  ownerOf(task: string): string | null;
  /** True while this worker may help (started, in the group, its lease fresh). */
  active(): boolean;
  /** A copier for `task` (null: this worker cannot run it, e.g. the task is unknown here). */
  copier(task: string): ChunkCopier | null;
}

export class ChunkHelper {
  private busy = 0;
  private readonly tried = new Set<string>();
  private readonly copies = new Set<AbortController>();
  private stopBoard: (() => void) | null = null;
  /** Offers are looked at on every record read, and every second (this worker may have become active since). */
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ch: ChunkChannel,
    private readonly opts: HelperOptions,
  ) {}

  start(): void {
    if (this.opts.capacity <= 0 || this.stopBoard) return;
    this.stopBoard = this.ch.board.onChange(() => this.look());
    this.timer = setInterval(() => this.look(), 1000);
  }

  stop(): void {
    this.stopBoard?.();
    this.stopBoard = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const c of this.copies) c.abort();
  }

  /** Claims open offers while this worker has room. */
  private look(): void {
    if (!this.stopBoard || !this.opts.active()) return;
    for (const offer of this.ch.board.open()) {
      if (this.busy >= this.opts.capacity) return;
      const key = offerKey({ task: offer.task, run: offer.run, chunkId: offer.chunk.id, attempt: offer.attempt });
      if (offer.owner === this.ch.workerId || this.tried.has(key) || this.opts.ownerOf(offer.task) !== offer.owner) continue;
      this.tried.add(key);
      this.busy += 1;
      void this.take(offer).finally(() => {
        this.busy -= 1;
        this.look();
      });
    }
  }

  private async take(offer: ChunkOfferRecord): Promise<void> {
    const ref: ChunkRef = { task: offer.task, run: offer.run, chunkId: offer.chunk.id, attempt: offer.attempt };
    const ac = new AbortController();
    this.copies.add(ac);
    const me = this.ch.workerId;
    try {
      await this.ch.publish([{ type: 'claim', ...ref, worker: me, at: Date.now() }]);
      const winner = await until(this.ch.board, () => this.ch.board.get(ref)?.winner ?? (this.ch.board.get(ref) ? undefined : ''), ac.signal);
      if (winner !== me) return;
      const copier = this.opts.copier(offer.task);
      if (!copier) {
        await this.ch.publish([{ type: 'done', ...ref, worker: me, error: `worker ${me} cannot run task ${offer.task}`, at: Date.now() }]);
        return;
      }
      await this.copy(offer, ref, copier, ac);
    } catch (err) {
      if (!(err instanceof Aborted)) this.ch.logger.warn('cluster: could not take a full-sync chunk', { task: offer.task, chunk: offer.chunk.id, error: (err as Error).message });
    } finally {
      this.copies.delete(ac);
      this.tried.delete(offerKey(ref));
    }
  }

  private async copy(offer: ChunkOfferRecord, ref: ChunkRef, copier: ChunkCopier, ac: AbortController): Promise<void> {
    const me = this.ch.workerId;
    let saidAlive = Date.now();
    let saying = false;
    const tick = setInterval(() => {
      if (this.ch.board.superseded(ref) || !this.opts.active() || Date.now() - saidAlive > this.opts.silenceMs - this.opts.aliveEveryMs) {
        ac.abort();
        return;
      }
      if (saying) return;
      saying = true;
      const at = Date.now();
      this.ch
        .publish([{ type: 'alive', ...ref, worker: me, at }])
        .then(() => (saidAlive = at), () => undefined)
        .finally(() => (saying = false));
    }, this.opts.aliveEveryMs);
    const started = Date.now();
    try {
      const chunk: SnapshotChunk = { ...offer.chunk, ...(offer.snapshot !== null ? { snapshot: offer.snapshot } : {}) };
      const rows = await abortable(copier.copyRows(chunk, ac.signal), ac.signal);
      clearInterval(tick);
      await this.ch.publish([{ type: 'done', ...ref, worker: me, rows, at: Date.now() }]);
      this.ch.logger.info('cluster: copied a full-sync chunk for its owner', { task: offer.task, chunk: offer.chunk.id, owner: offer.owner, rows, ms: Date.now() - started, snapshot: offer.snapshot !== null });
    } catch (err) {
      clearInterval(tick);
      if (err instanceof Aborted) {
        this.ch.logger.warn('cluster: stopped copying a full-sync chunk for its owner', { task: offer.task, chunk: offer.chunk.id, owner: offer.owner });
        return;
      }
      this.ch.logger.warn('cluster: copying a full-sync chunk for its owner failed', { task: offer.task, chunk: offer.chunk.id, error: (err as Error).message });
      await this.ch.publish([{ type: 'done', ...ref, worker: me, error: (err as Error).message, at: Date.now() }]).catch(() => undefined);
    } finally {
      ac.abort(); // ends a copy still running (an aborted read closes its connection)
      copier.release();
    }
  }
}
