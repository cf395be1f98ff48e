/**
 * `admin.createTopics` with `waitForLeaders`, made whole: kafkajs' wait gives up when a broker
 * answers before its metadata cache knows the new topic (UNKNOWN_TOPIC_OR_PARTITION, seen under
 * load), and a topic another client created meanwhile (TOPIC_ALREADY_EXISTS) is as good as one
 * created here. Returns once every partition of every topic has a leader.
 */
import type { Admin, ITopicConfig } from 'kafkajs';

const TOLERATED = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'TOPIC_ALREADY_EXISTS', 'LEADER_NOT_AVAILABLE']);

function tolerated(err: unknown): boolean {
  const e = err as { type?: string; errors?: Array<{ type?: string }> } | null;
  if (e?.type !== undefined && TOLERATED.has(e.type)) return true;
  // kafkajs reports per-topic creation errors in `errors` (KafkaJSAggregateError).
  return Array.isArray(e?.errors) && e.errors.length > 0 && e.errors.every((x) => x.type !== undefined && TOLERATED.has(x.type));
}

export async function createTopicsAndWait(admin: Admin, topics: ITopicConfig[], timeoutMs = 30_000): Promise<void> {
  if (topics.length === 0) return;
  try {
    await admin.createTopics({ waitForLeaders: true, topics });
  } catch (err) {
    if (!tolerated(err)) throw err;
  }
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ready = await admin
      .fetchTopicMetadata({ topics: topics.map((t) => t.topic) })
      .then((m) =>
        topics.every((want) => {
          const got = m.topics.find((t) => t.name === want.topic);
          const expected = want.numPartitions !== undefined && want.numPartitions > 0 ? want.numPartitions : 1;
          return got !== undefined && got.partitions.length >= expected && got.partitions.every((p) => p.leader >= 0);
        }),
      )
      .catch(() => false);
    if (ready) return;
    if (Date.now() > end) throw new Error(`Kafka topics ${topics.map((t) => t.topic).join(', ')}: created, but not every partition had a leader within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
