/**
 * The plug-in contract's proof: a source written only for the tests (test/fixtures/plugins/
 * memory-source/, nothing of it in src/) registered with one line, running full + incremental
 * synchronization into the real Kafka broker in every format; the messages are read back with a
 * real consumer and checked value by value. The formats know nothing of this source: they map the
 * neutral types its converter declares.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime, defaultRegistry } from '../../src/index.js';
import { dtsRecordType } from '../../src/formats/index.js';
import { memorySource } from '../fixtures/plugins/memory-source/descriptor.js';
import { changeAt } from '../fixtures/plugins/memory-source/source.js';
import { itemRow } from '../fixtures/plugins/memory-source/values.js';
import { servers } from './servers.js';
import { deleteTopics, readTopic, uniqueName } from './support.js';

const ROWS = 40;
const CHANGES = 12;
const COLUMNS = ['id', 'name', 'price', 'active', 'created', 'payload', 'attrs'] as const;

/** A row as the text formats write it: the vocabulary's text of each value (bytes as hex). */
function textOf(row: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of COLUMNS) {
    const v = row[c];
    out[c] = Buffer.isBuffer(v) ? v.toString('hex') : String(v);
  }
  return out;
}

/** What the task must deliver, in order: the copy (any order between its two chunks), then the changes. */
const copied = Array.from({ length: ROWS }, (_, k) => textOf(itemRow(k + 1)));
const changes = Array.from({ length: CHANGES }, (_, k) => {
  const { op, id } = changeAt(ROWS, k + 1);
  return { op, position: String(k + 1), row: textOf(op === 'update' ? itemRow(id, 1) : itemRow(id)), before: textOf(itemRow(id)) };
});

/** One message, whatever its format, as operation, position text and row text. */
interface Seen {
  op: 'insert' | 'update' | 'delete';
  position: string | null;
  row: Record<string, string>;
}

const NS = 'com.alibaba.dts.formats.avro.';

/** A DTS Avro image value as text, by the Avro type the format chose for it. */
function avroText(wrapped: Record<string, Record<string, unknown>> | null): string {
  const [type, v] = Object.entries(wrapped ?? {})[0] ?? ['', {}];
  switch (type.slice(NS.length)) {
    case 'Integer':
      return v.precision === 1 ? String(v.value === '1') : String(v.value);
    case 'Decimal':
    case 'TextObject':
      return String(v.value);
    case 'Character':
      return (v.value as Buffer).toString('utf8');
    case 'BinaryObject':
      return (v.value as Buffer).toString('hex');
    case 'Timestamp': {
      // Unix seconds and microseconds: back to the vocabulary's text (UTC).
      const iso = new Date(Number(v.timestamp) * 1000).toISOString();
      return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(v.millis).padStart(6, '0')}+00`;
    }
    default:
      return `unexpected ${type}`;
  }
}

const decoders: Record<string, (value: Buffer) => Seen> = {
  'canal-json': (value) => {
    const m = JSON.parse(value.toString()) as { type: string; database: string; table: string; pkNames: string[]; data: Array<Record<string, string>>; mysqlType: Record<string, string>; sqlType: Record<string, number> };
    expect(m).toMatchObject({ database: 'public', table: 'items', pkNames: ['id'] });
    expect(m.mysqlType).toEqual({ id: 'bigint', name: 'varchar(40)', price: 'decimal(12,2)', active: 'boolean', created: 'timestamp(6)', payload: 'blob', attrs: 'json' });
    expect(m.sqlType).toEqual({ id: -5, name: 12, price: 3, active: 16, created: 93, payload: 2004, attrs: 12 });
    return { op: m.type.toLowerCase() as Seen['op'], position: null, row: m.data[0] ?? {} };
  },
  'dts-avro': (value) => {
    type Img = Array<Record<string, Record<string, unknown>> | null>;
    const r = dtsRecordType().fromBuffer(value) as {
      operation: string; objectName: { string: string }; sourcePosition: string; source: { sourceType: string };
      fields: { array: Array<{ name: string; dataTypeNumber: number }> }; beforeImages: { array: Img } | null; afterImages: { array: Img } | null;
    };
    expect(r.source.sourceType).toBe('OTHER'); // the published enum has no `Memory`
    expect(r.objectName.string).toBe('mem.public.items');
    expect(r.fields.array).toEqual(COLUMNS.map((name, i) => ({ name, dataTypeNumber: [20, 1043, 1700, 16, 1184, 17, 114][i] })));
    const image = (r.operation === 'DELETE' ? r.beforeImages : r.afterImages)?.array ?? [];
    return { op: r.operation.toLowerCase() as Seen['op'], position: r.sourcePosition, row: Object.fromEntries(COLUMNS.map((c, i) => [c, avroText(image[i] ?? null)])) };
  },
  'shareplex-json': (value) => {
    const m = JSON.parse(value.toString()) as { meta: { op: string; scn: string; table: string }; data: Record<string, string>; key?: Record<string, string> };
    expect(m.meta.table).toBe('public.items');
    const op = ({ ins: 'insert', upd: 'update', del: 'delete' } as const)[m.meta.op as 'ins' | 'upd' | 'del'];
    // An update carries the changed columns and the key.
    return { op, position: m.meta.scn, row: op === 'update' ? { ...m.key, ...m.data } : m.data };
  },
};

describe('a source registered by the embedding code (test/fixtures/plugins/memory-source)', () => {
  const topics: string[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    if (topics.length > 0) await deleteTopics(...topics).catch(() => undefined);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it.each(Object.keys(decoders))('runs full + incremental into Kafka as %s', async (format) => {
    const registry = defaultRegistry().register(memorySource); // the one registration line
    const runtime = createRuntime({ registry, alerts: false, confirmIntervalMs: 200 });
    const topic = uniqueName(`mem_${format.replace(/-/g, '_')}`);
    topics.push(topic);
    const dir = await mkdtemp(join(tmpdir(), 'trib-mem-'));
    dirs.push(dir);
    try {
      const task = runtime.add({
        name: uniqueName('mem').replace(/_/g, '-'),
        source: { type: 'memory', rows: ROWS, changes: CHANGES },
        destination: { kafka: { brokers: servers.kafka.brokers, topic, format, createTopics: true } },
        objects: [{ schema: 'public', table: 'items' }],
        checkpoints: { store: 'file', dir },
      });
      task.start();
      // The copy is done (and the task's topic created) when the task streams.
      await task.waitFor((s) => s.state === 'incremental', 90_000);
      const messages = await readTopic(topic, ROWS + CHANGES, { timeoutMs: 90_000 });
      const seen = messages.map((m) => decoders[format]?.(m.value as Buffer) as Seen);

      // Full synchronization: every row once, as an insert, with every value as the source made it.
      const copy = seen.slice(0, ROWS);
      expect(copy.every((s) => s.op === 'insert')).toBe(true);
      expect([...copy.map((s) => s.row)].sort((a, b) => Number(a.id) - Number(b.id))).toEqual(copied);
      // Incremental synchronization: the changes in order, at their positions.
      const streamed = seen.slice(ROWS);
      expect(streamed.map((s) => s.op)).toEqual(changes.map((c) => c.op));
      streamed.forEach((s, i) => {
        const want = changes[i] as (typeof changes)[number];
        if (s.position !== null) expect(s.position).toBe(want.position);
        if (format === 'shareplex-json' && s.op === 'update') {
          // Only what changed, and the key.
          const changed = Object.fromEntries(Object.entries(want.row).filter(([c, v]) => c === 'id' || want.before[c] !== v));
          expect(s.row).toEqual(changed);
        } else expect(s.row).toEqual(want.row);
      });
      // The task went on streaming, and confirmed the last change back to the source.
      await task.waitFor((s) => s.state === 'incremental' && s.position === String(CHANGES), 30_000);
    } finally {
      await runtime.shutdown();
    }
  }, 180_000);
});
