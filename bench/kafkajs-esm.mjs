// Re-exports kafkajs (CommonJS) with every named export, including CompressionCodecs, which Node's
// CommonJS export detection misses. Used only while src/codecs/registerCodecs.ts imports it by name.
import { createRequire } from 'node:module';

const kafkajs = createRequire(import.meta.url)('kafkajs');
export const { Kafka, CompressionCodecs, CompressionTypes, logLevel, AssignerProtocol, PartitionAssigners, Partitioners, ResourceTypes, ConfigResourceTypes, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes, ConfigSource, KafkaJSError } = kafkajs;
export default kafkajs;
