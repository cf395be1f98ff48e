import type { KafkaConfig } from 'kafkajs';
import { newKafkaClient } from '../../kafka/kafkajs.js';
import { readNewestCommitted } from '../../kafka/committedLog.js';
import type { Checkpoint } from '../../checkpoints/store.js';

/** Moved to the operators (it is the runtime's, not Kafka's); re-exported for existing imports. */
export { skipThrough } from '../../operators/skipThrough.js';

/**
 * The latest committed checkpoint of `taskId` in the compacted checkpoint topic (null when none):
 * the topic read to its high watermark with transactions resolved by their markers
 * (kafka/committedLog.ts), so neither an aborted checkpoint nor another task's open transaction on
 * the shared topic can make it return an older one, and it never waits for another writer. Call it
 * after the sink's transactional producer connected: its InitProducerId aborts this task's dead
 * writer's open transaction, so every transaction of this task is decided before the read.
 */
export async function loadCommittedCheckpoint(config: Pick<KafkaConfig, 'brokers' | 'sasl' | 'ssl'>, topic: string, taskId: string, timeoutMs = 30_000): Promise<Checkpoint | null> {
  const kafka = newKafkaClient({ ...config, clientId: 'tributary-checkpoints' });
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return null;
  } finally {
    await admin.disconnect();
  }
  const read = await readNewestCommitted(kafka, topic, taskId, timeoutMs);
  return !read.found || read.value === null ? null : (JSON.parse(read.value.toString()) as Checkpoint);
}
