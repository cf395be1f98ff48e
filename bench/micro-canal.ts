/**
 * Microbenchmark of the Canal JSON hot path, no servers needed:
 *   npx tsx bench/micro-canal.ts [rounds]
 *
 * 200k PostgreSQL updates (8 columns: int8, int4, numeric, text, varchar, 2× timestamptz, bool;
 * old and new images, 3 columns changed) and 200k inserts of the same table, encoded by
 * - `naive`: JSON.stringify of the Canal envelope object + Buffer.from (a reference point);
 * - `encode`: the Canal format's `encode()` (value and key Buffers);
 * - `sink`: the Kafka sink's whole main-thread path for a batch (encode, key, routing, size split,
 *   packing into the transfer buffer for the producer thread), no Kafka.
 * Each measurement runs `rounds` times (default 5); min and median µs/event are printed.
 */
import { createCanalJson } from '../src/formats/canal-json.js';
import type { ChangeEvent, Column, Row, TableShape } from '../src/core/events.js';
import { SequencePosition } from '../src/core/position.js';
import type { EncodeContext } from '../src/formats/format.js';
import { columnTypeInfo } from '../src/formats/types/columns.js';
import { valueText } from '../src/formats/types/values.js';
import { postgresColumn } from '../src/sources/postgres/values.js';
import { KafkaSink } from '../src/sinks/kafka/sink.js';
import { packBatch } from '../src/sinks/kafka/workerProducer.js';
import { splitBySize } from '../src/sinks/kafka/sink.js';

const N = Number(process.env.MICRO_N ?? 200_000);
const BATCH = 2000;
const rounds = Number(process.argv[2] ?? 5);

const columns: Column[] = [
  { name: 'id', type: 'int8', typeId: 20 },
  { name: 'account_id', type: 'int4', typeId: 23 },
  { name: 'amount', type: 'numeric', typeId: 1700, precision: 12, scale: 2 },
  { name: 'status', type: 'text', typeId: 25 },
  { name: 'note', type: 'varchar', typeId: 1043, precision: 200 },
  { name: 'created_at', type: 'timestamptz', typeId: 1184 },
  { name: 'updated_at', type: 'timestamptz', typeId: 1184 },
  { name: 'paid', type: 'bool', typeId: 16 },
].map(postgresColumn);
const shape: TableShape = { ref: { database: 'shop', schema: 'public', table: 'orders' }, columns, key: ['id'] };
const STATUSES = ['new', 'paid', 'shipped', 'cancelled', 'refunded'];

function row(i: number, v: number): Row {
  return {
    id: String(1_000_000_000 + i),
    account_id: 1000 + (i % 5000),
    amount: `${(i % 100000) + v}.${String((i * 7) % 100).padStart(2, '0')}`,
    status: STATUSES[(i + v) % STATUSES.length],
    note: i % 10 === 0 ? `customer said "leave at door"\n${i}` : `order ${i} note, version ${v}`,
    created_at: `2024-05-06 07:08:${String(i % 60).padStart(2, '0')}.123456+00`,
    updated_at: `2024-05-06 08:${String(v % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.654321+00`,
    paid: (i + v) % 2 === 0,
  };
}

function makeEvents(): { updates: ChangeEvent[]; inserts: ChangeEvent[] } {
  const updates: ChangeEvent[] = [];
  const inserts: ChangeEvent[] = [];
  const t0 = 1_714_979_287_500;
  for (let i = 0; i < N; i++) {
    const pos = new SequencePosition(BigInt(0x16b3748 + i * 200));
    inserts.push({ op: 'insert', shape, snapshot: false, after: row(i, 0), commitTime: t0 + (i >> 4), position: pos, bytes: 200 });
    updates.push({ op: 'update', shape, snapshot: false, before: row(i, 0), after: row(i, 1), commitTime: t0 + (i >> 4), position: pos, bytes: 400 });
  }
  return { updates, inserts };
}

// ---- naive reference: the envelope as an object, JSON.stringify'd ----
const sqlType: Record<string, number> = {};
const mysqlType: Record<string, string> = {};
for (const c of columns) {
  const info = columnTypeInfo(c);
  sqlType[c.name] = info.sqlType;
  mysqlType[c.name] = info.mysqlType;
}
function textRow(r: Row): Record<string, string | null> {
  const o: Record<string, string | null> = {};
  for (const c of columns) if (r[c.name] !== undefined) o[c.name] = valueText(r[c.name]);
  return o;
}
function naive(e: ChangeEvent, ctx: EncodeContext): Buffer {
  let old: Array<Record<string, string | null>> | null = null;
  if (e.op === 'update' && e.before) {
    const o: Record<string, string | null> = {};
    for (const c of columns) {
      const b = e.before[c.name];
      const a = e.after?.[c.name];
      if (b !== undefined && a !== undefined && valueText(a) !== valueText(b)) o[c.name] = valueText(b);
    }
    old = [o];
  }
  const env = {
    id: ctx.sequence, database: 'public', table: 'orders', pkNames: ['id'], isDdl: false, type: e.op.toUpperCase(),
    es: e.commitTime, ts: ctx.now, sql: '', sqlType, mysqlType, data: [textRow(e.after as Row)], old, gtid: null, serverId: null,
  };
  return Buffer.from(JSON.stringify(env), 'utf8');
}

// ---- measurement ----
function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1000;
}

function stats(xs: number[]): { min: number; median: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] as number, median: s[Math.floor(s.length / 2)] as number };
}

const { updates, inserts } = makeEvents();
const fmt = createCanalJson();
const ctx: EncodeContext = { sequence: 0, now: 1_714_979_289_123, documents: false, sourceName: 'PostgreSQL' };
let sink_: unknown = 0;

const sink = new KafkaSink({
  brokers: ['127.0.0.1:1'], topic: 'bench', format: fmt, documents: false, sourceName: 'PostgreSQL', compression: 'none', acks: 'all',
  partitionPolicy: 'keyHash', maxMessageBytes: 1_000_000, createTopics: false, conflictMode: 'ignoreAndProceed',
});
(sink as unknown as { partitions: Map<string, number> }).partitions.set('bench', 4);

/** The sink's main-thread work for one batch: encode + route + split + pack. */
type SinkInternals = {
  encode?: (events: readonly ChangeEvent[]) => { topicMessages: Parameters<typeof splitBySize>[0] };
  packForWorker?: (events: readonly ChangeEvent[]) => unknown;
};
const internals = sink as unknown as SinkInternals;
function sinkBatch(events: readonly ChangeEvent[]): unknown {
  if (internals.packForWorker) return internals.packForWorker(events);
  const enc = internals.encode!.call(sink, events);
  return packBatch(splitBySize(enc.topicMessages, 1_000_000 - 16 * 1024));
}

const cases: Array<[string, ChangeEvent[], (events: ChangeEvent[]) => void]> = [];
for (const [kind, events] of [['update', updates], ['insert', inserts]] as const) {
  cases.push([`naive  ${kind}`, events, (evs) => { for (const e of evs) { ctx.sequence = (ctx.sequence as number) + 1; sink_ = naive(e, ctx); } }]);
  cases.push([`encode ${kind}`, events, (evs) => { for (const e of evs) { ctx.sequence = (ctx.sequence as number) + 1; sink_ = fmt.encode(e, ctx); } }]);
  cases.push([`sink   ${kind}`, events, (evs) => { for (let i = 0; i < evs.length; i += BATCH) sink_ = sinkBatch(evs.slice(i, i + BATCH)); }]);
}

// Sanity: the sink and the encoder agree on the bytes of a message.
const results = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  for (const [name, events, fn] of cases) {
    if (process.env.MICRO_ONLY && !name.includes(process.env.MICRO_ONLY)) continue;
    const us = time(() => fn(events)) / events.length;
    if (r === 0 && rounds > 1) continue; // warm-up round
    let list = results.get(name);
    if (!list) results.set(name, (list = []));
    list.push(us);
  }
}
void sink_;
console.log(`µs/event over ${N} events, ${rounds > 1 ? rounds - 1 : 1} measured rounds (first round is warm-up)`);
for (const [name, xs] of results) {
  const s = stats(xs);
  console.log(`${name}  min ${s.min.toFixed(2)}  median ${s.median.toFixed(2)}`);
}
