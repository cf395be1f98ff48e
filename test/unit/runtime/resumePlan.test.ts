import { describe, expect, it } from 'vitest';
import type { SnapshotChunk } from '../../../src/core/contracts.js';
import { resumePlan } from '../../../src/runtime/resumePlan.js';

const t = (table: string) => ({ database: 'db', schema: 'public', table });
const chunk = (table: string, from: number, to: number | null, generation = 'g1'): SnapshotChunk => ({
  id: `public.${table}:${from}`,
  table: t(table),
  bounds: { schema: 'public', table, fromPage: from, toPage: to },
  generation,
});

describe('resumePlan', () => {
  it('a first start takes the fresh plan', () => {
    const fresh = [chunk('a', 0, 60), chunk('a', 60, null)];
    expect(resumePlan(undefined, fresh)).toEqual({ chunks: fresh, discarded: [], replanned: [] });
  });

  it('a restart keeps the first plan of a table even when statistics now split it elsewhere', () => {
    // first plan: 3000-row chunks of 60 pages; after a mass delete + VACUUM ANALYZE the same
    // chunk size spans 120 pages
    const first = [chunk('a', 0, 60), chunk('a', 60, 120), chunk('a', 120, null)];
    const now = [chunk('a', 0, 120), chunk('a', 120, null)];
    const r = resumePlan(first, now);
    expect(r.chunks).toEqual(first);
    expect(r.discarded).toEqual([]);
  });

  it('a rewritten table (new generation) is planned again, its old chunks discarded', () => {
    const first = [chunk('a', 0, 60), chunk('a', 60, null), chunk('b', 0, null)];
    const now = [chunk('a', 0, null, 'g2'), chunk('b', 0, null)];
    const r = resumePlan(first, now);
    expect(r.chunks).toEqual([chunk('a', 0, null, 'g2'), chunk('b', 0, null)]);
    expect(r.discarded).toEqual(['public.a:0', 'public.a:60']);
    expect(r.replanned).toHaveLength(1);
    expect(r.replanned[0]?.table).toContain('a');
  });

  it('tables new to the selection get fresh chunks; tables no longer selected are dropped', () => {
    const first = [chunk('a', 0, null), chunk('gone', 0, null)];
    const now = [chunk('a', 0, 10), chunk('a', 10, null), chunk('new', 0, null)];
    const r = resumePlan(first, now);
    expect(r.chunks).toEqual([chunk('a', 0, null), chunk('new', 0, null)]);
    expect(r.discarded).toEqual(['public.gone:0']);
  });
});
