import { describe, expect, it } from 'vitest';
import { rebuildFromCanal, type PartitionedTopic, type TopicRecord } from '../../../integration/verify-topic.js';

/** The rebuild half of the integration tests' topic verifier, on hand-made Canal JSON records. */

type Row = Record<string, string | null>;
let offset = 0;
function rec(partition: number, key: string, type: 'INSERT' | 'UPDATE' | 'DELETE', data: Row, old: Row | null = null, table = 'accounts', pk = ['id']): TopicRecord {
  const m = { id: ++offset, database: 'public', table, pkNames: pk, isDdl: false, type, es: 0, data: [data], old: old === null ? null : [old] };
  return { partition, offset: String(offset), key, value: Buffer.from(JSON.stringify(m)), headers: {} };
}
function topic(...records: TopicRecord[]): PartitionedTopic {
  const out: PartitionedTopic = new Map([[0, []], [1, []], [2, []]]);
  for (const r of records) out.get(r.partition)!.push(r);
  return out;
}
const rows = (t: PartitionedTopic, table = 'public.accounts') => [...(rebuildFromCanal(t).tables.get(table) ?? new Map()).entries()].map(([k, v]) => `${k}@${v.partition}=${JSON.stringify(v.row)}`);

describe('rebuildFromCanal', () => {
  it('an update that changes the key on the new key\'s partition leaves a ghost under the old key, and says so', () => {
    // What issue 13 found: the key-changing update keyed by the old key, routed by the new one.
    const t = topic(rec(0, '["1"]', 'INSERT', { id: '1', v: 'a' }), rec(1, '["1"]', 'UPDATE', { id: '101', v: 'a' }, { id: '1' }));
    const r = rebuildFromCanal(t);
    expect(rows(t)).toEqual(['["1"]@0={"id":"1","v":"a"}', '["101"]@1={"id":"101","v":"a"}']);
    expect(r.problems).toEqual(['record key public.accounts ["1"] is on partitions 0 and 1']);
    expect(r.anomalies).toEqual(['public.accounts partition 1 offset 2: UPDATE of ["1"] to ["101"], which this partition never had']);
  });

  it('a delete on the old key\'s partition and an insert on the new key\'s rebuild the row cleanly', () => {
    const t = topic(
      rec(0, '["1"]', 'INSERT', { id: '1', v: 'a' }),
      rec(0, '["1"]', 'DELETE', { id: '1', v: 'a' }),
      rec(1, '["101"]', 'INSERT', { id: '101', v: 'a' }),
      rec(1, '["101"]', 'UPDATE', { id: '101', v: 'b' }, { v: 'a' }),
    );
    const r = rebuildFromCanal(t);
    expect(rows(t)).toEqual(['["101"]@1={"id":"101","v":"b"}']);
    expect(r.problems).toEqual([]);
    expect(r.anomalies).toEqual([]);
  });

  it('applies an UPDATE\'s key from `old` column by column, and flags a key live in two partitions', () => {
    const pk = ['o', 'l'];
    const t = topic(
      rec(2, '["7","1"]', 'INSERT', { o: '7', l: '1', s: 'x' }, null, 'lines', pk),
      rec(2, '["7","1"]', 'UPDATE', { o: '7', l: '11', s: 'x' }, { l: '1' }, 'lines', pk),
      rec(0, '["7","11"]', 'INSERT', { o: '7', l: '11', s: 'y' }, null, 'lines', pk),
    );
    const r = rebuildFromCanal(t, { oneKeyOnePartition: false });
    expect(r.tables.get('public.lines')?.size).toBe(1);
    expect(r.problems).toEqual(['public.lines ["7","11"] is live in partition 0 and in partition 2']);
  });
});
