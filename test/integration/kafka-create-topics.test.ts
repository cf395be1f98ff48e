import { afterAll, describe, expect, it } from 'vitest';
import { createTopicsAndWait } from '../../src/kafka/createTopics.js';
import { deleteTopics, uniqueName, withAdmin } from './support.js';

describe('createTopicsAndWait', () => {
  const topic = uniqueName('create_wait');
  afterAll(() => deleteTopics(topic).catch(() => undefined));

  it('returns once every partition has a leader, and takes a topic created meanwhile as created', async () => {
    // Two clients create the same topic at once (two workers starting together).
    await Promise.all([withAdmin((a) => createTopicsAndWait(a, [{ topic, numPartitions: 3 }])), withAdmin((a) => createTopicsAndWait(a, [{ topic, numPartitions: 3 }]))]);
    const meta = await withAdmin((a) => a.fetchTopicMetadata({ topics: [topic] }));
    expect(meta.topics[0]?.partitions).toHaveLength(3);
    for (const p of meta.topics[0]?.partitions ?? []) expect(p.leader).toBeGreaterThanOrEqual(0);
    // Once more, when it exists.
    await withAdmin((a) => createTopicsAndWait(a, [{ topic, numPartitions: 3 }]));
  });
});
