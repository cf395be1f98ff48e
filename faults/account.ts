/**
 * What arrived, against what was written. The topic is read partition by partition and rebuilt
 * with the project's verifier (test/integration/verify-topic.ts); on top of that, every change the
 * writer logged is looked for by (type, id, rev), and duplicates are counted exactly:
 *
 * - a full-sync row (Canal `id` below 2^53: ids assigned when written) is a duplicate when its key
 *   was copied before;
 * - a streamed change (Canal `id` from the source position, 2^53 and above: the same change has
 *   the same id in every process) is a duplicate when its id was written before.
 */
import { rebuildFromCanal, readTopicByPartition, sourceRows, type CanalMessage, type CanalRow, type PartitionedTopic } from '../test/integration/verify-topic.js';
import type { Change } from './writer.js';

const TABLE = 'public.items';
const POSITION_IDS = 2n ** 53n;

export interface Scope {
  /** Writer changes that count (default: all). */
  change?: (c: Change) => boolean;
  /** Seed rows 1..n that must have been copied (0: none count). */
  seedRows: number;
  /** Compare the final state only for these keys (default: every row). */
  keys?: Set<string>;
}

export interface Accounting {
  /** Records of the table read from the topic. */
  messages: number;
  /** Records of other tables (helper tables, DDL). */
  otherMessages: number;
  snapshotMessages: number;
  streamMessages: number;
  /** Messages beyond one per copied row or streamed change. */
  duplicates: number;
  snapshotDuplicates: number;
  streamDuplicates: number;
  /** Writer changes (in scope) with no message, and seed rows never copied. */
  lostChanges: Change[];
  lostSeedRows: string[];
  /** Seed rows the copy did not carry but a streamed change of them did (not lost). */
  seedRowsOnlyStreamed: number;
  /** Rows whose rebuilt state differs from PostgreSQL (missing, ghost or other values), in scope. */
  wrong: number;
  wrongSamples: string[];
  /** Routing problems the verifier found (one key on two partitions...). */
  problems: string[];
  changesInScope: number;
}

export function lost(a: Accounting): number {
  return a.lostChanges.length + a.lostSeedRows.length;
}

function canalId(value: Buffer): bigint | null {
  const m = /"id":(\d+)[,}]/.exec(value.toString('utf8', 0, Math.min(value.length, 64)));
  return m?.[1] !== undefined ? BigInt(m[1]) : null;
}

export async function readTopic(topic: string, brokersNote = ''): Promise<PartitionedTopic> {
  try {
    return await readTopicByPartition(topic, { timeoutMs: 60_000, idleMs: 1500 });
  } catch (err) {
    throw new Error(`reading ${topic}${brokersNote}: ${(err as Error).message}`, { cause: err });
  }
}

/** Accounts for what `partitions` hold against the writer's log, the seed and the source table. */
export async function account(database: string, partitions: PartitionedTopic, log: readonly Change[], scope: Scope): Promise<Accounting> {
  const seen = new Set<string>();
  const snapshotKeys = new Map<string, number>();
  const streamIds = new Set<bigint>();
  const streamKeys = new Set<string>();
  let messages = 0;
  let otherMessages = 0;
  let snapshotMessages = 0;
  let streamMessages = 0;
  let snapshotDuplicates = 0;
  let streamDuplicates = 0;
  for (const records of partitions.values()) {
    for (const r of records) {
      if (r.value === null) continue;
      const m = JSON.parse(r.value.toString('utf8')) as CanalMessage;
      if (`${m.database}.${m.table}` !== TABLE || m.isDdl) {
        otherMessages += 1;
        continue;
      }
      messages += 1;
      const id = canalId(r.value);
      const fromPosition = id !== null && id >= POSITION_IDS;
      for (const row of m.data ?? []) seen.add(`${m.type} ${row.id ?? ''} ${row.rev ?? ''}`);
      if (m.type === 'INSERT' && !fromPosition) {
        snapshotMessages += 1;
        for (const row of m.data ?? []) {
          const k = row.id ?? '';
          const n = snapshotKeys.get(k) ?? 0;
          if (n > 0) snapshotDuplicates += 1;
          snapshotKeys.set(k, n + 1);
        }
      } else {
        streamMessages += 1;
        for (const row of m.data ?? []) streamKeys.add(row.id ?? '');
        if (id !== null) {
          if (streamIds.has(id)) streamDuplicates += 1;
          streamIds.add(id);
        }
      }
    }
  }
  const inScope = scope.change ? log.filter(scope.change) : [...log];
  const lostChanges = inScope.filter((c) => !seen.has(`${c.type} ${c.id} ${c.rev}`));
  // A seed row the copy did not carry is still delivered when a later change of it (an update,
  // carrying the whole row) was streamed: a resumed copy reads the table as it is then, and a row
  // updated meanwhile may have moved into pages of a chunk already copied.
  const lostSeedRows: string[] = [];
  let seedRowsOnlyStreamed = 0;
  for (let i = 1; i <= scope.seedRows; i++) {
    if (snapshotKeys.has(String(i))) continue;
    if (streamKeys.has(String(i))) seedRowsOnlyStreamed += 1;
    else lostSeedRows.push(String(i));
  }

  // The final state, rebuilt the way partition-local consumers would, against PostgreSQL.
  const rebuilt = rebuildFromCanal(partitions);
  const src = await sourceRows(database, TABLE);
  const got = rebuilt.tables.get(TABLE) ?? new Map<string, { row: CanalRow; partition: number }>();
  const keyText = (id: string) => JSON.stringify([id]);
  const keys = scope.keys ? new Set([...scope.keys].map(keyText)) : null;
  const wrongSamples: string[] = [];
  let wrong = 0;
  const note = (s: string) => {
    wrong += 1;
    if (wrongSamples.length < 10) wrongSamples.push(s);
  };
  for (const [key, row] of src.rows) {
    if (keys && !keys.has(key)) continue;
    const g = got.get(key);
    if (!g) note(`${key}: in PostgreSQL, not rebuilt from Kafka`);
    else if (src.columns.some((c) => (row[c] ?? null) !== (g.row[c] ?? null))) note(`${key}: Kafka rev ${g.row.rev ?? 'null'}, PostgreSQL rev ${row.rev ?? 'null'}`);
  }
  for (const [key] of got) if ((!keys || keys.has(key)) && !src.rows.has(key)) note(`${key}: rebuilt from Kafka, not in PostgreSQL (ghost row)`);
  return {
    messages,
    otherMessages,
    snapshotMessages,
    streamMessages,
    duplicates: snapshotDuplicates + streamDuplicates,
    snapshotDuplicates,
    streamDuplicates,
    lostChanges,
    lostSeedRows,
    seedRowsOnlyStreamed,
    wrong,
    wrongSamples,
    problems: rebuilt.problems,
    changesInScope: inScope.length,
  };
}
