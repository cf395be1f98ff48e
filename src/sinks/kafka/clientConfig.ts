import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { FatalError } from '../../core/errors.js';

/** How to reach a Kafka cluster: the one description every Kafka client of a task is built from. */
export interface KafkaConnection {
  brokers: readonly string[];
  clientId?: string;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** TLS to the brokers; `caCert` is PEM text or the path of a PEM file. */
  tls?: { caCert?: string };
}

/** PEM text as given, or read from the file a path names (with an error naming the file). */
export function pemOf(caCert: string, field = 'destination.kafka.tls.caCert'): string {
  if (caCert.includes('-----BEGIN')) return caCert;
  try {
    return readFileSync(caCert, 'utf8');
  } catch (err) {
    throw new FatalError('CA_CERT_UNREADABLE', `The CA certificate file ${caCert} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
      object: caCert,
      field,
      cause: err,
      fix: 'Give the PEM text itself, or the path of a readable PEM file.',
    });
  }
}

/**
 * The kafkajs client settings of a connection: brokers, SASL and TLS. The sink, its precheck, its
 * admin calls, the producer thread and the Kafka checkpoint store all build their clients from it,
 * so authentication and encryption apply to every connection a task makes.
 */
export function kafkaClientConfig(c: KafkaConnection): Pick<KafkaConfig, 'brokers' | 'sasl' | 'ssl' | 'clientId'> {
  return {
    brokers: [...c.brokers],
    ...(c.clientId ? { clientId: c.clientId } : {}),
    ...(c.sasl ? { sasl: { mechanism: c.sasl.mechanism, username: c.sasl.username, password: c.sasl.password } as SASLOptions } : {}),
    ...(c.tls ? { ssl: c.tls.caCert ? { ca: [pemOf(c.tls.caCert)] } : true } : {}),
  };
}
