import { fileURLToPath } from 'node:url';

/** Where the harness's private servers and proxies listen; no test uses these ports. */
export const FAULTS = {
  root: fileURLToPath(new URL('..', import.meta.url)),
  /** Kafka PLAINTEXT (direct, for the harness's own clients); controller +1, SASL +2, proxied listener +3. */
  kafkaPort: 19292,
  kafkaInstance: 'faults',
  /** The proxy the runtime reaches Kafka through; the broker advertises it on its proxied listener. */
  kafkaProxyPort: 19296,
  pgPort: 15632,
  pgHome: '/var/lib/postgresql/tributary-faults',
  /** The proxy the runtime reaches PostgreSQL through. */
  pgProxyPort: 15633,
} as const;

export const kafkaProxiedListener = FAULTS.kafkaPort + 3;
