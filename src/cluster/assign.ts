/**
 * The cluster's task assignment: a pure function from the group's members (with the tasks each is
 * running now) and the configured tasks (with their weights) to the tasks of every member.
 *
 * - Sticky: a member keeps every task it runs that still exists and that no other member claims
 *   first (two members claiming one task after a split: the one first by member id keeps it).
 * - Spreading by weight: tasks nobody holds go, heaviest first, to the least loaded member.
 * - Few moves: then, while moving one task from the most to the least loaded member narrows the
 *   gap, the task that narrows it most moves; nothing else moves.
 */

export interface AssignMember {
  memberId: string;
  /** Tasks the member runs now (from its join metadata). */
  tasks: readonly string[];
}

export interface AssignTask {
  name: string;
  /** Relative cost; default 1. */
  weight?: number;
}

/** memberId → task names, every member present (possibly with no task). */
export type TaskAssignment = Map<string, string[]>;

export function assignTasks(members: readonly AssignMember[], tasks: readonly AssignTask[]): TaskAssignment {
  const weight = new Map(tasks.map((t) => [t.name, Math.max(0, t.weight ?? 1)]));
  const out: TaskAssignment = new Map();
  const load = new Map<string, number>();
  const ids = members.map((m) => m.memberId).sort();
  for (const id of ids) {
    out.set(id, []);
    load.set(id, 0);
  }
  if (ids.length === 0) return out;
  const byId = new Map(members.map((m) => [m.memberId, m]));
  const taken = new Set<string>();
  // Sticky: keep what each member runs.
  for (const id of ids) {
    for (const t of [...(byId.get(id)?.tasks ?? [])].sort()) {
      if (!weight.has(t) || taken.has(t)) continue;
      taken.add(t);
      out.get(id)?.push(t);
      load.set(id, (load.get(id) ?? 0) + (weight.get(t) ?? 1));
    }
  }
  const leastLoaded = (): string => ids.reduce((best, id) => ((load.get(id) ?? 0) < (load.get(best) ?? 0) ? id : best), ids[0] as string);
  const mostLoaded = (): string => ids.reduce((best, id) => ((load.get(id) ?? 0) > (load.get(best) ?? 0) ? id : best), ids[0] as string);
  // New or orphaned tasks: heaviest first, to the least loaded member.
  const free = tasks.filter((t) => !taken.has(t.name)).sort((a, b) => (weight.get(b.name) ?? 1) - (weight.get(a.name) ?? 1) || a.name.localeCompare(b.name));
  for (const t of free) {
    const id = leastLoaded();
    out.get(id)?.push(t.name);
    load.set(id, (load.get(id) ?? 0) + (weight.get(t.name) ?? 1));
  }
  // Balance with as few moves as possible.
  for (let guard = 0; guard < tasks.length * ids.length + 1; guard++) {
    const hi = mostLoaded();
    const lo = leastLoaded();
    const gap = (load.get(hi) ?? 0) - (load.get(lo) ?? 0);
    let pick: string | null = null;
    let bestGap = gap;
    for (const t of out.get(hi) ?? []) {
      const w = weight.get(t) ?? 1;
      const after = Math.abs(gap - 2 * w);
      if (w > 0 && after < bestGap) {
        bestGap = after;
        pick = t;
      }
    }
    if (pick === null) break;
    const w = weight.get(pick) ?? 1;
    out.set(hi, (out.get(hi) ?? []).filter((t) => t !== pick));
    out.get(lo)?.push(pick);
    load.set(hi, (load.get(hi) ?? 0) - w);
    load.set(lo, (load.get(lo) ?? 0) + w);
  }
  for (const [id, list] of out) out.set(id, list.sort());
  return out;
}
