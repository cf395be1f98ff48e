import type { CompressionTypes } from 'kafkajs';
import { COMPRESSION, loadKafkajs } from '../kafka/kafkajs.js';

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4';

export const compressionTypes: Readonly<Record<CompressionName, CompressionTypes>> = COMPRESSION as Record<CompressionName, number> as Record<CompressionName, CompressionTypes>;

/**
 * Plugs Tributary's LZ4 and Snappy codecs into kafkajs (GZIP is built in): kafkajs keeps codecs in
 * a process-wide table, filled when `loadKafkajs()` first loads it, never on import.
 */
export function registerCodecs(): void {
  loadKafkajs();
}
