import { connect } from 'node:net';
import type { Kafka } from 'kafkajs';
import type { PrecheckItem } from '../../core/contracts.js';

function reachable(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export interface KafkaPrecheckInput {
  brokers: string[];
  topics: string[];
  createTopics: boolean;
  conflictMode: 'precheckAndReport' | 'ignoreAndProceed' | 'clearDestination';
  maxMessageBytes: number;
  /** The task resumes from its checkpoint: topics holding its own earlier output pass. */
  resuming?: boolean;
  /** SASL settings, to name the mechanism in failures and keep the password out of them. */
  sasl?: { mechanism: string; username: string; password: string };
}

/** Connectivity (every advertised listener reachable), topics, conflicting topics, message size. */
export async function precheckKafka(kafka: Kafka, input: KafkaPrecheckInput): Promise<PrecheckItem[]> {
  const items: PrecheckItem[] = [];
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    const secret = input.sasl?.password;
    const raw = (err as Error).message;
    const message = secret ? raw.split(secret).join('***') : raw;
    const how = input.sasl ? ` (SASL ${input.sasl.mechanism}, user '${input.sasl.username}')` : '';
    await admin.disconnect().catch(() => undefined);
    return [{ id: 'destination.connect', group: 'connectivity', title: 'Kafka reachable and authenticated', status: 'fail', detail: `${input.brokers.join(',')}${how}: ${message}`, fix: 'Check the broker addresses and the SASL/TLS settings.' }];
  }
  try {
    const cluster = await admin.describeCluster();
    items.push({ id: 'destination.connect', group: 'connectivity', title: 'Kafka reachable and authenticated', status: 'pass', detail: `${cluster.brokers.length} broker(s), controller ${cluster.controller}` });
    const unreachable: string[] = [];
    for (const b of cluster.brokers) if (!(await reachable(b.host, b.port))) unreachable.push(`${b.host}:${b.port} (node ${b.nodeId})`);
    items.push(
      unreachable.length === 0
        ? { id: 'destination.advertised_listeners', group: 'connectivity', title: 'Every advertised broker listener is reachable', status: 'pass' }
        : { id: 'destination.advertised_listeners', group: 'connectivity', title: 'Every advertised broker listener is reachable', status: 'fail', detail: `not reachable from here: ${unreachable.join(', ')}`, fix: 'Fix advertised.listeners on those brokers or the network path to them.' },
    );

    const existing = new Set(await admin.listTopics());
    const missing = input.topics.filter((t) => !existing.has(t));
    items.push(
      missing.length === 0
        ? { id: 'destination.topics', group: 'destination', title: 'Destination topics exist', status: 'pass', detail: input.topics.join(', ') }
        : input.createTopics
          ? { id: 'destination.topics', group: 'destination', title: 'Destination topics exist', status: 'pass', detail: `will be created: ${missing.join(', ')}` }
          : { id: 'destination.topics', group: 'destination', title: 'Destination topics exist', status: 'fail', detail: `missing: ${missing.join(', ')}`, fix: 'Create them, or set destination.kafka.createTopics: true on a self-managed Kafka.' },
    );

    if (input.conflictMode === 'precheckAndReport') {
      const busy: string[] = [];
      for (const t of input.topics.filter((x) => existing.has(x))) {
        const offsets = await admin.fetchTopicOffsets(t);
        const count = offsets.reduce((n, o) => n + (Number(o.high) - Number(o.low)), 0);
        if (count > 0) busy.push(`${t} (${count} messages)`);
      }
      items.push(
        busy.length === 0
          ? { id: 'destination.conflicting_topics', group: 'destination', title: 'Destination topics are empty', status: 'pass' }
          : input.resuming
            ? // The task's own earlier output, found again on a restart: not someone else's data.
              { id: 'destination.conflicting_topics', group: 'destination', title: 'Destination topics are empty', status: 'pass', detail: `resuming from the task's checkpoint; already hold messages: ${busy.join(', ')}` }
            : { id: 'destination.conflicting_topics', group: 'destination', title: 'Destination topics are empty', status: 'fail', detail: `already hold messages: ${busy.join(', ')}`, fix: 'Map the objects to another topic, or set conflictMode: ignoreAndProceed to append to them.' },
      );
    }

    const brokerId = cluster.brokers[0]?.nodeId;
    if (brokerId !== undefined) {
      const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 4, name: String(brokerId), configNames: ['message.max.bytes'] }] });
      const value = Number(cfg.resources[0]?.configEntries.find((e) => e.configName === 'message.max.bytes')?.configValue ?? NaN);
      items.push(
        Number.isFinite(value) && value < input.maxMessageBytes
          ? { id: 'destination.message_size', group: 'destination', title: 'Broker accepts messages of the configured size', status: 'warn', detail: `message.max.bytes is ${value}, below destination.kafka.maxMessageBytes ${input.maxMessageBytes}`, fix: 'Raise message.max.bytes (and max.message.bytes of the topics), or lower maxMessageBytes.' }
          : { id: 'destination.message_size', group: 'destination', title: 'Broker accepts messages of the configured size', status: 'pass', detail: `message.max.bytes = ${value}` },
      );
    }
  } catch (err) {
    items.push({ id: 'destination.metadata', group: 'destination', title: 'Kafka metadata readable', status: 'fail', detail: (err as Error).message, fix: 'Grant the account Describe on the cluster and topics.' });
  } finally {
    await admin.disconnect();
  }
  return items;
}
