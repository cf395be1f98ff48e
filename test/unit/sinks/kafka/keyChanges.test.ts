import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Row, TableShape } from '../../../../src/core/events.js';
import { SequencePosition } from '../../../../src/core/position.js';
import { createCanalJson, createDtsAvro, createShareplexJson, type Format } from '../../../../src/formats/index.js';
import { dtsRecordType } from '../../../../src/formats/dts-avro.js';
import { relationalKeyChanged } from '../../../../src/formats/key.js';
import { KafkaSink, NEW_KEY_HEADER, OLD_KEY_HEADER, splitKeyChange, type PartitionPolicy } from '../../../../src/sinks/kafka/index.js';
import { Router } from '../../../../src/sinks/kafka/routing.js';
import type { PackedBatch } from '../../../../src/sinks/kafka/workerProducer.js';

const orders: TableShape = {
  ref: { database: 'shop', schema: 'public', table: 'orders' },
  columns: [
    { name: 'id', type: 'int8', typeId: 20 },
    { name: 'status', type: 'text', typeId: 25 },
  ],
  key: ['id'],
};
const lines: TableShape = {
  ref: { database: 'shop', schema: 'public', table: 'lines' },
  columns: [
    { name: 'order_id', type: 'int8', typeId: 20 },
    { name: 'line', type: 'int4', typeId: 23 },
    { name: 'sku', type: 'text', typeId: 25 },
  ],
  key: ['order_id', 'line'],
};

let pos = 100n;
function ev(op: 'insert' | 'update' | 'delete', shape: TableShape, before: Row | null, after: Row | null): ChangeEvent {
  pos += 1n;
  return { op, shape, snapshot: false, before, after, commitTime: 1_700_000_000_000, position: new SequencePosition(pos), tx: { id: '77', seq: Number(pos), size: 9 }, bytes: 40 };
}

describe('relationalKeyChanged', () => {
  it('is true only when both images carry the key and its text differs', () => {
    expect(relationalKeyChanged(ev('update', orders, { id: '1', status: 'a' }, { id: '101', status: 'a' }))).toBe(true);
    // Same key, old image present (REPLICA IDENTITY FULL) or absent (DEFAULT, key unchanged).
    expect(relationalKeyChanged(ev('update', orders, { id: '1', status: 'a' }, { id: '1', status: 'b' }))).toBe(false);
    expect(relationalKeyChanged(ev('update', orders, null, { id: '1', status: 'b' }))).toBe(false);
    // The same text in another JS type is the same key (the record key is made of the text).
    expect(relationalKeyChanged(ev('update', orders, { id: 42 }, { id: '42' }))).toBe(false);
    expect(relationalKeyChanged(ev('update', orders, { id: 2n ** 64n }, { id: '18446744073709551616' }))).toBe(false);
    expect(relationalKeyChanged(ev('update', orders, { id: Buffer.from('ab') }, { id: Buffer.from('ab') }))).toBe(false);
    expect(relationalKeyChanged(ev('update', orders, { id: Buffer.from('ab') }, { id: Buffer.from('ac') }))).toBe(true);
    // A key column that becomes NULL (a UNIQUE key) or stops being NULL changes the key.
    expect(relationalKeyChanged(ev('update', orders, { id: null }, { id: '5' }))).toBe(true);
    expect(relationalKeyChanged(ev('update', orders, { id: null }, { id: null }))).toBe(false);
    // One column of a composite key.
    expect(relationalKeyChanged(ev('update', lines, { order_id: '7', line: '1', sku: 'x' }, { order_id: '7', line: '11', sku: 'x' }))).toBe(true);
    // An old image without every key column says nothing about the key.
    expect(relationalKeyChanged(ev('update', lines, { order_id: '7' }, { order_id: '8', line: '1' }))).toBe(false);
    // Not updates; tables without a key.
    expect(relationalKeyChanged(ev('delete', orders, { id: '1' }, null))).toBe(false);
    expect(relationalKeyChanged(ev('update', { ...orders, key: [] }, { id: '1' }, { id: '2' }))).toBe(false);
  });
});

describe('splitKeyChange', () => {
  it('turns a key-changing update into a delete of the old image and an insert of the new one, at the same position', () => {
    const e = ev('update', orders, { id: '1', status: 'new' }, { id: '101', status: 'paid' });
    const [del, ins] = splitKeyChange(e)!;
    expect(del).toMatchObject({ op: 'delete', before: { id: '1', status: 'new' }, after: null, snapshot: false, commitTime: e.commitTime, tx: e.tx });
    expect(ins).toMatchObject({ op: 'insert', before: null, after: { id: '101', status: 'paid' }, snapshot: false, commitTime: e.commitTime, tx: e.tx });
    expect(del.position).toBe(e.position);
    expect(ins.position).toBe(e.position);
    expect(del.shape).toBe(orders);
    // The input is not modified.
    expect(e.op).toBe('update');
  });

  it('leaves every other event alone', () => {
    expect(splitKeyChange(ev('update', orders, { id: '1', status: 'a' }, { id: '1', status: 'b' }))).toBeNull();
    expect(splitKeyChange(ev('insert', orders, null, { id: '1' }))).toBeNull();
    expect(splitKeyChange(ev('delete', orders, { id: '1' }, null))).toBeNull();
  });
});

/** The messages of a packed batch: partition, key, headers and value, in order. */
function unpack(p: PackedBatch): Array<{ partition: number; key: string | null; value: Buffer; headers: Record<string, string> | undefined }> {
  const data = Buffer.from(p.data);
  const headers = new Map(p.headers ?? []);
  const out = [];
  for (let i = 0; i < p.count; i++) {
    const o = i * 6;
    const keyLen = p.index[o + 3]!;
    out.push({
      partition: p.index[o + 1]!,
      key: keyLen < 0 ? null : data.toString('utf8', p.index[o + 2]!, p.index[o + 2]! + keyLen),
      value: data.subarray(p.index[o + 4]!, p.index[o + 4]! + p.index[o + 5]!),
      headers: headers.get(i),
    });
  }
  return out;
}

const dts = dtsRecordType();
const formats: Array<[string, Format, (v: Buffer) => string]> = [
  ['canal-json', createCanalJson(), (v) => (JSON.parse(v.toString()) as { type: string }).type],
  ['dts-avro', createDtsAvro(), (v) => (dts.fromBuffer(v) as { operation: string }).operation],
  ['shareplex-json', createShareplexJson(), (v) => ({ ins: 'INSERT', upd: 'UPDATE', del: 'DELETE' })[(JSON.parse(v.toString()) as { meta: { op: 'ins' | 'upd' | 'del' } }).meta.op]!],
];

describe('KafkaSink: a key-changing update in a batch', () => {
  const PARTITIONS = 8;
  const partitionOf = (id: string) => new Router({ topic: 't', policy: 'keyHash' }).partitionOf(ev('insert', orders, null, { id, status: 'x' }), PARTITIONS);
  // Two keys on different partitions, so a message on the wrong one shows.
  const k1 = '1';
  const k2 = ['101', '1001', '10001', '2', '3'].find((k) => partitionOf(k) !== partitionOf(k1))!;

  function sink(format: Format, policy: PartitionPolicy): KafkaSink {
    const s = new KafkaSink({
      brokers: ['127.0.0.1:1'], topic: 't', format, documents: false, sourceName: 'PostgreSQL', compression: 'none', acks: 'all',
      partitionPolicy: policy, maxMessageBytes: 1 << 20, createTopics: false, conflictMode: 'ignoreAndProceed',
    });
    // What the sink learns from the broker's metadata before it routes.
    (s as unknown as { partitions: Map<string, number> }).partitions.set('t', PARTITIONS);
    return s;
  }

  const batch = () => [
    ev('insert', orders, null, { id: k1, status: 'new' }),
    ev('update', orders, { id: k1, status: 'new' }, { id: k1, status: 'paid' }),
    ev('update', orders, { id: k1, status: 'paid' }, { id: k2, status: 'paid' }),
    ev('update', orders, { id: k2, status: 'paid' }, { id: k2, status: 'sent' }),
    ev('delete', orders, { id: k2, status: 'sent' }, null),
  ];

  for (const [name, format, opOf] of formats) {
    it(`${name}, keyHash: the old key ends on its partition with a DELETE, the new key begins on its own with an INSERT`, () => {
      const msgs = unpack(sink(format, 'keyHash').packForWorker(batch())!.packed);
      const p1 = partitionOf(k1);
      const p2 = partitionOf(k2);
      // Messages of one partition are in batch order; compare per key.
      const history = (key: string) => msgs.filter((m) => m.key === `["${key}"]`).map((m) => `${opOf(m.value)}@${m.partition}`);
      expect(history(k1)).toEqual([`INSERT@${p1}`, `UPDATE@${p1}`, `DELETE@${p1}`]);
      expect(history(k2)).toEqual([`INSERT@${p2}`, `UPDATE@${p2}`, `DELETE@${p2}`]);
      expect(msgs).toHaveLength(6);
      expect(msgs[2]!.headers).toEqual({ [NEW_KEY_HEADER]: `["${k2}"]` });
      expect(msgs[3]!.headers).toEqual({ [OLD_KEY_HEADER]: `["${k1}"]` });
      expect(msgs.filter((m) => m.headers !== undefined)).toHaveLength(2);
    });
  }

  for (const policy of ['partition0', 'tableHash'] as const) {
    it(`${policy}: the same DELETE and INSERT, in order on the one partition the table uses`, () => {
      const msgs = unpack(sink(createCanalJson(), policy).packForWorker(batch())!.packed);
      expect(msgs.map((m) => `${JSON.parse(m.value.toString()).type as string} ${m.key}`)).toEqual([
        `INSERT ["${k1}"]`, `UPDATE ["${k1}"]`, `DELETE ["${k1}"]`, `INSERT ["${k2}"]`, `UPDATE ["${k2}"]`, `DELETE ["${k2}"]`,
      ]);
      expect(new Set(msgs.map((m) => m.partition)).size).toBe(1);
      if (policy === 'partition0') expect(msgs[0]!.partition).toBe(0);
    });
  }

  it('MongoDB sources are not split (an _id cannot change)', () => {
    const s = new KafkaSink({
      brokers: ['127.0.0.1:1'], topic: 't', format: createCanalJson(), documents: true, sourceName: 'MongoDB', compression: 'none', acks: 'all',
      partitionPolicy: 'keyHash', maxMessageBytes: 1 << 20, createTopics: false, conflictMode: 'ignoreAndProceed',
    });
    const coll: TableShape = { ref: { database: 'db', table: 'c' }, columns: [], key: ['_id'] };
    const msgs = unpack(s.packForWorker([ev('update', coll, { _id: 1 }, { _id: 1, a: 2 })])!.packed);
    expect(msgs.map((m) => (JSON.parse(m.value.toString()) as { type: string }).type)).toEqual(['UPDATE']);
  });
});
