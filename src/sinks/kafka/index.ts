export { KafkaSink, splitBySize, type KafkaSinkOptions, type AckMode } from './sink.js';
export { Router, hash32, type PartitionPolicy, type TableRoute } from './routing.js';
export { precheckKafka } from './precheck.js';
