/**
 * The end of each partition of a topic as written: the high watermark, records of open
 * transactions included. kafkajs' `admin.fetchTopicOffsets` lists offsets read_committed, which
 * answers the last stable offset: the first record of the oldest open transaction. A reader that
 * stops there misses every record committed after that transaction began, e.g. the newest
 * checkpoint of one task while another task's transaction on the same checkpoint topic is open.
 *
 * kafkajs 2.2.4 takes the isolation level of a ListOffsets request from its cluster object, which
 * the public API sets only for consumers (`readUncommitted`); this builds one through the client's
 * own cluster factory, set to read_uncommitted, and fails loudly if that factory is not there.
 */
import type { Kafka } from 'kafkajs';

const READ_UNCOMMITTED = 0;

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number }>;
  fetchTopicsOffset(topics: Array<{ topic: string; fromBeginning: boolean; partitions: Array<{ partition: number }> }>): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

type ClusterFactory = (opts: { allowAutoTopicCreation: boolean; isolationLevel: number }) => KafkajsCluster;

function clusterFactory(kafka: Kafka): ClusterFactory {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = key === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[key];
  if (typeof factory !== 'function') throw new Error('kafkajs changed: its client has no cluster factory to list offsets read_uncommitted (Tributary is built against kafkajs 2.2.4)');
  return factory as ClusterFactory;
}

export interface PartitionEnds {
  partition: number;
  /** The offset after the last record written (open transactions included). */
  high: bigint;
  /** The first offset still in the log. */
  low: bigint;
}

/** The high watermark and log start of every partition of `topic` (which must exist). */
export async function fetchHighWatermarks(kafka: Kafka, topic: string): Promise<PartitionEnds[]> {
  const cluster = clusterFactory(kafka)({ allowAutoTopicCreation: false, isolationLevel: READ_UNCOMMITTED });
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    await cluster.refreshMetadataIfNecessary();
    const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
    const list = async (fromBeginning: boolean) => new Map(((await cluster.fetchTopicsOffset([{ topic, fromBeginning, partitions }]))[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    const [high, low] = [await list(false), await list(true)];
    return partitions.map(({ partition }) => ({ partition, high: high.get(partition) ?? 0n, low: low.get(partition) ?? 0n }));
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}
