/**
 * A verifier for Canal JSON topics written from PostgreSQL: it reads the topic partition by
 * partition, rebuilds each table the way consumers that read partitions independently would (each
 * partition applied on its own, in offset order, never ordered against another partition), and
 * compares every row with the source table through PostgreSQL (`col::text`).
 *
 *   const report = await expectTopicMatchesSource({ topic, database, tables: ['public.orders'] });
 *
 * What it reports as wrong:
 * - a row missing from Kafka, a row only Kafka has (a ghost), a column that differs;
 * - a key live in two partitions' rebuilt states at once (one key's history split over partitions);
 * - a Kafka record key found on more than one partition (`oneKeyOnePartition`, default on);
 * - with `strict`: an UPDATE or DELETE of a key its partition never had, or an INSERT of a key its
 *   partition already has (off by default: at-least-once redelivery of full-sync chunks repeats
 *   inserts legitimately).
 *
 * Canal semantics applied per partition: INSERT sets the row; UPDATE removes the old key (each key
 * column from `old` when it is there, else from `data`) and sets the new key to the previous row
 * merged with `data`; DELETE removes the key. DDL messages (TRUNCATE included) are counted and
 * skipped: a partition-local consumer cannot order them against the other partitions' rows.
 */
import type { KafkaMessage } from 'kafkajs';
import { kafkaClient, uniqueName, withAdmin, withPg } from './support.js';

/** A row as Canal JSON carries it (PostgreSQL values as text, SQL NULL as null). */
export type CanalRow = Record<string, string | null>;

export interface CanalMessage {
  id: number;
  database: string;
  table: string;
  pkNames: string[] | null;
  isDdl: boolean;
  type: 'INSERT' | 'UPDATE' | 'DELETE' | 'DDL';
  /** Source commit time, ms. */
  es: number;
  data: CanalRow[] | null;
  old: CanalRow[] | null;
}

/** One Kafka record as read back. */
export interface TopicRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Every partition of a topic (empty ones included), each in offset order. */
export type PartitionedTopic = Map<number, TopicRecord[]>;

/**
 * Reads every record written to `topic` before the call: each partition from its start to the end
 * offset it had when the call began. Records are kept per partition in offset order; nothing relates
 * records of different partitions. Transaction markers are not records: a partition whose end is a
 * marker is complete once nothing new arrived for `idleMs`.
 */
export async function readTopicByPartition(
  topic: string,
  opts: { timeoutMs?: number; idleMs?: number; isolation?: 'read_committed' | 'read_uncommitted' } = {},
): Promise<PartitionedTopic> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const idleMs = opts.idleMs ?? 2_000;
  const ends = await withAdmin((a) => a.fetchTopicOffsets(topic));
  const out: PartitionedTopic = new Map();
  const pending = new Map<number, bigint>();
  for (const p of ends) {
    out.set(p.partition, []);
    if (BigInt(p.high) > BigInt(p.low)) pending.set(p.partition, BigInt(p.high));
  }
  if (pending.size === 0) return out;
  const consumer = kafkaClient().consumer({ groupId: uniqueName('verify'), readUncommitted: opts.isolation === 'read_uncommitted' });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      let lastArrival = Date.now();
      const started = Date.now();
      const timer = setInterval(() => {
        if (pending.size === 0 || (Date.now() - lastArrival > idleMs && [...out.values()].some((l) => l.length > 0))) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() - started > timeoutMs) {
          clearInterval(timer);
          reject(new Error(`reading ${topic}: partitions ${[...pending.keys()].join(', ')} did not reach their end offsets within ${timeoutMs} ms`));
        }
      }, 100);
      void consumer
        .run({
          eachBatch: async ({ batch }) => {
            const list = out.get(batch.partition);
            const end = pending.get(batch.partition);
            for (const m of batch.messages) {
              if (end !== undefined && BigInt(m.offset) >= end) break;
              list?.push(record(batch.partition, m));
              lastArrival = Date.now();
            }
            const last = list?.[list.length - 1];
            if (end !== undefined && last !== undefined && BigInt(last.offset) >= end - 1n) pending.delete(batch.partition);
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

function record(partition: number, m: KafkaMessage): TopicRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
  return { partition, offset: m.offset, key: m.key === null ? null : m.key.toString('utf8'), value: m.value, headers };
}

/** The key text the verifier indexes rows by: a JSON array of the key columns' values. */
export function rowKey(row: CanalRow, key: readonly string[]): string {
  return JSON.stringify(key.map((k) => row[k] ?? null));
}

export interface RebuiltRow {
  row: CanalRow;
  partition: number;
}

export interface Rebuild {
  /** `database.table` as Canal names it (for PostgreSQL: `schema.table`) → key text → row. */
  tables: Map<string, Map<string, RebuiltRow>>;
  /** What cannot happen to a consumer reading partitions independently when routing is right. */
  problems: string[];
  /** Anomalies that are problems only with `strict` (see the file comment). */
  anomalies: string[];
  messages: number;
  ddl: number;
}

/**
 * Rebuilds tables from Canal JSON records, each partition on its own state, then merges the
 * partitions' states (a key live in two of them is a problem).
 */
export function rebuildFromCanal(partitions: PartitionedTopic, opts: { oneKeyOnePartition?: boolean } = {}): Rebuild {
  const problems: string[] = [];
  const anomalies: string[] = [];
  const perPartition = new Map<number, Map<string, Map<string, CanalRow>>>();
  const keyPartitions = new Map<string, Set<number>>();
  let messages = 0;
  let ddl = 0;
  for (const [partition, records] of partitions) {
    const state = new Map<string, Map<string, CanalRow>>();
    perPartition.set(partition, state);
    for (const r of records) {
      messages += 1;
      if (r.value === null) continue;
      const m = JSON.parse(r.value.toString('utf8')) as CanalMessage;
      if (m.isDdl || m.type === 'DDL') {
        ddl += 1;
        continue;
      }
      if (r.key !== null) {
        const k = `${m.database}.${m.table} ${r.key}`;
        let set = keyPartitions.get(k);
        if (!set) keyPartitions.set(k, (set = new Set()));
        set.add(partition);
      }
      const name = `${m.database}.${m.table}`;
      let rows = state.get(name);
      if (!rows) state.set(name, (rows = new Map()));
      const pk = m.pkNames ?? [];
      if (pk.length === 0) {
        problems.push(`${name}: a ${m.type} without pkNames at partition ${partition} offset ${r.offset}`);
        continue;
      }
      const where = `${name} partition ${partition} offset ${r.offset}`;
      (m.data ?? []).forEach((data, i) => {
        const key = rowKey(data, pk);
        if (m.type === 'INSERT') {
          if (rows.has(key)) anomalies.push(`${where}: INSERT of ${key}, which this partition already has`);
          rows.set(key, { ...data });
        } else if (m.type === 'DELETE') {
          if (!rows.delete(key)) anomalies.push(`${where}: DELETE of ${key}, which this partition never had`);
        } else {
          const old = m.old?.[i] ?? {};
          const oldKey = rowKey({ ...data, ...pick(old, pk) }, pk);
          const previous = rows.get(oldKey);
          if (previous === undefined) anomalies.push(`${where}: UPDATE of ${oldKey}${oldKey === key ? '' : ` to ${key}`}, which this partition never had`);
          rows.delete(oldKey);
          if (oldKey !== key && rows.has(key)) anomalies.push(`${where}: UPDATE of ${oldKey} to ${key}, which this partition already has`);
          rows.set(key, { ...previous, ...data });
        }
      });
    }
  }
  if (opts.oneKeyOnePartition ?? true) {
    for (const [k, set] of keyPartitions) if (set.size > 1) problems.push(`record key ${k} is on partitions ${[...set].sort((a, b) => a - b).join(' and ')}`);
  }
  const tables = new Map<string, Map<string, RebuiltRow>>();
  for (const [partition, state] of perPartition) {
    for (const [name, rows] of state) {
      let merged = tables.get(name);
      if (!merged) tables.set(name, (merged = new Map()));
      for (const [key, row] of rows) {
        const other = merged.get(key);
        if (other) problems.push(`${name} ${key} is live in partition ${other.partition} and in partition ${partition}`);
        else merged.set(key, { row, partition });
      }
    }
  }
  return { tables, problems, anomalies, messages, ddl };
}

function pick(row: CanalRow, columns: readonly string[]): CanalRow {
  const out: CanalRow = {};
  for (const c of columns) if (c in row) out[c] = row[c] ?? null;
  return out;
}

/** Every row of a PostgreSQL table (each column as `col::text`) by key text, and its primary key. */
export async function sourceRows(database: string, qualified: string): Promise<{ key: string[]; columns: string[]; rows: Map<string, CanalRow> }> {
  const [schema, table] = splitName(qualified);
  return withPg(database, async (c) => {
    const rel = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    const columns = (
      await c.query<{ attname: string }>(`SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [rel])
    ).rows.map((r) => r.attname);
    const key = (
      await c.query<{ attname: string }>(
        `SELECT a.attname FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.n`,
        [rel],
      )
    ).rows.map((r) => r.attname);
    if (key.length === 0) throw new Error(`${qualified} has no primary key: the verifier indexes rows by it`);
    const r = await c.query<CanalRow>(`SELECT ${columns.map((n) => `${quoteIdent(n)}::text AS ${quoteIdent(n)}`).join(', ')} FROM ${rel}`);
    return { key, columns, rows: new Map(r.rows.map((row) => [rowKey(row, key), row])) };
  });
}

function splitName(qualified: string): [string, string] {
  const dot = qualified.indexOf('.');
  return dot < 0 ? ['public', qualified] : [qualified.slice(0, dot), qualified.slice(dot + 1)];
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export interface VerifyOptions {
  topic: string;
  /** The source database. */
  database: string;
  /** Tables to compare, `schema.table` (the Canal `database.table` of their messages). */
  tables: readonly string[];
  /** Fail on UPDATE/DELETE of keys a partition never had and INSERT of keys it already has. */
  strict?: boolean;
  /** Fail when one Kafka record key appears on two partitions (default true). */
  oneKeyOnePartition?: boolean;
  /** Applied to both sides before comparing a value (e.g. to normalize json text). */
  normalize?: (table: string, column: string, value: string | null) => string | null;
  /** Differences listed in the report (the counts cover all), default 20. */
  maxDifferences?: number;
  /** For `expectTopicMatchesSource`: how long to keep re-reading while Kafka catches up (default 30 s). */
  timeoutMs?: number;
  isolation?: 'read_committed' | 'read_uncommitted';
}

export interface VerifyReport {
  ok: boolean;
  /** Rows missing, extra (ghosts) or different, per table, first `maxDifferences` of them. */
  differences: string[];
  /** Routing problems (and strict anomalies) found while rebuilding. */
  problems: string[];
  /** Anomalies that were not counted as problems (strict off). */
  anomalies: string[];
  /** Per table: rows in the source, rows rebuilt from Kafka. */
  counts: Map<string, { source: number; kafka: number }>;
  /** Records read per partition. */
  perPartition: Map<number, number>;
  messages: number;
}

/** Reads `topic` partition by partition, rebuilds, and compares with the source tables once. */
export async function verifyTopic(opts: VerifyOptions): Promise<VerifyReport> {
  const partitions = await readTopicByPartition(opts.topic, opts.isolation ? { isolation: opts.isolation } : {});
  const rebuilt = rebuildFromCanal(partitions, opts.oneKeyOnePartition === undefined ? {} : { oneKeyOnePartition: opts.oneKeyOnePartition });
  const max = opts.maxDifferences ?? 20;
  const differences: string[] = [];
  let total = 0;
  const note = (s: string) => {
    total += 1;
    if (differences.length < max) differences.push(s);
  };
  const norm = opts.normalize ?? ((_t: string, _c: string, v: string | null) => v);
  const counts = new Map<string, { source: number; kafka: number }>();
  for (const name of opts.tables) {
    const src = await sourceRows(opts.database, name);
    const got = rebuilt.tables.get(name) ?? new Map<string, RebuiltRow>();
    counts.set(name, { source: src.rows.size, kafka: got.size });
    for (const [key, row] of src.rows) {
      const g = got.get(key);
      if (!g) {
        note(`${name} ${key}: in PostgreSQL, not rebuilt from Kafka`);
        continue;
      }
      for (const col of src.columns) {
        const want = norm(name, col, row[col] ?? null);
        const have = norm(name, col, g.row[col] ?? null);
        if (want !== have) note(`${name} ${key}.${col}: Kafka (partition ${g.partition}) ${JSON.stringify(have)}, PostgreSQL ${JSON.stringify(want)}`);
      }
    }
    for (const [key, g] of got) if (!src.rows.has(key)) note(`${name} ${key}: rebuilt from Kafka partition ${g.partition}, not in PostgreSQL (ghost row)`);
  }
  if (total > differences.length) differences.push(`… ${total - differences.length} more`);
  const problems = opts.strict ? [...rebuilt.problems, ...rebuilt.anomalies] : rebuilt.problems;
  return {
    ok: total === 0 && problems.length === 0,
    differences,
    problems,
    anomalies: opts.strict ? [] : rebuilt.anomalies,
    counts,
    perPartition: new Map([...partitions].map(([p, l]) => [p, l.length])),
    messages: rebuilt.messages,
  };
}

/**
 * `verifyTopic` again and again until it passes or `timeoutMs` ran out (Kafka may still be
 * catching up); throws with the last report's differences and problems.
 */
export async function expectTopicMatchesSource(opts: VerifyOptions): Promise<VerifyReport> {
  const end = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const report = await verifyTopic(opts);
    if (report.ok) return report;
    if (Date.now() >= end) throw new Error(describeReport(opts.topic, report));
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** A report as text: counts, differences, problems. */
export function describeReport(topic: string, report: VerifyReport): string {
  const counts = [...report.counts].map(([t, c]) => `${t}: ${c.source} rows in PostgreSQL, ${c.kafka} rebuilt`).join('; ');
  const lines = [`topic ${topic} does not rebuild the source (${report.messages} records; ${counts})`];
  if (report.differences.length > 0) lines.push('differences:', ...report.differences.map((d) => `  ${d}`));
  if (report.problems.length > 0) lines.push('problems:', ...report.problems.slice(0, 20).map((d) => `  ${d}`), ...(report.problems.length > 20 ? [`  … ${report.problems.length - 20} more`] : []));
  return lines.join('\n');
}
