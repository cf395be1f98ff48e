import type { TaskConfig } from '../config/schema.js';
import { FatalError } from '../core/errors.js';
import { FileCheckpointStore } from './fileStore.js';
import { KafkaCheckpointStore } from './kafkaStore.js';
import type { CheckpointStore } from './store.js';

/**
 * The checkpoint store a task's config names: a file per task, or the compacted Kafka topic,
 * reached with the destination's own brokers, SASL and TLS.
 */
export function checkpointStoreFor(cfg: Pick<TaskConfig, 'checkpoints' | 'destination'>): CheckpointStore {
  if (cfg.checkpoints.store !== 'kafka') return new FileCheckpointStore(cfg.checkpoints.dir);
  const k = cfg.destination.kafka;
  if (!k) throw new FatalError('CHECKPOINT_STORE', 'checkpoints.store "kafka" needs a Kafka destination.', { field: 'checkpoints.store', fix: 'Use store: file.' });
  return new KafkaCheckpointStore({ brokers: k.brokers, ...(k.sasl ? { sasl: k.sasl } : {}), ...(k.tls?.enabled ? { tls: k.tls.caCert ? { caCert: k.tls.caCert } : {} } : {}) }, cfg.checkpoints.topic);
}
