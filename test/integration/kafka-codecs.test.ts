import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressionTypes, registerCodecs, type CompressionName } from '../../src/codecs/index.js';
import { servers } from './servers.js';
import { createTopic, deleteTopics, kafkaClient, readTopic, uniqueName, brokerLogDir } from './support.js';

const run = promisify(execFile);
const broker = servers.kafka.brokers[0] ?? '127.0.0.1:19092';
const kafkaLibs = resolve('.cache/kafka/libs');

/** The broker's own view of a partition's log: which codec each stored batch carries. */
async function storedCodecs(topic: string): Promise<string[]> {
  const logDir = await brokerLogDir();
  const { stdout } = await run('java', ['-cp', `${kafkaLibs}/*`, 'kafka.tools.DumpLogSegments', '--files', `${logDir}/${topic}-0/00000000000000000000.log`]);
  return [...stdout.matchAll(/compresscodec: (\w+)/g)].map((m) => m[1] ?? '');
}

const codecs: CompressionName[] = ['gzip', 'lz4', 'snappy'];
const topics: string[] = [];

beforeAll(() => registerCodecs());
afterAll(async () => {
  if (topics.length > 0) await deleteTopics(...topics);
});

describe.each(codecs)('Kafka batch compression: %s', (codec) => {
  it('kafkajs writes batches the broker stores as that codec, and kafkajs and kcat (librdkafka) both read them back', async () => {
    const topic = uniqueName(`codec_${codec}`);
    topics.push(topic);
    await createTopic(topic);
    const messages = Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ i, text: 'x'.repeat(100 + (i % 50)) }) }));
    const producer = kafkaClient().producer();
    await producer.connect();
    await producer.send({ topic, compression: compressionTypes[codec], messages: messages.slice(0, 100) });
    await producer.send({ topic, compression: compressionTypes[codec], messages: messages.slice(100) });
    await producer.disconnect();

    const stored = await storedCodecs(topic);
    expect(stored.length).toBeGreaterThan(0);
    expect(new Set(stored)).toEqual(new Set([codec === 'gzip' ? 'gzip' : codec]));

    const viaKafkajs = await readTopic(topic, messages.length);
    expect(viaKafkajs.map((m) => [m.key?.toString(), m.value?.toString()])).toEqual(messages.map((m) => [m.key, m.value]));

    const { stdout } = await run('kcat', ['-C', '-b', broker, '-t', topic, '-o', 'beginning', '-c', String(messages.length), '-e', '-q', '-f', '%k\t%s\n'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const viaKcat = stdout.trimEnd().split('\n').map((line) => line.split('\t'));
    expect(viaKcat).toEqual(messages.map((m) => [m.key, m.value]));
  });

  it('kafkajs decodes batches that librdkafka (kcat) compressed', async () => {
    const topic = uniqueName(`codec_in_${codec}`);
    topics.push(topic);
    await createTopic(topic);
    const lines = Array.from({ length: 50 }, (_, i) => `k${i}:value-${i}-${'y'.repeat(i)}`);
    await run('sh', ['-c', `printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')} | kcat -P -b ${broker} -t ${topic} -K : -z ${codec} -X linger.ms=50`]);
    expect(new Set(await storedCodecs(topic))).toEqual(new Set([codec]));
    const read = await readTopic(topic, lines.length);
    expect(read.map((m) => `${m.key?.toString()}:${m.value?.toString()}`)).toEqual(lines);
  });
});
