import type { KafkaDestinationConfig } from '../config/schema.js';
import type { KafkaConnection } from '../sinks/kafka/clientConfig.js';

/**
 * The connection a task's Kafka destination describes (brokers, SASL, TLS with its CA), as
 * `joinCluster({ brokers })` and the Kafka clients take it: a cluster started from a task file
 * coordinates through the brokers the task writes to, with the same credentials.
 */
export function kafkaConnectionOf(k: Pick<KafkaDestinationConfig, 'brokers' | 'sasl' | 'tls'>): KafkaConnection {
  return {
    brokers: k.brokers,
    ...(k.sasl ? { sasl: k.sasl } : {}),
    ...(k.tls?.enabled ? { tls: k.tls.caCert ? { caCert: k.tls.caCert } : {} } : {}),
  };
}
