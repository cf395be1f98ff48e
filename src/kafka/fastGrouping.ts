/**
 * kafkajs 2.2.4 groups a batch's messages per partition by copying the partition's whole array for
 * every message (`[...current, message]`), which is quadratic: at 5,000 messages per batch it was
 * the largest single cost of producing (measured with --cpu-prof). This module installs a linear
 * implementation with the same contract in Node's CommonJS module cache before kafkajs is first
 * loaded; import it ahead of 'kafkajs'. If kafkajs was already loaded, nothing changes (only
 * slower); `fastGroupingInstalled()` tells which happened.
 */
import { replaceKafkajsModule } from './moduleCache.js';

type Partitioner = (args: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number;

function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: {
  topic: string;
  partitionMetadata: unknown[];
  messages: unknown[];
  partitioner: Partitioner;
}): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list) list.push(message);
    else result[partition] = [message];
  }
  return result;
}

/** Installs the replacement (before kafkajs loads it); returns whether the cache still holds it. */
export function installFastGrouping(): () => boolean {
  return replaceKafkajsModule('kafkajs/src/producer/groupMessagesPerPartition.js', () => groupMessagesPerPartition);
}
