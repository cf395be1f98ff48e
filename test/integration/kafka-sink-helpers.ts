/** Shared by the KafkaSink integration tests: events, a sink factory, end offsets. */
import { createBatch, type Batch } from '../../src/core/batch.js';
import type { ChangeEvent, Row, TableShape } from '../../src/core/events.js';
import { SequencePosition } from '../../src/core/position.js';
import { createCanalJson } from '../../src/formats/index.js';
import { KafkaSink, type KafkaSinkOptions } from '../../src/sinks/kafka/index.js';
import { servers } from './servers.js';
import { withAdmin } from './support.js';

export function shape(table: string, schema = 'public'): TableShape {
  return {
    ref: { database: 'shop', schema, table },
    columns: [
      { name: 'id', type: 'int8', typeId: 20 },
      { name: 'region', type: 'text', typeId: 25 },
      { name: 'v', type: 'text', typeId: 25 },
    ],
    key: ['id'],
  };
}

let seq = 0n;
/** A change event with a fresh, strictly increasing position (or the one given). */
export function change(s: TableShape, op: 'insert' | 'update' | 'delete', row: Row, position?: bigint): ChangeEvent {
  const pos = position ?? ++seq;
  if (position !== undefined && position > seq) seq = position;
  return {
    op,
    shape: s,
    snapshot: false,
    ...(op === 'insert' ? { after: row } : op === 'delete' ? { before: row } : { before: row, after: row }),
    commitTime: 1_700_000_000_000,
    position: new SequencePosition(pos),
    bytes: 64,
  };
}

export function batchOf(items: ChangeEvent[]): Batch<ChangeEvent> {
  return createBatch(items, items.reduce((n, e) => n + e.bytes, 0), () => undefined);
}

export function sinkOptions(topic: string, over: Partial<KafkaSinkOptions> = {}): KafkaSinkOptions {
  return {
    brokers: [...servers.kafka.brokers],
    topic,
    format: createCanalJson(),
    documents: false,
    sourceName: 'PostgreSQL',
    compression: 'lz4',
    acks: 'all',
    partitionPolicy: 'partition0',
    maxMessageBytes: 10 * 1024 * 1024,
    createTopics: false,
    conflictMode: 'ignoreAndProceed',
    ...over,
  };
}

export function newSink(topic: string, over: Partial<KafkaSinkOptions> = {}): KafkaSink {
  return new KafkaSink(sinkOptions(topic, over));
}

/** Sum of the high watermarks of a topic's partitions. */
export async function endOffset(topic: string): Promise<number> {
  return withAdmin(async (a) => (await a.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0));
}

/** The `data[0]` row of a Canal JSON message. */
export function canalRow(value: Buffer | null): Record<string, string | null> {
  const msg = JSON.parse(value?.toString() ?? 'null') as { data: Array<Record<string, string | null>> };
  return msg.data[0] ?? {};
}

/** The exactly-once tests' change history: `n` updates with positions 1..n, key = i % 7. */
export function eosHistory(n: number): ChangeEvent[] {
  const s = shape('ledger');
  return Array.from({ length: n }, (_, i) => change(s, i % 3 === 0 ? 'insert' : 'update', { id: String(i % 7), region: 'eu', v: String(i + 1) }, BigInt(i + 1)));
}
