import type { SnapshotChunk } from '../core/contracts.js';
import { qualifiedName } from '../core/events.js';

export interface ResumedPlan {
  /** The chunks to run: the persisted ones where still valid, fresh ones elsewhere. */
  chunks: SnapshotChunk[];
  /** Persisted chunk ids that no longer hold (their table was rewritten or left the selection). */
  discarded: string[];
  /** Tables planned again from scratch, with why. */
  replanned: Array<{ table: string; reason: string }>;
}

function byTable(chunks: readonly SnapshotChunk[]): Map<string, SnapshotChunk[]> {
  const out = new Map<string, SnapshotChunk[]>();
  for (const c of chunks) {
    const name = qualifiedName(c.table);
    const list = out.get(name);
    if (list) list.push(c);
    else out.set(name, [c]);
  }
  return out;
}

function generations(chunks: readonly SnapshotChunk[]): string {
  return [...new Set(chunks.map((c) => c.generation ?? ''))].sort().join('|');
}

/**
 * A full-sync plan for a task that may be resuming. The first plan is persisted with the
 * checkpoint; on a restart each table keeps the chunks (and bounds) it was first planned with, so
 * chunks recorded as copied cover exactly what they covered when they were copied, whatever the
 * statistics or the data say now. A table whose physical layout changed since (its `generation`,
 * e.g. a rewritten PostgreSQL heap) is planned again and copied whole; tables new to the selection
 * get fresh chunks; tables no longer selected are dropped. Pure.
 */
export function resumePlan(persisted: readonly SnapshotChunk[] | undefined, fresh: readonly SnapshotChunk[]): ResumedPlan {
  if (!persisted || persisted.length === 0) return { chunks: [...fresh], discarded: [], replanned: [] };
  const before = byTable(persisted);
  const now = byTable(fresh);
  const chunks: SnapshotChunk[] = [];
  const discarded: string[] = [];
  const replanned: ResumedPlan['replanned'] = [];
  for (const [table, freshChunks] of now) {
    const old = before.get(table);
    if (!old) {
      chunks.push(...freshChunks);
      continue;
    }
    if (generations(old) === generations(freshChunks)) {
      chunks.push(...old);
    } else {
      discarded.push(...old.map((c) => c.id));
      replanned.push({ table, reason: `its storage changed since the copy began (${generations(old) || 'none'} → ${generations(freshChunks) || 'none'})` });
      chunks.push(...freshChunks);
    }
  }
  for (const [table, old] of before) if (!now.has(table)) discarded.push(...old.map((c) => c.id));
  return { chunks, discarded, replanned };
}
