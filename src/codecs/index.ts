export type { BatchCodec } from './codec.js';
export { lz4Codec } from './lz4.js';
export { snappyCodec } from './snappy.js';
export { registerCodecs, compressionTypes, type CompressionName } from './registerCodecs.js';
