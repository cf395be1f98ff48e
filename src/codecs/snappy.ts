import { compressSync, uncompressSync } from 'snappy';
import type { BatchCodec } from './codec.js';

/** xerial snappy-java stream header: 0x82 'SNAPPY' 0x00, then version 1 and compatible version 1. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_LENGTH = 16;
/** snappy-java's default block size: each block is compressed on its own. */
const BLOCK_SIZE = 32 * 1024;

function isXerialFramed(buffer: Buffer): boolean {
  return buffer.length >= XERIAL_HEADER_LENGTH && buffer.subarray(0, 8).equals(XERIAL_MAGIC);
}

/**
 * Kafka compression type 2. Java producers frame Snappy the xerial way (a header, then blocks each
 * prefixed by its 4-byte big-endian compressed length); librdkafka reads both framed and raw. We
 * write the xerial framing so Java consumers decode it natively, and read either form.
 */
export const snappyCodec: BatchCodec = {
  async compress(encoder) {
    const input = encoder.buffer;
    const parts: Buffer[] = [];
    const header = Buffer.alloc(XERIAL_HEADER_LENGTH);
    XERIAL_MAGIC.copy(header, 0);
    header.writeInt32BE(1, 8);
    header.writeInt32BE(1, 12);
    parts.push(header);
    for (let offset = 0; offset < input.length; offset += BLOCK_SIZE) {
      const block = compressSync(input.subarray(offset, Math.min(offset + BLOCK_SIZE, input.length)));
      const length = Buffer.alloc(4);
      length.writeInt32BE(block.length, 0);
      parts.push(length, block);
    }
    return Buffer.concat(parts);
  },
  async decompress(buffer) {
    if (!isXerialFramed(buffer)) return uncompressSync(buffer) as Buffer;
    const parts: Buffer[] = [];
    let offset = XERIAL_HEADER_LENGTH;
    while (offset + 4 <= buffer.length) {
      const length = buffer.readInt32BE(offset);
      offset += 4;
      if (length < 0 || offset + length > buffer.length) throw new Error('snappy: truncated xerial block');
      parts.push(uncompressSync(buffer.subarray(offset, offset + length)) as Buffer);
      offset += length;
    }
    return Buffer.concat(parts);
  },
};
