/**
 * The one way Tributary loads kafkajs: the fast path is installed first (patches.ts), then kafkajs
 * is required, then Tributary's LZ4 and Snappy codecs are plugged into its codec table. Modules use
 * `import type` from 'kafkajs' and call this when they create a client, so importing Tributary
 * loads no kafkajs and changes nothing in the host process.
 */
import { createRequire } from 'node:module';
import type * as Kafkajs from 'kafkajs';
import type { BatchCodec } from '../codecs/codec.js';
import { lz4Codec } from '../codecs/lz4.js';
import { snappyCodec } from '../codecs/snappy.js';
import { installKafkaFastPath } from './patches.js';

const require = createRequire(import.meta.url);
let loaded: typeof Kafkajs | null = null;

/** Protocol compression codes (the record batch attribute bits), as kafkajs numbers them. */
export const COMPRESSION = { none: 0, gzip: 1, snappy: 2, lz4: 3 } as const;

export function loadKafkajs(): typeof Kafkajs {
  if (loaded) return loaded;
  installKafkaFastPath();
  const k = require('kafkajs') as typeof Kafkajs;
  // kafkajs keeps codecs in a process-wide table (GZIP is built in).
  const table = k.CompressionCodecs as unknown as Record<number, () => BatchCodec>;
  table[COMPRESSION.lz4] = () => lz4Codec;
  table[COMPRESSION.snappy] = () => snappyCodec;
  loaded = k;
  return k;
}

/** A kafkajs client that logs nothing (Tributary reports errors itself). */
export function newKafkaClient(config: Kafkajs.KafkaConfig): Kafkajs.Kafka {
  const k = loadKafkajs();
  return new k.Kafka({ ...config, logLevel: k.logLevel.NOTHING });
}
