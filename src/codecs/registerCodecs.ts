import '../kafka/patches.js';
import kafkajs from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import type { BatchCodec } from './codec.js';
import { lz4Codec } from './lz4.js';
import { snappyCodec } from './snappy.js';

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4';

export const compressionTypes: Readonly<Record<CompressionName, CompressionTypes>> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
};

/**
 * Plugs Tributary's LZ4 and Snappy codecs into kafkajs (GZIP is built in). kafkajs keeps codecs in
 * a process-wide table, so this is called once by createRuntime, never on import.
 */
export function registerCodecs(): void {
  // kafkajs is CommonJS: its codec table is reachable only through the default export under Node's ESM loader.
  const table = kafkajs.CompressionCodecs as unknown as Record<number, () => BatchCodec>;
  table[CompressionTypes.LZ4] = () => lz4Codec;
  table[CompressionTypes.Snappy] = () => snappyCodec;
}
