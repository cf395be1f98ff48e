/** The Kafka destination as a plug-in: its options, creation, errors and capabilities. */
import { classifyError } from '../../core/errors.js';
import type { KafkaDestinationConfig } from '../../config/schema.js';
import { DTS_RECORD_SCHEMA } from '../../formats/dts-avro-schema.js';
import { refKey } from '../../runtime/objects.js';
import type { SinkDescriptor } from '../../runtime/registry.js';
import { kafkaDestinationSchema } from './config.js';
import { SchemaRegistryFramer } from './schemaRegistry.js';
import { KafkaSink } from './sink.js';

export const kafkaSink: SinkDescriptor<KafkaDestinationConfig> = {
  role: 'sink',
  type: 'kafka',
  title: 'Apache Kafka',
  configSchema: kafkaDestinationSchema,
  capabilities: { transactional: true, createsObjects: false, formatOption: 'format' },
  classifyError,
  create(k, { config, plan, registry, logger, checkpoint, source }) {
    return new KafkaSink({
      brokers: k.brokers,
      clientId: k.clientId,
      topic: k.topic,
      ...(k.ddlTopic ? { ddlTopic: k.ddlTopic } : {}),
      format: registry.format(k.format),
      documents: registry.sourceDescriptor(config.source.type).capabilities.documents,
      sourceName: registry.sourceDescriptor(config.source.type).capabilities.productName,
      compression: k.compression,
      acks: k.acks,
      partitionPolicy: k.partitionPolicy,
      routeFor: (ref) => plan.routes.get(refKey(ref)),
      maxMessageBytes: k.maxMessageBytes,
      createTopics: k.createTopics,
      partitionsFor: (topic) => plan.partitions.get(topic),
      conflictMode: config.conflictMode,
      ...(k.sasl ? { sasl: k.sasl } : {}),
      ...(k.tls?.enabled ? { tls: k.tls.caCert ? { caCert: k.tls.caCert } : {} } : {}),
      tables: () => plan.tables,
      ...(k.exactlyOnce && checkpoint && config.checkpoints.store === 'kafka'
        ? {
            exactlyOnce: {
              transactionalId: `tributary-${config.name}`,
              checkpointTopic: config.checkpoints.topic,
              taskId: config.name,
              checkpoint: checkpoint.current,
              onCommitted: checkpoint.committed,
            },
          }
        : {}),
      ...(k.schemaRegistry && k.format === 'dts-avro' ? { valueFramer: new SchemaRegistryFramer({ url: k.schemaRegistry.url, schema: DTS_RECORD_SCHEMA }) } : {}),
      logger,
    });
    void source;
  },
};
