import type { KafkaConfig } from 'kafkajs';
import { newKafkaClient } from '../../kafka/kafkajs.js';
import { readCommittedFixed } from '../../kafka/patches.js';
import { fetchHighWatermarks } from '../../kafka/highWatermarks.js';
import { FatalError } from '../../core/errors.js';
import type { Checkpoint } from '../../checkpoints/store.js';

/** Moved to the operators (it is the runtime's, not Kafka's); re-exported for existing imports. */
export { skipThrough } from '../../operators/skipThrough.js';

/**
 * Reads the latest committed checkpoint of `taskId` from the compacted checkpoint topic with a
 * read_committed consumer, to the topic's high watermark (transaction markers included, which a
 * plain end-offset comparison on delivered messages would wait for forever). Not to the last
 * stable offset: tasks share the topic, and while another task's transaction on it is open, this
 * task's newer committed checkpoints lie past that offset; a read that stopped there would resume
 * from an older checkpoint and write again what Kafka already committed. The read waits instead
 * until every transaction open when it began has ended (committed, aborted by its writer's new
 * owner, or by the broker at its transaction timeout): `timeoutMs` should outlast that timeout.
 * Call it after the sink's transactional producer connected: its InitProducerId aborts this
 * task's dead writer's open transaction.
 */
export async function loadCommittedCheckpoint(config: Pick<KafkaConfig, 'brokers' | 'sasl' | 'ssl'>, topic: string, taskId: string, timeoutMs = 75_000): Promise<Checkpoint | null> {
  const kafka = newKafkaClient({ ...config, clientId: 'tributary-checkpoints' });
  if (!readCommittedFixed()) {
    // kafkajs' own filter can hand back an aborted checkpoint as committed: resuming from it loses changes.
    throw new FatalError('KAFKAJS_LOADED_EARLY', `Task ${taskId}: kafkajs was loaded before Tributary could install its read_committed fix, so the committed checkpoint in ${topic} cannot be read reliably.`, {
      object: taskId,
      fix: "Import 'tributary' (or call installKafkaFastPath()) before anything in the process loads kafkajs.",
    });
  }
  const admin = kafka.admin();
  await admin.connect();
  let ends: Array<{ partition: number; high: bigint }>;
  try {
    if (!(await admin.listTopics()).includes(topic)) return null;
    ends = (await fetchHighWatermarks(kafka, topic)).filter((o) => o.high > o.low);
  } finally {
    await admin.disconnect();
  }
  if (ends.length === 0) return null;
  const consumer = kafka.consumer({ groupId: `tributary-checkpoint-reader-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`, readUncommitted: false });
  let latest: Checkpoint | null = null;
  const remaining = new Map(ends.map((o) => [o.partition, o.high]));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`checkpoint topic ${topic}: could not read its committed records to the end within ${timeoutMs} ms (a transaction of another writer stayed open)`)), timeoutMs);
      const reached = (partition: number, lastOffset: string) => {
        const high = remaining.get(partition);
        if (high !== undefined && BigInt(lastOffset) + 1n >= high) remaining.delete(partition);
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      // END_BATCH_PROCESS also fires for batches holding only control records (commit markers).
      consumer.on(consumer.events.END_BATCH_PROCESS, (ev) => reached(ev.payload.partition, ev.payload.lastOffset));
      consumer
        .run({
          eachMessage: async ({ message }) => {
            if (message.key?.toString() === taskId) latest = message.value === null ? null : (JSON.parse(message.value.toString()) as Checkpoint);
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return latest;
}
