import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import type { BatchCodec } from './codec.js';

/**
 * Kafka compression type 3: an LZ4 frame (magic 0x184D2204) with independent blocks, which is
 * what Kafka's Java reader requires (it rejects dependent blocks). lz4-napi writes FLG=0x60
 * (version 01, block independence) with 64 KiB blocks; its native binary ships in the npm package.
 */
export const lz4Codec: BatchCodec = {
  async compress(encoder) {
    return compressFrameSync(encoder.buffer);
  },
  async decompress(buffer) {
    return decompressFrameSync(buffer);
  },
};
