/**
 * The chunk board: what the cluster's chunks topic (`<group>-chunks`, one partition, compacted)
 * says about the full-sync chunks task owners offer to the other workers. Pure bookkeeping, no I/O:
 * every worker applies the topic's records in order and reaches the same answers.
 *
 * - An owner offers a chunk it cannot start at once (`offer`, one per attempt).
 * - Workers, the owner included, claim it (`claim`); the first claim in the topic's order wins, so
 *   every reader agrees on the winner without another round trip.
 * - The winner says it is alive while it copies (`alive`) and reports the chunk `done` (rows) or
 *   failed (`error`). The owner records it in the task's checkpoint.
 * - An owner that gives up on an attempt (the winner silent or gone, or the task stopped) `cancel`s
 *   it: a late helper stops copying it.
 */
import type { SnapshotChunk } from '../core/contracts.js';

interface ChunkRef {
  task: string;
  /** One task runner's full sync on its owner (a new owner, or the task restarted: a new run). */
  run: string;
  chunkId: string;
  attempt: number;
}

export type ChunkRecord =
  | (Omit<ChunkRef, 'chunkId'> & { type: 'offer'; chunk: SnapshotChunk; owner: string; snapshot: string | null; at: number })
  | (ChunkRef & { type: 'claim' | 'alive'; worker: string; at: number })
  | (ChunkRef & { type: 'done'; worker: string; rows?: number; error?: string; at: number })
  | (ChunkRef & { type: 'cancel'; at: number });

export type ChunkOfferRecord = Extract<ChunkRecord, { type: 'offer' }>;

/** One offered attempt as the board knows it. */
export interface OfferState {
  offer: ChunkOfferRecord;
  /** The first claimant (in the topic's order). */
  winner?: string;
  /** Every worker that claimed it (their claim records are deleted with the attempt). */
  claimants: string[];
  /** When this worker last read a claim or alive record of the winner (its own clock). */
  heardAt?: number;
  done?: { rows?: number; error?: string; worker: string };
  cancelled: boolean;
}

export type { ChunkRef };

function refOf(r: ChunkRecord): ChunkRef {
  return r.type === 'offer' ? { task: r.task, run: r.run, chunkId: r.chunk.id, attempt: r.attempt } : r;
}

/** Where one attempt's records live: `<kind>/<task>/<run>/<chunk>/<attempt>[/<worker>]`. */
export function chunkRecordKey(r: ChunkRecord): string {
  const ref = refOf(r);
  const base = `${r.type}/${offerKey(ref)}`;
  return r.type === 'claim' ? `${base}/${r.worker}` : base;
}

/** The board's key of one attempt. */
export function offerKey(ref: ChunkRef): string {
  return `${ref.task}/${ref.run}/${ref.chunkId}/${ref.attempt}`;
}

export class ChunkBoard {
  private readonly offers = new Map<string, OfferState>();
  /** The latest run per task (the one of its latest offer): older runs' offers are not claimable. */
  private readonly runs = new Map<string, string>();
  private readonly listeners = new Set<() => void>();

  /** Applies one record of the topic, read at `now` (this worker's clock). */
  apply(r: ChunkRecord, now: number): void {
    const key = offerKey(refOf(r));
    if (r.type === 'offer') {
      this.runs.set(r.task, r.run);
      if (!this.offers.has(key)) this.offers.set(key, { offer: r, claimants: [], cancelled: false });
    } else {
      const s = this.offers.get(key);
      if (!s) return; // forgotten (its offer compacted away): nothing to decide
      if (r.type === 'claim') {
        s.winner ??= r.worker;
        if (!s.claimants.includes(r.worker)) s.claimants.push(r.worker);
        if (s.winner === r.worker) s.heardAt = now;
      } else if (r.type === 'alive') {
        if (s.winner === r.worker) s.heardAt = now;
      } else if (r.type === 'done') {
        if (s.winner === r.worker && !s.done) s.done = { worker: r.worker, ...(r.rows !== undefined ? { rows: r.rows } : {}), ...(r.error !== undefined ? { error: r.error } : {}) };
      } else {
        s.cancelled = true;
      }
    }
    for (const l of [...this.listeners]) l();
  }

  get(ref: ChunkRef): OfferState | undefined {
    return this.offers.get(offerKey(ref));
  }

  /** Offers nobody claimed, not cancelled, of each task's latest run, oldest first. */
  open(): ChunkOfferRecord[] {
    return [...this.offers.values()].filter((s) => !s.winner && !s.cancelled && this.runs.get(s.offer.task) === s.offer.run).map((s) => s.offer);
  }

  /**
   * True when the winner of an attempt should be given up on: it was not heard from for
   * `silenceMs` (no alive record), or `member(winner)` says it left the group.
   */
  abandoned(ref: ChunkRef, now: number, silenceMs: number, member: (worker: string) => boolean): boolean {
    const s = this.get(ref);
    if (!s?.winner || s.done) return false;
    return now - (s.heardAt ?? 0) > silenceMs || !member(s.winner);
  }

  /** True when a claimed attempt no longer counts: cancelled, or a later attempt or run replaced it. */
  superseded(ref: ChunkRef): boolean {
    const s = this.get(ref);
    if (!s || s.cancelled) return true;
    if (this.runs.get(ref.task) !== ref.run) return true;
    return this.offers.has(offerKey({ ...ref, attempt: ref.attempt + 1 }));
  }

  /** Drops an attempt (its records were deleted from the topic). */
  forget(ref: ChunkRef): void {
    this.offers.delete(offerKey(ref));
  }

  /** A deleted record (a tombstone): a deleted offer forgets its attempt. */
  applyDeleted(key: string): void {
    if (key.startsWith('offer/')) this.offers.delete(key.slice('offer/'.length));
  }

  /** The keys of every record of an attempt, to delete it from the topic once it is recorded. */
  keysOf(ref: ChunkRef): string[] {
    const base = offerKey(ref);
    const claims = this.get(ref)?.claimants ?? [];
    return [...['offer', 'alive', 'done', 'cancel'].map((k) => `${k}/${base}`), ...claims.map((w) => `claim/${base}/${w}`)];
  }

  /** Calls `fn` after every record applied; returns the function that stops it. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Attempts the board holds (for diagnostics and tests). */
  get size(): number {
    return this.offers.size;
  }

  /** Every attempt the board holds, in the order offered (for diagnostics and tests). */
  attempts(): OfferState[] {
    return [...this.offers.values()];
  }
}
