import './kafka/patches.js';
/** Tributary's public API. */
export * from './core/index.js';
export { createRuntime, defaultRegistry, Registry, TaskRunner, type Runtime, type RuntimeOptions, type TaskStatus } from './runtime/index.js';
export { loadTaskConfig, parseTaskConfig, validateTaskConfig } from './config/load.js';
export { redactConfig } from './config/redact.js';
export type { TaskConfig, TaskConfigInput, TaskOptions } from './config/schema.js';
export { FileCheckpointStore, KafkaCheckpointStore, type Checkpoint, type CheckpointStore } from './checkpoints/index.js';
export { formats } from './formats/index.js';
export { PostgresSource } from './sources/postgres/source.js';
export { KafkaSink } from './sinks/kafka/sink.js';
export { taskMachine, fullSyncMachine, taskMachineDefinition } from '../machines/index.js';
