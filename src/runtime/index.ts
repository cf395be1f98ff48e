export { createRuntime, type Runtime, type RuntimeOptions } from './createRuntime.js';
export { TaskRunner, type TaskStatus, type TaskCounters } from './task.js';
export { Registry, type ComponentContext, type SourceFactory, type SinkFactory } from './registry.js';
export { defaultRegistry } from './defaults.js';
export { planObjects, type ObjectPlan } from './objects.js';
export { localChunkExecutor, type ChunkCopied, type ChunkExecutor, type ChunkExecutorFactory, type ChunkTask } from './chunkExecutor.js';
