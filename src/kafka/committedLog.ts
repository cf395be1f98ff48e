/**
 * The newest committed record of one key in a topic that transactional producers write to (the
 * exactly-once checkpoint topic, shared by every task of a cluster or a process).
 *
 * A read_committed consumer cannot answer that while any other producer's transaction on the
 * partition is open: the broker serves read_committed reads only up to the last stable offset, the
 * first record of the oldest open transaction. Stopping there misses this key's newer committed
 * records (an exactly-once task then resumed from an older checkpoint and wrote again what Kafka had
 * committed); waiting past it waits for another writer, up to its transaction timeout (a paused
 * worker's open transaction held every other task's restart for a minute).
 *
 * So the partitions are read read_uncommitted, from the log start to the high watermark taken when
 * the read begins, and transactions are resolved here by their markers, as a read_committed reader
 * would: a transactional record of this key counts once its producer's COMMIT marker follows it, and
 * is dropped at an ABORT marker or when no marker follows before the high watermark (a transaction
 * still open); a non-transactional record counts at once. Only this key's records are kept. The
 * caller must have fenced the key's writer first (InitProducerId aborts its open transaction), so
 * its transactions are all decided below the high watermark.
 *
 * kafkajs 2.2.4 has no public read_uncommitted offset listing or raw fetch: this goes through the
 * client's own cluster factory (a cluster set to read_uncommitted) and its brokers' `fetch`, and
 * fails loudly if that factory is not there.
 */
import type { Kafka } from 'kafkajs';

const READ_UNCOMMITTED = 0;
const CONTROL_COMMIT = 1;
const FETCH_BYTES = 4 * 1024 * 1024;

interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

interface KafkajsBroker {
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: Array<{ partition: number; messages: FetchedRecord[] }> }> }>;
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number; leader: number }>;
  findBroker(opts: { nodeId: number }): Promise<KafkajsBroker>;
  fetchTopicsOffset(topics: Array<{ topic: string; fromBeginning: boolean; partitions: Array<{ partition: number }> }>): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

type ClusterFactory = (opts: { allowAutoTopicCreation: boolean; isolationLevel: number }) => KafkajsCluster;

function readUncommittedCluster(kafka: Kafka): KafkajsCluster {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = key === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[key];
  if (typeof factory !== 'function') throw new Error('kafkajs changed: its client has no cluster factory to read a topic read_uncommitted (Tributary is built against kafkajs 2.2.4)');
  return (factory as ClusterFactory)({ allowAutoTopicCreation: false, isolationLevel: READ_UNCOMMITTED });
}

/** What a read found for the key: nothing, or its newest committed value (null: a tombstone). */
export type CommittedValue = { found: false } | { found: true; value: Buffer | null };

/**
 * Resolves transactions by their markers over the records of one partition, fed in offset order;
 * keeps the newest committed record of `key`.
 */
export class CommittedKeyTracker {
  private readonly pending = new Map<string, Array<{ offset: bigint; value: Buffer | null }>>();
  private newest: { offset: bigint; value: Buffer | null } | undefined;

  constructor(private readonly key: string) {}

  add(r: FetchedRecord): void {
    const offset = BigInt(r.offset);
    const producer = String(r.batchContext.producerId);
    if (r.isControlRecord === true) {
      const decided = this.pending.get(producer);
      this.pending.delete(producer);
      // Control record key: version (int16), type (int16): 0 abort, 1 commit.
      const commit = r.key !== null && r.key.length >= 4 && r.key.readInt16BE(2) === CONTROL_COMMIT;
      if (commit && decided) for (const d of decided) this.keep(d);
      return;
    }
    if (r.key === null || r.key.toString() !== this.key) return;
    const record = { offset, value: r.value };
    if (!r.batchContext.inTransaction) this.keep(record);
    else {
      const list = this.pending.get(producer);
      if (list) list.push(record);
      else this.pending.set(producer, [record]);
    }
  }

  private keep(r: { offset: bigint; value: Buffer | null }): void {
    if (this.newest === undefined || r.offset > this.newest.offset) this.newest = r;
  }

  /** The newest committed record seen; transactions without a marker yet count as not committed. */
  result(): { offset: bigint; value: Buffer | null } | undefined {
    return this.newest;
  }
}

/** The newest committed record of `key` in `topic` (see the module comment); `{ found: false }` when none. */
export async function readNewestCommitted(kafka: Kafka, topic: string, key: string, timeoutMs: number): Promise<CommittedValue> {
  const deadline = Date.now() + timeoutMs;
  const cluster = readUncommittedCluster(kafka);
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    await cluster.refreshMetadataIfNecessary();
    const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
    const list = async (fromBeginning: boolean) => new Map(((await cluster.fetchTopicsOffset([{ topic, fromBeginning, partitions }]))[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    const [highs, lows] = [await list(false), await list(true)];
    let newest: { value: Buffer | null } | undefined;
    for (const { partition } of partitions) {
      const high = highs.get(partition) ?? 0n;
      let offset = lows.get(partition) ?? 0n;
      const tracker = new CommittedKeyTracker(key);
      while (offset < high) {
        if (Date.now() > deadline) throw new Error(`topic ${topic} partition ${partition}: could not read to offset ${high} within ${timeoutMs} ms (at ${offset})`);
        const leader = cluster.findTopicPartitionMetadata(topic).find((p) => p.partitionId === partition)?.leader;
        if (leader === undefined || leader < 0) {
          await cluster.refreshMetadata();
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        const broker = await cluster.findBroker({ nodeId: leader });
        const res = await broker.fetch({
          isolationLevel: READ_UNCOMMITTED,
          maxWaitTime: 100,
          minBytes: 1,
          maxBytes: FETCH_BYTES,
          topics: [{ topic, partitions: [{ partition, fetchOffset: offset.toString(), maxBytes: FETCH_BYTES }] }],
        });
        const records = res.responses[0]?.partitions[0]?.messages ?? [];
        let advanced = false;
        for (const r of records) {
          const o = BigInt(r.offset);
          // A fetch returns whole record batches: the first may begin before the offset asked for.
          if (o < offset) continue;
          if (o >= high) break;
          tracker.add(r);
          offset = o + 1n;
          advanced = true;
        }
        // Nothing past `offset` although the high watermark is further: compacted or trimmed away
        // at the end, or not yet replicated to this leader's view; ask again shortly.
        if (!advanced) await new Promise((r) => setTimeout(r, 50));
      }
      const found = tracker.result();
      // One key lives in one partition (keyed records); if several held it, the one read last wins.
      if (found !== undefined) newest = found;
    }
    return newest === undefined ? { found: false } : { found: true, value: newest.value };
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}
