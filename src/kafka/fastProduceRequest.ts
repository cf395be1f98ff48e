/**
 * A Produce request (versions 3–7 share this body) whose record batches are built by
 * `encodeRecordBatch` in one pass per partition, instead of kafkajs' per-record encoders.
 *
 * kafkajs 2.2.4 builds every record with its own zero-filled 512-byte encoder and sizes each
 * timestamp with BigInt arithmetic, then copies each record into the batch; on this project's
 * benchmark that made production the largest cost of a change (see bench/README.md). This module
 * installs a request factory with kafkajs' contract (`({ acks, timeout, transactionalId,
 * producerId, producerEpoch, compression, topicData }) → { apiKey, apiVersion, apiName,
 * expectResponse, encode }`) in Node's CommonJS module cache before kafkajs loads the original; v4–v7
 * require v3, so all of them use it. Responses, retries, idempotence and transactions stay kafkajs'.
 * `installKafkaFastPath()` (src/kafka/patches.ts) installs it; its status tells
 * whether it took effect.
 */
import { kafkajsRequire, replaceKafkajsModule } from './moduleCache.js';
import { encodeRecordBatch, type RecordInput } from './recordBatch.js';

interface KafkaLong {
  value: bigint;
}
interface PartitionData {
  partition: number;
  firstSequence?: number;
  messages: RecordInput[];
}
interface TopicData {
  topic: string;
  partitions: PartitionData[];
}
interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  /** kafkajs passes the InitProducerId answer as a decimal string, its default as a Long. */
  producerId?: KafkaLong | bigint | number | string;
  producerEpoch?: number;
  compression?: number;
  topicData: TopicData[];
}
interface EncoderLike {
  buf: Buffer;
  offset: number;
}
type EncoderClass = new () => EncoderLike;
type Codec = { compress(encoder: { buffer: Buffer }): Promise<Buffer> };

function toBigInt(v: ProduceArgs['producerId']): bigint {
  if (v === undefined || v === null) return -1n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' || typeof v === 'string') return BigInt(v);
  if (typeof v.value === 'bigint') return v.value;
  throw new TypeError(`unexpected Kafka producer id ${String(v)}`);
}

/** The Produce request body (v3+) with every partition's record batch, as one buffer. */
export async function encodeProduceBody(args: ProduceArgs, lookupCodec: (type: number) => Codec | null): Promise<Buffer> {
  const compression = (args.compression ?? 0) & 0x07;
  const codec = compression === 0 ? null : lookupCodec(compression);
  if (compression !== 0 && !codec) throw new Error(`no codec registered for Kafka compression type ${compression}`);
  const compress = codec ? (records: Buffer) => codec.compress({ buffer: records }) : undefined;
  const producerId = toBigInt(args.producerId);
  const transactional = args.transactionalId !== null && args.transactionalId !== undefined;
  const now = Date.now();

  const txId = transactional ? Buffer.from(args.transactionalId as string, 'utf8') : null;
  const parts: Buffer[] = [];
  let size = 2 + (txId?.length ?? 0) + 2 + 4 + 4;
  const head = Buffer.allocUnsafe(size);
  let o = 0;
  o = head.writeInt16BE(txId ? txId.length : -1, o);
  if (txId) o += txId.copy(head, o);
  o = head.writeInt16BE(args.acks, o);
  o = head.writeInt32BE(args.timeout, o);
  head.writeInt32BE(args.topicData.length, o);
  parts.push(head);
  for (const t of args.topicData) {
    const name = Buffer.from(t.topic, 'utf8');
    const th = Buffer.allocUnsafe(2 + name.length + 4);
    th.writeInt16BE(name.length, 0);
    name.copy(th, 2);
    th.writeInt32BE(t.partitions.length, 2 + name.length);
    parts.push(th);
    size += th.length;
    for (const p of t.partitions) {
      const batch = await encodeRecordBatch(p.messages, {
        compression,
        ...(compress ? { compress } : {}),
        producerId,
        producerEpoch: args.producerEpoch ?? 0,
        firstSequence: p.firstSequence ?? 0,
        transactional,
        now,
      });
      const ph = Buffer.allocUnsafe(8);
      ph.writeInt32BE(p.partition, 0);
      ph.writeInt32BE(batch.length, 4);
      parts.push(ph, batch);
      size += 8 + batch.length;
    }
  }
  return Buffer.concat(parts, size);
}

function produceRequestV3(Encoder: EncoderClass, lookupCodec: (type: number) => Codec | null) {
  return (args: ProduceArgs) => ({
    apiKey: 0,
    apiVersion: 3,
    apiName: 'Produce',
    expectResponse: () => args.acks !== 0,
    encode: async (): Promise<EncoderLike> => {
      const body = await encodeProduceBody(args, lookupCodec);
      // An Encoder positioned at the end of the finished body: kafkajs only reads `.buffer` from it.
      const enc = new Encoder();
      enc.buf = body;
      enc.offset = body.length;
      return enc;
    },
  });
}

/** Installs the replacement (before kafkajs loads it); returns whether the cache still holds it. */
export function installFastProduce(): () => boolean {
  return replaceKafkajsModule('kafkajs/src/protocol/requests/produce/v3/request.js', () => {
    const Encoder = kafkajsRequire('kafkajs/src/protocol/encoder.js') as EncoderClass;
    const { lookupCodec } = kafkajsRequire('kafkajs/src/protocol/message/compression/index.js') as { lookupCodec: (type: number) => Codec | null };
    return produceRequestV3(Encoder, lookupCodec);
  });
}
