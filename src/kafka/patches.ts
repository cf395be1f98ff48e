/**
 * Tributary's replacements of kafkajs internals, installed in Node's CommonJS module cache before
 * kafkajs loads its own: linear per-partition grouping (fastGrouping.ts), one-pass record
 * batches (fastProduceRequest.ts) and request frames copied once (fastRequestFraming.ts).
 * Import this module ahead of 'kafkajs' in every entry point.
 */
import './fastGrouping.js';
import './fastProduceRequest.js';
import './fastRequestFraming.js';

export { fastGroupingInstalled } from './fastGrouping.js';
export { fastProduceInstalled } from './fastProduceRequest.js';
export { fastRequestFramingInstalled } from './fastRequestFraming.js';

import { fastGroupingInstalled as grouping } from './fastGrouping.js';
import { fastProduceInstalled as produce } from './fastProduceRequest.js';
import { fastRequestFramingInstalled as framing } from './fastRequestFraming.js';

/**
 * Whether kafkajs resolves to Tributary's replacements. They are lost when the host process loaded
 * kafkajs before Tributary: production then runs on kafkajs' stock encoders (correct, about 6x
 * slower per message on this machine); `missing` names what is not in effect.
 */
export function fastPathStatus(): { installed: boolean; missing: string[] } {
  const missing = [
    ...(grouping() ? [] : ['per-partition grouping']),
    ...(produce() ? [] : ['one-pass record batches']),
    ...(framing() ? [] : ['request framing']),
  ];
  return { installed: missing.length === 0, missing };
}
