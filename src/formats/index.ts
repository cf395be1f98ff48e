/**
 * Message formats by name. Nothing registers itself: a runtime picks from `formats` (or builds
 * its own map) explicitly.
 */
import { createCanalJson } from './canal-json.js';
import { createDtsAvro } from './dts-avro.js';
import type { Format } from './format.js';
import { createShareplexJson } from './shareplex-json.js';

export type { EncodeContext, EncodedRecord, Format, FormatDescriptor, FormatCapabilities } from './format.js';
export { formatDescriptor } from './format.js';
export { createCanalJson, canalJson } from './canal-json.js';
export type { CanalJsonOptions } from './canal-json.js';
export { FULL_LONG, createDtsAvro, dtsAvro, dtsRecordType } from './dts-avro.js';
export { DTS_RECORD_SCHEMA } from './dts-avro-schema.js';
export { createShareplexJson, shareplexJson } from './shareplex-json.js';
export { recordKey } from './key.js';

export type FormatName = 'canal-json' | 'dts-avro' | 'shareplex-json';

/** Factories by name; each call builds a fresh encoder with its own per-table cache. */
export const formats: Readonly<Record<FormatName, () => Format>> = {
  'canal-json': () => createCanalJson(),
  'dts-avro': () => createDtsAvro(),
  'shareplex-json': () => createShareplexJson(),
};
