/**
 * Tributary's public API: `import { ... } from 'tributary'`.
 *
 * - Tasks: `createRuntime` makes a `Runtime`; `runtime.add(config)` validates a task
 *   config and returns its `TaskRunner`, whose `status$` emits `TaskStatus`.
 * - Around a runtime: `serveHttp` (the management API and Prometheus metrics),
 *   `createLogger` (JSON logs with secrets masked), `watchAlerts` (latency and failure
 *   alerts, optionally to a webhook).
 * - Configs: `loadTaskConfig`, `parseTaskConfig`, `validateTaskConfig`,
 *   `redactConfig`.
 * - Parts, for embedding or extending: checkpoint stores, message `formats`, the
 *   `Registry` of sources and sinks, the task state machines, and the core types and errors.
 *
 * @example
 * ```ts
 * import { createRuntime, createLogger, serveHttp, watchAlerts } from 'tributary';
 *
 * const logger = createLogger({ level: 'info' });
 * const runtime = createRuntime({ logger });
 * const task = runtime.add({
 *   name: 'orders',
 *   source: { type: 'postgres', host: 'db', port: 5432, user: 'repl', database: 'shop' },
 *   destination: { kafka: { brokers: ['kafka:9092'], topic: 'shop', format: 'canal-json' } },
 *   objects: [{ schema: 'public', table: 'orders' }],
 * });
 * watchAlerts(task, { latencyThresholdSeconds: 30, alertOnFailure: true, logger });
 * const http = await serveHttp(runtime, { port: 8470 });
 * task.start();
 * // ...
 * await runtime.shutdown();
 * await http.close();
 * ```
 *
 * @packageDocumentation
 */
export * from './core/index.js';
export { createRuntime, defaultRegistry, Registry, TaskRunner, type Runtime, type RuntimeOptions, type TaskStatus, type TaskCounters } from './runtime/index.js';
export { loadTaskConfig, parseTaskConfig, validateTaskConfig } from './config/load.js';
export { redactConfig } from './config/redact.js';
export type { TaskConfig, TaskConfigInput, TaskOptions } from './config/schema.js';
export { FileCheckpointStore, KafkaCheckpointStore, type Checkpoint, type CheckpointStore } from './checkpoints/index.js';
export { formats, formatDescriptor, canalJson, dtsAvro, shareplexJson, type Format, type FormatDescriptor, type EncodeContext, type EncodedRecord } from './formats/index.js';
export type { PluginDescriptor, SourceCapabilities, ConfigReport } from './core/plugin.js';
export type { SourceDescriptor, SinkDescriptor, SinkDescriptorCapabilities, ComponentContext, SinkContext } from './runtime/registry.js';
export { PostgresSource } from './sources/postgres/source.js';
export { KafkaSink } from './sinks/kafka/sink.js';
export { installKafkaFastPath, fastPathStatus } from './kafka/patches.js';
export { joinCluster, describeCluster, clusterTopics, Cluster, type ClusterOptions, type ClusterAssignment, type ClusterTaskRecord, type ClusterStatusRecord } from './cluster/index.js';
export { serveHttp, type HttpApi, type HttpOptions } from './http/server.js';
export { createLogger, type LogLevel } from './observe/logger.js';
export { watchAlerts, type Alert, type AlertOptions } from './observe/alerts.js';
export { taskMachine, fullSyncMachine, taskMachineDefinition } from '../machines/index.js';
