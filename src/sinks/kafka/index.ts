export { KafkaSink, splitBySize, messageSize, ackValue, connectError, redactSecret, type KafkaSinkOptions, type AckMode, type ExactlyOnceOptions, type ValueFramer } from './sink.js';
export { Router, hash32, type PartitionPolicy, type TableRoute } from './routing.js';
export { precheckKafka } from './precheck.js';
export { skipThrough, loadCommittedCheckpoint } from './exactlyOnce.js';
export { SchemaRegistryFramer, type SchemaRegistryOptions } from './schemaRegistry.js';
export { splitKeyChange, OLD_KEY_HEADER, NEW_KEY_HEADER } from './keyChanges.js';
