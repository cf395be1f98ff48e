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
