/**
 * Tributary's replacements of kafkajs internals: a correct read_committed filter (abortedFilter.ts),
 * linear per-partition grouping (fastGrouping.ts), one-pass record batches (fastProduceRequest.ts)
 * and request frames copied once (fastRequestFraming.ts). They go into Node's CommonJS module cache, so they take effect only
 * when installed before kafkajs is first loaded. Nothing installs them on import: `loadKafkajs()`
 * (kafkajs.ts) does when a Kafka plug-in creates its first client, and a host process that loads
 * kafkajs itself calls `installKafkaFastPath()` first.
 */
import { installAbortedFilter } from './abortedFilter.js';
import { installFastGrouping } from './fastGrouping.js';
import { installFastProduce } from './fastProduceRequest.js';
import { installFastRequestFraming } from './fastRequestFraming.js';

interface Installed {
  abortedFilter: () => boolean;
  grouping: () => boolean;
  produce: () => boolean;
  framing: () => boolean;
}

let installed: Installed | null = null;

/** Installs the replacements once per process (or worker thread); later calls do nothing. */
export function installKafkaFastPath(): void {
  installed ??= { abortedFilter: installAbortedFilter(), grouping: installFastGrouping(), produce: installFastProduce(), framing: installFastRequestFraming() };
}

/**
 * Whether kafkajs resolves to Tributary's replacements. They are lost when the process loaded
 * kafkajs before they were installed: production then runs on kafkajs' stock encoders (correct,
 * about 6x slower per message on this machine); `missing` names what is not in effect.
 */
export function fastPathStatus(): { installed: boolean; missing: string[] } {
  const missing = [
    ...(installed?.grouping() ? [] : ['per-partition grouping']),
    ...(installed?.produce() ? [] : ['one-pass record batches']),
    ...(installed?.framing() ? [] : ['request framing']),
  ];
  return { installed: missing.length === 0, missing };
}

/**
 * Whether kafkajs' consumers drop the records of aborted transactions correctly (abortedFilter.ts:
 * kafkajs' own filter lets some through). Without it, read_committed reads through kafkajs are not
 * trustworthy: exactly-once recovery refuses to run.
 */
export function readCommittedFixed(): boolean {
  return installed?.abortedFilter() ?? false;
}
