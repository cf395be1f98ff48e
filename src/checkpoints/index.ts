export type { Checkpoint, CheckpointStore } from './store.js';
export { emptyCheckpoint } from './store.js';
export { FileCheckpointStore } from './fileStore.js';
export { KafkaCheckpointStore } from './kafkaStore.js';
export { checkpointStoreFor } from './storeFor.js';
