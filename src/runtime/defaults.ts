/**
 * The registration list: every plug-in Tributary ships, one line each. The runtime knows them only
 * through their descriptors (this is the one runtime file allowed to import them). A plug-in of
 * your own is registered the same way: `defaultRegistry().register(mySource)`.
 */
import { registerCodecs } from '../codecs/index.js';
import { canalJson } from '../formats/canal-json.js';
import { dtsAvro } from '../formats/dts-avro.js';
import { shareplexJson } from '../formats/shareplex-json.js';
import { kafkaSink } from '../sinks/kafka/descriptor.js';
import { mongoSink } from '../sinks/mongodb/descriptor.js';
import { db2Source } from '../sources/db2/descriptor.js';
import { mongoSource } from '../sources/mongodb/descriptor.js';
import { postgresSource } from '../sources/postgres/descriptor.js';
import { mongoUri } from '../sources/mongodb/connection.js';
import { Registry, type AnyDescriptor } from './registry.js';

/** A MongoDB connection string (see src/sources/mongodb/connection.ts). */
export { mongoUri };

/** Everything Tributary ships. */
export const SHIPPED_PLUGINS: readonly AnyDescriptor[] = [
  postgresSource,
  mongoSource,
  db2Source,
  kafkaSink,
  mongoSink,
  canalJson,
  dtsAvro,
  shareplexJson,
];

/** A registry of everything Tributary ships. Also plugs the LZ4 and Snappy codecs into kafkajs. */
export function defaultRegistry(): Registry {
  registerCodecs();
  const registry = new Registry();
  for (const plugin of SHIPPED_PLUGINS) registry.register(plugin);
  return registry;
}
