/**
 * Stage microbenchmarks: encoders (µs/event), codecs (MB/s on realistic record batches, and raw
 * kafkajs production per codec against uncompressed), and throttleRate accuracy in real time.
 */
import kafkajs, { CompressionTypes, type Message } from 'kafkajs';
import { Subject } from 'rxjs';
import { lz4Codec, registerCodecs, snappyCodec } from '../../src/codecs/index.js';
import type { ChangeEvent, TableShape } from '../../src/core/events.js';
import { createCanalJson, createDtsAvro, createShareplexJson, type EncodeContext, type Format } from '../../src/formats/index.js';
import { ThrottleController, throttleRate } from '../../src/operators/throttleRate.js';
import { PgPosition } from '../../src/sources/postgres/position.js';
import { postgresColumn } from '../../src/sources/postgres/values.js';
import { MB, createTopic, deleteTopics, round, sleep, uniqueName, type ScenarioContext } from '../lib.js';
import { rawProduce } from './pgIncremental.js';

const shape: TableShape = {
  ref: { database: 'bench', schema: 'public', table: 'items' },
  columns: [
    { name: 'id', type: 'int8', typeId: 20 },
    { name: 'sku', type: 'text', typeId: 25 },
    { name: 'customer', type: 'text', typeId: 25 },
    { name: 'qty', type: 'int4', typeId: 23 },
    { name: 'price', type: 'numeric', typeId: 1700, precision: 12, scale: 2 },
    { name: 'created', type: 'timestamptz', typeId: 1184 },
    { name: 'note', type: 'text', typeId: 25 },
  ].map(postgresColumn),
  key: ['id'],
};

function hex(i: number, len: number): string {
  let s = '';
  let x = (i * 2654435761) >>> 0;
  while (s.length < len) {
    s += x.toString(16).padStart(8, '0');
    x = (x * 1103515245 + 12345) >>> 0;
  }
  return s.slice(0, len);
}

/** Events as the PostgreSQL stream produces them for the benchmark table: 80% inserts, 20% updates. */
export function syntheticEvents(n: number): ChangeEvent[] {
  const out: ChangeEvent[] = [];
  const base = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 1; i <= n; i++) {
    const row = (v: number) => ({
      id: String(i),
      sku: `sku-${String(i % 100000).padStart(6, '0')}`,
      customer: `customer-${i % 9973}`,
      qty: (i % 17) + v,
      price: ((i % 100000) / 100).toFixed(2),
      created: `2026-01-01 00:${String(Math.floor(i / 60000) % 60).padStart(2, '0')}:${String(Math.floor(i / 1000) % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}123+00`,
      note: hex(i, 120),
    });
    const update = i % 5 === 0;
    out.push({
      op: update ? 'update' : 'insert',
      shape,
      snapshot: false,
      before: update ? row(0) : null,
      after: row(update ? 1 : 0),
      commitTime: base + Math.floor(i / 100),
      position: new PgPosition(BigInt(0x1000000 + Math.floor(i / 100) * 4096), (i % 100) + 1, BigInt(0x1000000 + Math.floor(i / 100 - 1) * 4096)),
      tx: { id: String(1000 + Math.floor(i / 100)), seq: (i % 100) + 1 },
      bytes: 200,
    });
  }
  return out;
}

function encodeRate(format: Format, events: ChangeEvent[], reps: number): { us: number; avgBytes: number } {
  const ctx: EncodeContext = { sequence: 0, now: Date.now(), documents: false, sourceName: 'PostgreSQL' };
  let bytes = 0;
  for (const e of events.slice(0, 20_000)) {
    ctx.sequence = (ctx.sequence as number) + 1;
    format.encode(e, ctx);
  }
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    for (const e of events) {
      ctx.sequence = (ctx.sequence as number) + 1;
      const rec = format.encode(e, ctx);
      bytes += rec.value.length;
    }
  }
  const count = events.length * reps;
  return { us: ((performance.now() - t0) * 1000) / count, avgBytes: bytes / count };
}

async function codecRate(compress: (b: Buffer) => Promise<Buffer>, batch: Buffer, minMs: number): Promise<{ mbps: number; ratio: number }> {
  await compress(batch);
  let n = 0;
  let out = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    out = (await compress(batch)).length;
    n += 1;
  }
  return { mbps: (batch.length * n) / MB / ((performance.now() - t0) / 1000), ratio: batch.length / out };
}

async function throttleAccuracy(rate: number, seconds: number): Promise<number> {
  const subject = new Subject<{ bytes: number }>();
  const times: number[] = [];
  const sub = subject.pipe(throttleRate(new ThrottleController({ eventsPerSecond: rate }))).subscribe(() => times.push(performance.now()));
  const t0 = performance.now();
  const total = Math.ceil(rate * (seconds + 1.5));
  for (let i = 0; i < total; i++) subject.next({ bytes: 100 });
  await sleep((seconds + 0.6) * 1000);
  sub.unsubscribe();
  // Steady state only: skip the first 0.5 s (the bucket's initial burst).
  const from = t0 + 500;
  const to = from + seconds * 1000;
  return times.filter((t) => t >= from && t < to).length / seconds;
}

export async function stages(ctx: ScenarioContext): Promise<void> {
  registerCodecs();
  const events = syntheticEvents(ctx.quick ? 50_000 : 200_000);
  const reps = ctx.quick ? 2 : 3;
  const formats: Array<[string, Format]> = [
    ['Canal JSON', createCanalJson()],
    ['DTS Avro', createDtsAvro()],
    ['Shareplex JSON', createShareplexJson()],
  ];
  const canal = createCanalJson();
  const ectx: EncodeContext = { sequence: 0, now: Date.now(), documents: false, sourceName: 'PostgreSQL' };
  const sample: Message[] = events.slice(0, 5000).map((e, i) => {
    ectx.sequence = i + 1;
    const r = canal.encode(e, ectx);
    return { key: r.key, value: r.value };
  });
  for (const [name, f] of formats) {
    const r = encodeRate(f, events, reps);
    ctx.row({ metric: `encode ${name}`, value: round(r.us, 2), unit: 'µs/event', note: `${round(1e6 / r.us, 0)} events/s/core, ${round(r.avgBytes, 0)} B avg, 80% insert / 20% update` });
  }
  const naive = (() => {
    const t0 = performance.now();
    let b = 0;
    for (const e of events) b += JSON.stringify({ database: 'bench', table: 'items', type: e.op.toUpperCase(), es: e.commitTime, ts: Date.now(), data: [e.after], old: e.before ? [e.before] : null }).length;
    return { us: ((performance.now() - t0) * 1000) / events.length, b };
  })();
  ctx.row({ metric: 'reference: naive JSON.stringify envelope', value: round(naive.us, 2), unit: 'µs/event', note: 'design note says ~5.6 µs' });

  // A realistic record batch: 5000 Canal JSON values with their keys, as kafkajs frames them.
  const batch = Buffer.concat(sample.flatMap((m) => [m.key as Buffer, m.value as Buffer]));
  const gzip = (kafkajs as unknown as { CompressionCodecs: Record<number, () => { compress(e: { buffer: Buffer }): Promise<Buffer> }> }).CompressionCodecs[CompressionTypes.GZIP]?.();
  const codecs: Array<[string, (b: Buffer) => Promise<Buffer>]> = [
    ['lz4', (b) => lz4Codec.compress({ buffer: b })],
    ['snappy', (b) => snappyCodec.compress({ buffer: b })],
    ...(gzip ? [['gzip', (b: Buffer) => gzip.compress({ buffer: b })] as [string, (b: Buffer) => Promise<Buffer>]] : []),
  ];
  for (const [name, fn] of codecs) {
    const r = await codecRate(fn, batch, ctx.quick ? 700 : 2000);
    ctx.row({ metric: `compress ${name}`, value: round(r.mbps, 0), unit: 'MB/s', note: `${round(batch.length / MB, 2)} MB batch of 5000 Canal JSON records, ratio ${round(r.ratio, 1)}:1, ${round((batch.length / 5000 / (r.mbps * MB)) * 1e6, 2)} µs/event` });
  }

  // Compression cost where it counts: raw kafkajs production per codec vs uncompressed.
  const topic = uniqueName('bench_codec');
  const n = ctx.quick ? 50_000 : 200_000;
  try {
    await createTopic(topic, 3);
    await rawProduce(topic, sample, 10_000, CompressionTypes.None); // warm-up: connections, metadata, JIT
    const none = await rawProduce(topic, sample, n, CompressionTypes.None);
    ctx.row({ metric: 'produce none (kafkajs + src/kafka/patches, acks all)', value: round(none.rate, 0), unit: 'msgs/s', note: `${round(none.mbps, 1)} MB/s, ${n} msgs` });
    for (const [name, type, min] of [['lz4', CompressionTypes.LZ4, 0.9], ['snappy', CompressionTypes.Snappy, 0.9], ['gzip', CompressionTypes.GZIP, 0.5]] as const) {
      const r = await rawProduce(topic, sample, n, type);
      const keep = r.rate / none.rate;
      ctx.row({ metric: `produce ${name}: share of uncompressed`, value: round(keep * 100, 0), unit: '%', target: `≥${min * 100}%`, meets: keep >= min, note: `${round(r.rate, 0)} msgs/s` });
    }
  } finally {
    await deleteTopics(topic);
  }

  for (const rate of [5_000, 20_000]) {
    const seconds = ctx.quick ? 2 : 4;
    const achieved = await throttleAccuracy(rate, seconds);
    const err = Math.abs(achieved - rate) / rate;
    ctx.row({ metric: `throttleRate ${rate.toLocaleString('en')}/s`, value: round(achieved, 0), unit: 'events/s', target: '±5%', meets: err <= 0.05, note: `${round(err * 100, 1)}% off over ${seconds} s (after 0.5 s)` });
  }
}
