import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCodecs } from '../../src/codecs/index.js';
import { OversizedRecordError, TributaryError } from '../../src/core/errors.js';
import { DTS_RECORD_SCHEMA, createDtsAvro, dtsRecordType } from '../../src/formats/index.js';
import { SchemaRegistryFramer, hash32, type AckMode } from '../../src/sinks/kafka/index.js';
import { startRegistryStandIn } from '../unit/sinks/kafka/registryStandIn.js';
import { startBrokerStandIn } from './kafka-broker-standin.js';
import { batchOf, canalRow, change, endOffset, newSink, shape } from './kafka-sink-helpers.js';
import { servers } from './servers.js';
import { createTopic, deleteTopics, readTopic, uniqueName, withAdmin } from './support.js';

const topics: string[] = [];
async function topicWith(prefix: string, partitions = 1): Promise<string> {
  const t = uniqueName(prefix);
  topics.push(t);
  await createTopic(t, partitions);
  return t;
}

beforeAll(() => registerCodecs());
afterAll(async () => {
  if (topics.length > 0) await deleteTopics(...topics);
});

const orders = shape('orders');

describe('KafkaSink SASL authentication (SASL_PLAINTEXT listener)', () => {
  it.each(['scram-sha-256', 'scram-sha-512', 'plain'] as const)('authenticates with %s and writes messages that are read back', async (mechanism) => {
    const topic = await topicWith(`sasl_${mechanism.replace(/-/g, '')}`);
    const sink = newSink(topic, { brokers: [...servers.kafka.saslBrokers], sasl: { mechanism, username: servers.kafka.saslUser, password: servers.kafka.saslPassword } });
    const events = Array.from({ length: 10 }, (_, i) => change(orders, 'insert', { id: String(i), region: 'eu', v: `${mechanism}-${i}` }));
    try {
      await sink.write(batchOf(events));
    } finally {
      await sink.close();
    }
    const read = await readTopic(topic, 10);
    expect(read.map((m) => canalRow(m.value).v)).toEqual(events.map((_, i) => `${mechanism}-${i}`));
    expect(read.map((m) => m.key?.toString())).toEqual(events.map((_, i) => `["${i}"]`));
  });

  it.each(['scram-sha-256', 'scram-sha-512', 'plain'] as const)('a wrong password (%s) fails naming broker and mechanism, never the password', async (mechanism) => {
    const topic = await topicWith('sasl_bad');
    const password = `Wrong-${randomBytes(6).toString('hex')}`;
    const broker = servers.kafka.saslBrokers[0] ?? '';
    const sink = newSink(topic, { brokers: [broker], sasl: { mechanism, username: servers.kafka.saslUser, password } });
    const err = await sink.write(batchOf([change(orders, 'insert', { id: '1', region: 'eu', v: 'x' })])).then(
      () => null,
      (e: unknown) => e,
    );
    await sink.close();
    expect(err).toBeInstanceOf(TributaryError);
    const e = err as TributaryError;
    expect(e.code).toBe('DESTINATION_AUTH_FAILED');
    expect(e.message).toContain(broker);
    expect(e.message).toContain(mechanism.toUpperCase());
    expect(e.message).toContain(servers.kafka.saslUser);
    expect(e.message).not.toContain(password);
    expect(e.describe()).not.toContain(password);
    expect(JSON.stringify(e.toJSON())).not.toContain(password);
    expect(e.fix).toContain('destination.kafka.sasl');
    expect(await endOffset(topic)).toBe(0);

    const items = await sink.precheck();
    const connect = items.find((i) => i.id === 'destination.connect');
    expect(connect?.status).toBe('fail');
    expect(connect?.detail).toContain(broker);
    expect(connect?.detail).toContain(mechanism.toUpperCase());
    expect(JSON.stringify(items)).not.toContain(password);
  });
});

/**
 * A topic whose broker refuses records over 64 KiB (max.message.bytes). With acks 1 or -1 its
 * answer says so and the write fails; with acks 0 there is no answer to wait for, so the record is
 * lost without an error. (On this one-broker cluster nothing tells acks 1 from -1 broker-side:
 * Kafka caps min.insync.replicas at the replication factor, so acks=-1 is never refused for want of
 * replicas. The Produce requests seen by the stand-in broker tell all three apart.)
 */
async function smallRecordTopic(prefix: string): Promise<string> {
  const t = uniqueName(prefix);
  topics.push(t);
  await withAdmin((a) =>
    a.createTopics({ waitForLeaders: true, topics: [{ topic: t, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: String(64 * 1024) }] }] }),
  );
  return t;
}

const ACKS_ON_THE_WIRE: Record<AckMode, number> = { none: 0, leader: 1, all: -1 };

describe.each([
  ['the producer thread', true],
  ['the in-process producer', false],
] as const)('KafkaSink acknowledgement mechanisms (%s)', (_label, producerThread) => {
  const rows = (tag: string, n: number) => Array.from({ length: n }, (_, i) => change(orders, 'insert', { id: String(i), region: 'eu', v: `${tag}-${i}` }));
  /** One record of ~128 KiB of incompressible text: twice what the small-record topic accepts. */
  const tooBig = (tag: string) => change(orders, 'insert', { id: '999', region: 'eu', v: `${tag}-big-${randomBytes(96 * 1024).toString('base64')}` });

  it.each(['none', 'leader', 'all'] as AckMode[])('acks=%s is what every Produce request carries, and what the broker holds the write to', async (acks) => {
    // 1. On the wire: every Produce request the sink sends carries this mode's acks value.
    const standIn = await startBrokerStandIn(['acks_wire']);
    const wire = newSink('acks_wire', { acks, producerThread, brokers: [standIn.broker] });
    const seen = () => standIn.produced.reduce((n, r) => n + (r.records.acks_wire ?? 0), 0);
    try {
      await wire.write(batchOf(rows(acks, 25)));
      await wire.write(batchOf(rows(acks, 25)));
      // acks=0 resolves once the request is on the socket: give the stand-in the time to read it.
      for (const end = Date.now() + 10_000; seen() < 50 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await wire.close();
      await standIn.close();
    }
    expect(standIn.errors).toEqual([]);
    expect(standIn.produced.length).toBeGreaterThanOrEqual(2);
    expect(standIn.produced.map((r) => r.acks)).toEqual(standIn.produced.map(() => ACKS_ON_THE_WIRE[acks]));
    expect(seen()).toBe(50);

    // 2. A real broker: every message of an ordinary topic is written and read back in order.
    const topic = await topicWith(`acks_${acks}`);
    const sink = newSink(topic, { acks, producerThread });
    const events = rows(acks, 50);
    try {
      await sink.write(batchOf(events.slice(0, 25)));
      await sink.write(batchOf(events.slice(25)));
    } finally {
      await sink.close();
    }
    const read = await readTopic(topic, 50);
    expect(read.map((m) => canalRow(m.value).v)).toEqual(events.map((_, i) => `${acks}-${i}`));

    // 3. A real broker refusing a record: acks=0 does not wait for the answer and loses it
    //    silently; acks 1 and -1 wait and fail with the broker's reason. Nothing is written.
    const strict = await smallRecordTopic(`acks_${acks}_small`);
    const small = newSink(strict, { acks, producerThread, compression: 'none' });
    const before = rows(`${acks}-small`, 5);
    let err: unknown;
    try {
      await small.write(batchOf(before));
      err = await small.write(batchOf([tooBig(acks)])).then(() => null, (e: unknown) => e);
    } finally {
      await small.close();
    }
    if (acks === 'none') expect(err).toBeNull();
    else {
      expect(err).toBeInstanceOf(TributaryError);
      expect((err as TributaryError).message).toMatch(/larger than the max message size the server will accept/);
      expect((err as TributaryError).retriable).toBe(false);
    }
    // (acks=0 resolved before the broker appended anything: let it catch up with what it accepted.)
    for (const end = Date.now() + 10_000; (await endOffset(strict)) < before.length && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
    expect((await readTopic(strict, before.length)).map((m) => canalRow(m.value).v)).toEqual(before.map((e) => e.after?.v));
    expect(await endOffset(strict)).toBe(before.length);
  });
});

describe('KafkaSink partition policies (4 partitions)', () => {
  const a = shape('alpha');
  const b = shape('beta', 'sales');

  it('partition0 puts everything in partition 0', async () => {
    const topic = await topicWith('pp_p0', 4);
    const sink = newSink(topic, { partitionPolicy: 'partition0' });
    const events = Array.from({ length: 40 }, (_, i) => change(i % 2 ? a : b, 'insert', { id: String(i), region: 'eu', v: String(i) }));
    await sink.write(batchOf(events)).finally(() => sink.close());
    const read = await readTopic(topic, 40);
    expect(new Set(read.map((m) => m.partition))).toEqual(new Set([0]));
    expect(read.map((m) => canalRow(m.value).v)).toEqual(events.map((_, i) => String(i)));
  });

  it('tableHash puts each table in one partition, chosen by the hash of its name', async () => {
    const topic = await topicWith('pp_table', 4);
    const c = shape('gamma');
    const d = shape('delta');
    const sink = newSink(topic, { partitionPolicy: 'tableHash' });
    const tables = [a, b, c, d];
    const events = Array.from({ length: 80 }, (_, i) => change(tables[i % 4] ?? a, 'insert', { id: String(i), region: 'eu', v: String(i) }));
    await sink.write(batchOf(events)).finally(() => sink.close());
    const read = await readTopic(topic, 80);
    const byTable = new Map<string, Set<number>>();
    for (const m of read) {
      const t = (JSON.parse(m.value?.toString() ?? '{}') as { database: string; table: string });
      const k = `${t.database}.${t.table}`;
      byTable.set(k, (byTable.get(k) ?? new Set()).add(m.partition));
    }
    expect(byTable.size).toBe(4);
    for (const s of tables) {
      const k = `${s.ref.schema}.${s.ref.table}`;
      expect(byTable.get(k)).toEqual(new Set([hash32(k) % 4]));
    }
    // The four names do not all hash to one partition: the policy really spreads tables.
    expect(new Set(tables.map((s) => hash32(`${s.ref.schema}.${s.ref.table}`) % 4)).size).toBeGreaterThan(1);
  });

  it('keyHash keeps a key in one partition and its updates in order', async () => {
    const topic = await topicWith('pp_key', 4);
    const sink = newSink(topic, { partitionPolicy: 'keyHash' });
    const keys = 24;
    const rounds = 25;
    const events = [];
    for (let r = 0; r < rounds; r++) for (let k = 0; k < keys; k++) events.push(change(a, r === 0 ? 'insert' : 'update', { id: String(k), region: 'eu', v: String(r) }));
    try {
      for (let i = 0; i < events.length; i += 100) await sink.write(batchOf(events.slice(i, i + 100)));
    } finally {
      await sink.close();
    }
    const read = await readTopic(topic, keys * rounds);
    const parts = new Map<string, Set<number>>();
    const seen = new Map<string, number[]>();
    // Within a partition the consumer delivers in offset order; per key that is the write order.
    const byPartition = new Map<number, typeof read>();
    for (const m of read) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m]);
    for (const list of byPartition.values()) {
      list.sort((x, y) => Number(BigInt(x.offset) - BigInt(y.offset)));
      for (const m of list) {
        const row = canalRow(m.value);
        const id = row.id ?? '';
        parts.set(id, (parts.get(id) ?? new Set()).add(m.partition));
        seen.set(id, [...(seen.get(id) ?? []), Number(row.v)]);
      }
    }
    expect(parts.size).toBe(keys);
    for (let k = 0; k < keys; k++) {
      expect(parts.get(String(k))?.size).toBe(1);
      expect(seen.get(String(k))).toEqual(Array.from({ length: rounds }, (_, r) => r));
    }
    expect(new Set(read.map((m) => m.partition)).size).toBe(4);
  });

  it('keyHash with per-table partitionKey columns routes by those columns', async () => {
    const topic = await topicWith('pp_pkey', 4);
    const sink = newSink(topic, {
      partitionPolicy: 'keyHash',
      routeFor: (ref) => (ref.table === 'alpha' ? { partitionKey: ['region'] } : undefined),
    });
    const regions = ['eu', 'us', 'apac', 'latam', 'mea', 'cn'];
    const events = Array.from({ length: 60 }, (_, i) => change(a, 'insert', { id: String(i), region: regions[i % regions.length] ?? 'eu', v: String(i) }));
    await sink.write(batchOf(events)).finally(() => sink.close());
    const read = await readTopic(topic, 60);
    const byRegion = new Map<string, Set<number>>();
    for (const m of read) {
      const row = canalRow(m.value);
      byRegion.set(row.region ?? '', (byRegion.get(row.region ?? '') ?? new Set()).add(m.partition));
    }
    for (const r of regions) expect(byRegion.get(r)).toEqual(new Set([hash32(`${r}\u0001`) % 4]));
  });

  it('per-table topics created on the fly learn their partition count before routing', async () => {
    const main = await topicWith('pp_main', 1);
    const other = await topicWith('pp_other', 4);
    const sink = newSink(main, { partitionPolicy: 'keyHash', routeFor: (ref) => (ref.table === 'alpha' ? { topic: other } : undefined) });
    const events = Array.from({ length: 40 }, (_, i) => change(a, 'insert', { id: String(i), region: 'eu', v: String(i) }));
    await sink.write(batchOf(events)).finally(() => sink.close());
    const read = await readTopic(other, 40);
    expect(new Set(read.map((m) => m.partition)).size).toBe(4);
    expect(await endOffset(main)).toBe(0);
  });
});

describe('KafkaSink message size', () => {
  it('a record over maxMessageBytes fails naming table, key and size, and nothing of its batch is written', async () => {
    const topic = await topicWith('size_over');
    const sink = newSink(topic, { maxMessageBytes: 4096 });
    try {
      await sink.write(batchOf([change(orders, 'insert', { id: '1', region: 'eu', v: 'small' })]));
      expect(await endOffset(topic)).toBe(1);
      const batch = [
        change(orders, 'insert', { id: '2', region: 'eu', v: 'ok' }),
        change(orders, 'insert', { id: '77', region: 'eu', v: 'x'.repeat(8000) }),
        change(orders, 'insert', { id: '3', region: 'eu', v: 'ok' }),
      ];
      const err = await sink.write(batchOf(batch)).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(OversizedRecordError);
      const e = err as OversizedRecordError;
      expect(e.code).toBe('RECORD_TOO_LARGE');
      expect(e.retriable).toBe(false);
      expect(e.message).toContain('shop.public.orders');
      expect(e.message).toContain('["77"]');
      expect(e.message).toMatch(/encodes to 8\d{3} bytes, over the 4096-byte/);
      expect(e.field).toBe('destination.kafka.maxMessageBytes');
    } finally {
      await sink.close();
    }
    expect(await endOffset(topic)).toBe(1);
    const read = await readTopic(topic, 1);
    expect(canalRow(read[0]?.value ?? null).v).toBe('small');
  });

  it('a batch larger than the broker message.max.bytes (10 MB) is split and fully written', async () => {
    const topic = await topicWith('size_split');
    const sink = newSink(topic, { compression: 'none' });
    // 14 incompressible rows of ~1 MB: 14 MB in one batch, over the broker's 10 MB limit.
    const values = Array.from({ length: 14 }, () => randomBytes(750 * 1024).toString('base64'));
    const events = values.map((v, i) => change(orders, 'insert', { id: String(i), region: 'eu', v }));
    try {
      await sink.write(batchOf(events));
    } finally {
      await sink.close();
    }
    expect(await endOffset(topic)).toBe(14);
    const read = await readTopic(topic, 14, { timeoutMs: 60_000 });
    expect(read.map((m) => canalRow(m.value).v)).toEqual(values);
  });
});

describe('KafkaSink conflicting topics precheck', () => {
  it('precheckAndReport fails when a target topic already holds messages, naming it and the way out; ignoreAndProceed passes', async () => {
    const busy = await topicWith('conflict_busy');
    const w = newSink(busy);
    await w.write(batchOf([change(orders, 'insert', { id: '1', region: 'eu', v: 'old' })])).finally(() => w.close());

    const report = await newSink(busy, { conflictMode: 'precheckAndReport' }).precheck();
    const item = report.find((i) => i.id === 'destination.conflicting_topics');
    expect(item?.status).toBe('fail');
    expect(item?.detail).toContain(`${busy} (1 messages)`);
    expect(item?.fix).toContain('ignoreAndProceed');
    expect(item?.fix).toContain('another topic');

    const ignore = await newSink(busy, { conflictMode: 'ignoreAndProceed' }).precheck();
    expect(ignore.find((i) => i.id === 'destination.conflicting_topics')).toBeUndefined();
    expect(ignore.filter((i) => i.status === 'fail')).toEqual([]);
    expect(ignore.find((i) => i.id === 'destination.topics')?.status).toBe('pass');

    const empty = await topicWith('conflict_empty');
    const clean = await newSink(empty, { conflictMode: 'precheckAndReport' }).precheck();
    expect(clean.find((i) => i.id === 'destination.conflicting_topics')?.status).toBe('pass');
  });
});

describe('KafkaSink with a schema registry (Confluent-API stand-in over HTTP, real broker)', () => {
  it('registers <topic>-value and writes Confluent-framed DTS Avro that decodes back', async () => {
    const registry = await startRegistryStandIn();
    const topic = await topicWith('registry');
    const sink = newSink(topic, { format: createDtsAvro(), valueFramer: new SchemaRegistryFramer({ url: registry.url, schema: DTS_RECORD_SCHEMA }) });
    const events = Array.from({ length: 5 }, (_, i) => change(orders, 'insert', { id: String(i), region: 'eu', v: `r${i}` }));
    try {
      await sink.write(batchOf(events));
    } finally {
      await sink.close();
      await registry.close();
    }
    expect(registry.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /subjects/${topic}-value/versions`]);
    const read = await readTopic(topic, 5);
    const type = dtsRecordType();
    for (const m of read) {
      const v = m.value as Buffer;
      expect(v[0]).toBe(0);
      expect(v.readInt32BE(1)).toBe(1);
      const rec = type.fromBuffer(v.subarray(5)) as { objectName: { string: string } };
      expect(rec.objectName.string).toBe('shop.public.orders');
    }
  });
});
