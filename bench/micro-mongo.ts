/**
 * Microbenchmark of the MongoDB → Kafka main-thread path per oplog entry, no servers needed:
 *   npx tsx bench/micro-mongo.ts [rounds]
 *
 * 200k oplog insert entries shaped like the `mongo` scenario's (≈200-byte documents: Int32 `_id`,
 * strings, an Int32, a double, a date), serialized to BSON as the server sends them, then
 * - `read`: each entry's bytes → the decoded entry (`decodeOplogEntry`: the envelope's needed fields
 *   only, the size read off the bytes) → a change event (`convertOplogEntry`), as the oplog reader does;
 * - `read (whole entry)`: the entry decoded whole by the BSON library, the size measured on the
 *   decoded documents (`bsonSize`), as the reader did before;
 * - `read + sink`: `read`, then the Kafka sink's main-thread work for batches of 2,000 (Canal JSON
 *   encode, keyHash routing by `_id`, packing for the producer thread), no Kafka.
 * Each measurement runs `rounds` times (default 5; the first is a warm-up); min and median CPU µs/entry.
 */
import { BSON, Double, Int32, Long, Timestamp, Binary } from 'mongodb';
import { createCanalJson } from '../src/formats/canal-json.js';
import type { ChangeEvent, TableRef, TableShape } from '../src/core/events.js';
import { KafkaSink } from '../src/sinks/kafka/sink.js';
import { convertOplogEntry, type OplogContext, type OplogEntry } from '../src/sources/mongodb/oplog.js';
import { decodeDocument, decodeOplogEntry } from '../src/sources/mongodb/rawBson.js';

const N = Number(process.env.MICRO_N ?? 200_000);
const BATCH = 2000;
const rounds = Number(process.argv[2] ?? 5);

const shape: TableShape = { ref: { database: 'bench', table: 'items' }, columns: [], key: ['_id'] };
const ctx: OplogContext = { shapeFor: (ref: TableRef) => (ref.table === 'items' ? shape : null), databaseSelected: () => true };

function entry(i: number): Uint8Array {
  const h = (i * 2654435761) >>> 0;
  return BSON.serialize({
    op: 'i',
    ns: 'bench.items',
    ui: new Binary(Buffer.alloc(16, 1), 4),
    o: {
      _id: new Int32(i),
      sku: `sku-${String(i % 100000).padStart(6, '0')}`,
      customer: `customer-${i % 9973}`,
      qty: new Int32((i % 17) + 1),
      price: new Double((i % 100000) / 100),
      created: new Date(Date.UTC(2026, 0, 1) + i),
      note: `${h.toString(16).padStart(8, '0')}-${'abcdefghij'.repeat(11)}`,
    },
    ts: new Timestamp({ t: 1_790_000_000 + (i >> 10), i: (i & 1023) + 1 }),
    t: Long.fromNumber(1),
    v: Long.fromNumber(2),
    wall: new Date(Date.UTC(2026, 0, 1) + i),
  });
}

const entries = Array.from({ length: N }, (_, i) => entry(i));
const fmt = createCanalJson();
const sink = new KafkaSink({
  brokers: ['127.0.0.1:1'], topic: 'bench', format: fmt, documents: true, sourceName: 'MongoDB', compression: 'none', acks: 'all',
  partitionPolicy: 'keyHash', maxMessageBytes: 1_000_000, createTopics: false, conflictMode: 'ignoreAndProceed',
});
(sink as unknown as { partitions: Map<string, number> }).partitions.set('bench', 4);
const pack = (sink as unknown as { packForWorker(events: readonly ChangeEvent[]): unknown }).packForWorker.bind(sink);

let keep: unknown = null;
/** Entries [from, from + BATCH) → change events (the oplog reader's per-entry work). */
function read(from: number, whole: boolean): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  const to = Math.min(entries.length, from + BATCH);
  for (let i = from; i < to; i++) {
    const raw = entries[i] as Uint8Array;
    if (whole) {
      for (const c of convertOplogEntry(decodeDocument<OplogEntry>(raw), ctx)) events.push(c.event);
    } else {
      const { entry, docBytes } = decodeOplogEntry(raw);
      for (const c of convertOplogEntry(entry, ctx, -1, docBytes)) events.push(c.event);
    }
  }
  return events;
}
// Batch by batch, as the pipeline does: only one batch of events is alive at a time.
const cases: Array<[string, () => void]> = [
  ['read', () => { for (let i = 0; i < N; i += BATCH) keep = read(i, false); }],
  ['read (whole entry)', () => { for (let i = 0; i < N; i += BATCH) keep = read(i, true); }],
  ['read + sink', () => { for (let i = 0; i < N; i += BATCH) keep = pack(read(i, false)); }],
];

const results = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of cases) {
    if (process.env.MICRO_ONLY && name !== process.env.MICRO_ONLY) continue;
    // CPU time of the process, not wall time: a shared machine's stolen time does not count.
    const cpu = process.cpuUsage();
    fn();
    const used = process.cpuUsage(cpu);
    const us = (used.user + used.system) / N;
    if (r === 0 && rounds > 1) continue;
    let list = results.get(name);
    if (!list) results.set(name, (list = []));
    list.push(us);
  }
}
void keep;
console.log(`CPU µs/entry over ${N} oplog inserts, ${rounds > 1 ? rounds - 1 : 1} measured rounds (first round is warm-up)`);
for (const [name, xs] of results) {
  const s = [...xs].sort((a, b) => a - b);
  console.log(`${name.padEnd(22)} min ${(s[0] as number).toFixed(2)}  median ${(s[Math.floor(s.length / 2)] as number).toFixed(2)}`);
}
