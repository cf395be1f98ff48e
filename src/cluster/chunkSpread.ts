/**
 * A task owner's chunk executor in a cluster: the task's full sync spread over the workers.
 *
 * The owner copies up to `fullSync.parallelism` chunks itself. A chunk the full-sync machine starts
 * while those are busy is offered in the chunks topic instead; whoever claims it first copies it:
 * another worker (chunkHelper.ts), or the owner itself once one of its own copies ends. A chunk
 * another worker copied is returned with its rows, and the task records it in its checkpoint as if
 * it had copied it. A helper that is silent for `silenceMs` (no alive record), leaves the group or
 * reports a failure loses the chunk: the attempt is cancelled and the chunk offered again; after
 * `maxRemoteFailures` such attempts the owner copies it itself.
 */
import { randomUUID } from 'node:crypto';
import type { SnapshotChunk } from '../core/contracts.js';
import type { ChunkCopied, ChunkExecutor, ChunkTask } from '../runtime/chunkExecutor.js';
import { Aborted, Slots, abortable, until, type ChunkChannel, type Slot } from './chunkChannel.js';
import type { ChunkRef } from './chunkOffers.js';

export interface SpreadOptions {
  /** Chunks of one task in flight at once across the cluster, at most (the machine's parallelism). */
  maxInFlight: number;
  /** A helper not heard from for this long loses its chunk (default: the session timeout). */
  silenceMs: number;
  /** Failed or abandoned attempts on other workers before the owner copies a chunk itself. */
  maxRemoteFailures: number;
}

/** A spreading executor also says who copied how many of the task's chunks. */
export interface SpreadingExecutor extends ChunkExecutor {
  /** Chunks copied so far, by worker id (this worker's included). */
  copiedBy(): Record<string, number>;
}

export function spreadingExecutor(task: ChunkTask, ch: ChunkChannel, opts: SpreadOptions): SpreadingExecutor {
  const run = randomUUID().slice(0, 8);
  const local = new Slots(task.options.fullSync.parallelism);
  const attempts = new Map<string, number>();
  const board = ch.board;
  const me = ch.workerId;
  const tally = new Map<string, number>();
  const count = (done: ChunkCopied): ChunkCopied => {
    const by = done.by ?? me;
    tally.set(by, (tally.get(by) ?? 0) + 1);
    return done;
  };

  /** Copies here in `slot`; the slot is freed when the copy ends or is aborted. */
  const copyHere = async (slot: Slot, copy: (signal: AbortSignal) => Promise<number>, signal: AbortSignal): Promise<number> => {
    const free = () => slot.release();
    signal.addEventListener('abort', free, { once: true });
    try {
      return await abortable(copy(signal), signal);
    } finally {
      signal.removeEventListener('abort', free);
      free();
    }
  };

  /** Deletes an attempt's records once the chunk is settled (the topic stays small). */
  const forget = (refs: readonly ChunkRef[]) => {
    const keys = refs.flatMap((r) => board.keysOf(r));
    for (const r of refs) board.forget(r);
    void ch.remove(keys).catch((err: unknown) => ch.logger.debug('cluster: could not delete chunk records', { task: task.id, error: (err as Error).message }));
  };

  /** One offer: resolves with the rows when someone copied the chunk, null when the attempt failed. */
  const attempt = async (chunk: SnapshotChunk, copy: (signal: AbortSignal) => Promise<number>, signal: AbortSignal, ref: ChunkRef): Promise<{ rows: number; by?: string } | null> => {
    await ch.publish([{ type: 'offer', task: task.id, run, chunk, attempt: ref.attempt, owner: me, snapshot: task.exportedSnapshot(), at: Date.now() }]);
    // A local slot or another worker's claim, whichever comes first.
    const waitSlot = new AbortController();
    const onAbort = () => waitSlot.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const slotTaken = local.take(waitSlot.signal);
    let winner: string;
    try {
      const first = await Promise.race([until(board, () => board.get(ref)?.winner, signal).then((w) => ({ w })), slotTaken.then((s) => ({ s }))]);
      if ('s' in first) {
        const slot = first.s;
        try {
          if (board.get(ref)?.winner === undefined) await ch.publish([{ type: 'claim', task: task.id, run, chunkId: chunk.id, attempt: ref.attempt, worker: me, at: Date.now() }]);
          winner = await until(board, () => board.get(ref)?.winner, signal);
        } catch (err) {
          slot.release();
          throw err;
        }
        if (winner === me) return { rows: await copyHere(slot, copy, signal) };
        slot.release();
      } else {
        winner = first.w;
        waitSlot.abort();
        slotTaken.then((s) => s.release(), () => undefined);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    // Another worker copies it: wait for its report, or give up on it.
    const outcome = await until(board, () => board.get(ref)?.done ?? (board.abandoned(ref, Date.now(), opts.silenceMs, (w) => ch.member(w)) ? ('abandoned' as const) : undefined), signal);
    if (outcome !== 'abandoned' && outcome.error === undefined) {
      ch.logger.info('cluster: full-sync chunk copied by another worker', { task: task.id, chunk: chunk.id, by: winner, rows: outcome.rows ?? 0 });
      return { rows: outcome.rows ?? 0, by: winner };
    }
    ch.logger.warn('cluster: a worker copying a full-sync chunk failed or went silent; offering it again', { task: task.id, chunk: chunk.id, worker: winner, reason: outcome === 'abandoned' ? 'silent or left the group' : outcome.error });
    await ch.publish([{ type: 'cancel', ...ref, at: Date.now() }]);
    return null;
  };

  return {
    copiedBy: () => Object.fromEntries(tally),
    parallelism: (configured) => Math.min(opts.maxInFlight, Math.max(configured, configured * ch.workers())),
    async copy(chunk, copy, signal) {
      // A free local slot: copied here at once, nothing offered.
      const now = local.tryTake();
      if (now) return count({ rows: await copyHere(now, copy, signal) });
      const refs: ChunkRef[] = [];
      let current: ChunkRef | null = null;
      // The task stopped: an open attempt is cancelled, so a helper stops copying it.
      const cancel = () => {
        if (current) void ch.publish([{ type: 'cancel', ...current, at: Date.now() }]).catch(() => undefined);
      };
      signal.addEventListener('abort', cancel, { once: true });
      try {
        for (let failures = 0; failures < opts.maxRemoteFailures; failures++) {
          const n = (attempts.get(chunk.id) ?? 0) + 1;
          attempts.set(chunk.id, n);
          current = { task: task.id, run, chunkId: chunk.id, attempt: n };
          refs.push(current);
          const done = await attempt(chunk, copy, signal, current);
          current = null;
          if (done) return count(done);
        }
        ch.logger.warn('cluster: full-sync chunk failed on other workers; copying it here', { task: task.id, chunk: chunk.id });
        return count({ rows: await copyHere(await local.take(signal), copy, signal) });
      } catch (err) {
        if (err instanceof Aborted) return new Promise<never>(() => undefined); // stopped: never settles, as a local copy
        throw err;
      } finally {
        signal.removeEventListener('abort', cancel);
        if (!signal.aborted) forget(refs);
      }
    },
  };
}
