/** A Kafka record-batch compression codec in the shape kafkajs calls: the whole batch at once. */
export interface BatchCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}
