/**
 * The one-pass record batch and Produce request encoders against kafkajs' own encoders (the
 * original modules, compiled fresh from node_modules so the installed replacement does not
 * shadow them): byte-identical for uncompressed batches; compressed batches decoded by kafkajs'
 * decoder; CRC-32C against the published check value.
 */
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/kafka/crc32c.js';
import { encodeRecordBatch, type RecordInput } from '../../../src/kafka/recordBatch.js';
import { encodeProduceBody } from '../../../src/kafka/fastProduceRequest.js';
import { frameRequest } from '../../../src/kafka/fastRequestFraming.js';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { lz4Codec } from '../../../src/codecs/lz4.js';

const require = createRequire(import.meta.url);

/** Loads a kafkajs source file as a new module instance (ignoring anything in the module cache for it). */
function original<T>(path: string): T {
  const file = require.resolve(path);
  const m = new Module(file);
  m.filename = file;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(file);
  (m as unknown as { _compile(src: string, file: string): void })._compile(readFileSync(file, 'utf8'), file);
  return m.exports as T;
}

interface KjsEncoder {
  buffer: Buffer;
}
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => KjsEncoder;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (o: object) => Promise<KjsEncoder> };
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  records: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Buffer[]>; timestamp: string; offset: string }>;
  firstTimestamp: string;
  maxTimestamp: string;
  inTransaction: boolean;
}>;
const compression = require('kafkajs/src/protocol/message/compression/index.js') as { Codecs: Record<number, () => unknown>; lookupCodec: (t: number) => never };
compression.Codecs[3] = () => lz4Codec;

const T0 = 1_700_000_000_000;
const records: RecordInput[] = [
  { key: Buffer.from('k1'), value: Buffer.from('{"a":1}'), timestamp: String(T0) },
  { key: null, value: Buffer.from('x'.repeat(300)), timestamp: String(T0 + 5) },
  { key: 'string key', value: 'é string value', timestamp: String(T0 + 1) },
  { key: Buffer.from('k4'), value: null, timestamp: String(T0 + 2), headers: { a: 'one', b: Buffer.from([0, 1, 2]), c: ['x', 'y'] } },
  { key: Buffer.alloc(0), value: Buffer.alloc(20_000, 7), timestamp: String(T0 + 200_000) },
];

async function kafkajsBatch(rs: RecordInput[], opts: { compression: number; producerId?: bigint; producerEpoch?: number; firstSequence?: number; transactional?: boolean }): Promise<Buffer> {
  const stamps = rs.map((r) => Number(r.timestamp));
  const first = Math.min(...stamps);
  const enc = await RecordBatch({
    compression: opts.compression,
    records: rs.map((r, i) => Record({ ...r, offsetDelta: i, timestampDelta: Number(r.timestamp) - first })),
    firstTimestamp: first,
    maxTimestamp: Math.max(...stamps),
    producerId: { value: opts.producerId ?? -1n, toString: () => String(opts.producerId ?? -1n) },
    producerEpoch: opts.producerEpoch ?? 0,
    firstSequence: opts.firstSequence ?? 0,
    transactional: opts.transactional ?? false,
    lastOffsetDelta: rs.length - 1,
  });
  return enc.buffer;
}

describe('crc32c', () => {
  it('matches the CRC-32C check value and kafkajs at every alignment', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const ref = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
    const data = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37) & 255));
    for (let len = 0; len < 40; len++) expect(crc32c(data.subarray(3, 3 + len))).toBe(ref(data.subarray(3, 3 + len)));
  });
});

describe('encodeRecordBatch', () => {
  it('writes the same bytes as kafkajs for an uncompressed batch (keys, nulls, strings, headers, timestamps)', async () => {
    const ours = await encodeRecordBatch(records, { compression: 0 });
    expect(ours.equals(await kafkajsBatch(records, { compression: 0 }))).toBe(true);
  });

  it('writes the same bytes as kafkajs for a transactional, idempotent batch', async () => {
    const opts = { compression: 0, producerId: 4242n, producerEpoch: 3, firstSequence: 17, transactional: true };
    const ours = await encodeRecordBatch(records.slice(0, 3), opts);
    expect(ours.equals(await kafkajsBatch(records.slice(0, 3), opts))).toBe(true);
  });

  it('gives records without a timestamp the batch time', async () => {
    const ours = await encodeRecordBatch([{ key: null, value: 'v' }], { compression: 0, now: T0 });
    const decoded = await decodeBatch(new Decoder(ours));
    expect(decoded.records[0]?.timestamp).toBe(String(T0));
  });

  it('compresses the records section as a whole (LZ4) so that kafkajs decodes every record back', async () => {
    const many: RecordInput[] = Array.from({ length: 2000 }, (_, i) => ({ key: `key-${i}`, value: `{"id":${i},"name":"row ${i}"}`, timestamp: String(T0 + (i % 7)) }));
    const ours = await encodeRecordBatch(many, { compression: 3, compress: (b) => lz4Codec.compress({ buffer: b } as never), transactional: true });
    expect(ours.readInt16BE(21) & 0x07).toBe(3);
    expect(ours.readUInt32BE(17)).toBe(crc32c(ours, 21));
    expect(ours.length).toBeLessThan(many.length * 20);
    const decoded = await decodeBatch(new Decoder(ours));
    expect(decoded.inTransaction).toBe(true);
    expect(decoded.records.map((r) => [r.key?.toString(), r.value?.toString(), r.timestamp, r.offset])).toEqual(
      many.map((m, i) => [m.key, m.value, m.timestamp, String(i)]),
    );
    expect([decoded.firstTimestamp, decoded.maxTimestamp]).toEqual([String(T0), String(T0 + 6)]);
  });

  it('keeps concurrent batches apart when an asynchronous codec still reads one while the next is encoded', async () => {
    const gz = promisify(gzip);
    const batchOf = (tag: string): RecordInput[] => Array.from({ length: 500 }, (_, i) => ({ key: `${tag}-${i}`, value: `${tag}:${'v'.repeat(i % 50)}`, timestamp: String(T0) }));
    const tags = ['a', 'b', 'c', 'd'];
    const batches = await Promise.all(tags.map((t) => encodeRecordBatch(batchOf(t), { compression: 1, compress: (b) => gz(b) })));
    for (const [i, b] of batches.entries()) {
      const decoded = await decodeBatch(new Decoder(b));
      expect(decoded.records.map((r) => r.key?.toString())).toEqual(batchOf(tags[i] as string).map((r) => r.key));
      expect(decoded.records.map((r) => r.value?.toString())).toEqual(batchOf(tags[i] as string).map((r) => r.value));
    }
  });

  it('refuses an empty batch', async () => {
    await expect(encodeRecordBatch([], { compression: 0 })).rejects.toThrow(/at least one record/);
  });

  it('writes multi-byte varints for large values and deltas', async () => {
    const big: RecordInput[] = [
      { key: null, value: Buffer.alloc(3_000_000, 1), timestamp: String(T0) },
      { key: null, value: 'v', timestamp: String(T0 + 2 ** 40) },
    ];
    const ours = await encodeRecordBatch(big, { compression: 0 });
    expect(ours.equals(await kafkajsBatch(big, { compression: 0 }))).toBe(true);
  });
});

describe('encodeProduceBody', () => {
  it('writes the same Produce v3 body as the kafkajs request it replaces', async () => {
    const produceV3 = original<(a: object) => { encode(): Promise<KjsEncoder> }>('kafkajs/src/protocol/requests/produce/v3/request.js');
    const topicData = [
      { topic: 'alpha', partitions: [{ partition: 0, messages: records.slice(0, 2) }, { partition: 2, messages: records.slice(2) }] },
      { topic: 'béta', partitions: [{ partition: 1, firstSequence: 9, messages: records.slice(1, 3) }] },
    ];
    // kafkajs' default producer id is a Long; a transactional producer's is InitProducerId's decimal string.
    for (const [transactionalId, producerId] of [[null, { value: -1n }], ['tx-1', '4611686018427387904'], ['tx-2', { value: 77n }]] as const) {
      const args = { acks: -1, timeout: 30000, transactionalId, producerId, producerEpoch: 2, compression: 0, topicData };
      const theirs = (await produceV3(args).encode()).buffer;
      const ours = await encodeProduceBody(args, compression.lookupCodec);
      expect(ours.equals(theirs)).toBe(true);
    }
  });

  it('names a compression type that has no codec', async () => {
    await expect(encodeProduceBody({ acks: 1, timeout: 1000, compression: 4, topicData: [] }, () => null)).rejects.toThrow(/compression type 4/);
  });
});

describe('frameRequest', () => {
  it('frames a request with the same bytes as the kafkajs framing it replaces', async () => {
    const createRequest = original<(a: object) => Promise<KjsEncoder>>('kafkajs/src/protocol/request.js');
    const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 255));
    for (const clientId of ['tributary', 'clïent', null]) {
      const theirs = await createRequest({ correlationId: 12345, clientId, request: { apiKey: 0, apiVersion: 7, encode: async () => ({ buf: body, buffer: body }) } });
      expect(frameRequest(12345, clientId, 0, 7, body).equals(theirs.buffer)).toBe(true);
    }
  });
});
