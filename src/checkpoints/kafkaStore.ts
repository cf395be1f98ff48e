import '../kafka/fastGrouping.js';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Checkpoint, CheckpointStore } from './store.js';

/**
 * Checkpoints in a compacted Kafka topic keyed by task id: the latest record per task wins.
 * `load` reads the topic from the beginning to its current end.
 */
export class KafkaCheckpointStore implements CheckpointStore {
  private readonly kafka: Kafka;
  private producer: Producer | null = null;

  constructor(
    private readonly brokers: string[],
    readonly topic: string,
  ) {
    this.kafka = new Kafka({ clientId: 'tributary-checkpoints', brokers, logLevel: logLevel.NOTHING });
  }

  private async ensureTopic(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(this.topic)) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic: this.topic, numPartitions: 1, replicationFactor: -1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
        });
      }
    } finally {
      await admin.disconnect();
    }
  }

  async load(taskId: string): Promise<Checkpoint | null> {
    await this.ensureTopic();
    const admin = this.kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(this.topic).finally(() => admin.disconnect());
    const end = offsets.map((o) => ({ partition: o.partition, high: BigInt(o.high), low: BigInt(o.low) })).filter((o) => o.high > o.low);
    if (end.length === 0) return null;
    const consumer = this.kafka.consumer({ groupId: `tributary-checkpoint-reader-${process.pid}-${Date.now()}` });
    let latest: Checkpoint | null = null;
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      const remaining = new Map(end.map((o) => [o.partition, o.high]));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`checkpoint topic ${this.topic}: could not read to its end within 30 s`)), 30_000);
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            if (message.key?.toString() === taskId) latest = message.value === null ? null : (JSON.parse(message.value.toString()) as Checkpoint);
            const high = remaining.get(partition);
            if (high !== undefined && BigInt(message.offset) + 1n >= high) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    return latest;
  }

  private async connect(): Promise<Producer> {
    if (!this.producer) {
      await this.ensureTopic();
      const p = this.kafka.producer({ allowAutoTopicCreation: false });
      await p.connect();
      this.producer = p;
    }
    return this.producer;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const p = await this.connect();
    await p.send({ topic: this.topic, acks: -1, messages: [{ key: checkpoint.taskId, value: JSON.stringify(checkpoint) }] });
  }

  async delete(taskId: string): Promise<void> {
    const p = await this.connect();
    await p.send({ topic: this.topic, acks: -1, messages: [{ key: taskId, value: null }] });
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
    this.producer = null;
  }
}
