import type { Kafka, Producer } from 'kafkajs';
import { createTopicsAndWait } from '../kafka/createTopics.js';
import { newKafkaClient } from '../kafka/kafkajs.js';
import type { Checkpoint, CheckpointStore } from './store.js';
import { loadCommittedCheckpoint } from '../sinks/kafka/exactlyOnce.js';
import { kafkaClientConfig, type KafkaConnection } from '../sinks/kafka/clientConfig.js';

function isBrokerList(c: KafkaConnection | readonly string[]): c is readonly string[] {
  return Array.isArray(c);
}

/**
 * Checkpoints in a compacted Kafka topic keyed by task id: the latest record per task wins.
 * `load` reads the topic from the beginning to its current end.
 */
export class KafkaCheckpointStore implements CheckpointStore {
  private readonly kafka: Kafka;
  private producer: Producer | null = null;

  private readonly client: ReturnType<typeof kafkaClientConfig>;

  /** `connection`: the brokers, SASL and TLS of the task's destination (all apply here too). */
  constructor(
    connection: KafkaConnection | readonly string[],
    readonly topic: string,
  ) {
    const c: KafkaConnection = isBrokerList(connection) ? { brokers: connection } : connection;
    this.client = kafkaClientConfig({ ...c, clientId: 'tributary-checkpoints' });
    this.kafka = newKafkaClient(this.client);
  }

  private async ensureTopic(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(this.topic)) {
        await createTopicsAndWait(admin, [{ topic: this.topic, numPartitions: 1, replicationFactor: -1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]);
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Reads the topic to its end as a read_committed consumer (transaction markers included). */
  async load(taskId: string): Promise<Checkpoint | null> {
    return loadCommittedCheckpoint(this.client, this.topic, taskId);
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
