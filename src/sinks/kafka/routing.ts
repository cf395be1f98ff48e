import type { ChangeEvent, TableRef } from '../../core/events.js';

export type PartitionPolicy = 'partition0' | 'tableHash' | 'keyHash';

/** Per-table Kafka settings from the task's objects (topic, partition key columns). */
import type { TableRoute } from '../../core/contracts.js';
export type { TableRoute };

export interface RoutingOptions {
  topic: string;
  ddlTopic?: string;
  policy: PartitionPolicy;
  /** Looks up the per-table route of a (destination-named) table. */
  routeFor?: (ref: TableRef) => TableRoute | undefined;
}

/** 32-bit FNV-1a over a string: stable across processes, so a key always lands on the same partition. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function jsonText(v: object): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

/**
 * A key value as the text it is hashed by: strings as they are, other scalars by `String`, objects
 * as JSON. A document's `_id` is most often an ObjectId or an Int32 wrapper: their JSON (through
 * their `toJSON`) is written directly, the same text without JSON.stringify's walk.
 */
export function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v !== 'object' || v === null) return String(v);
  const bsonType = (v as { _bsontype?: unknown })._bsontype;
  if (bsonType === 'ObjectId') return `"${(v as { toHexString(): string }).toHexString()}"`;
  if (bsonType === 'Int32') return String((v as { value: number }).value);
  return jsonText(v);
}

/** `valueText` without its BSON shortcuts (what the shortcuts are tested against). */
export function valueTextByJson(v: unknown): string {
  if (typeof v === 'string') return v;
  return typeof v === 'object' && v !== null ? jsonText(v) : String(v);
}

/** The text the key hash is taken over: each key column's value as text, each followed by U+0001. */
export function keyText(e: ChangeEvent, columns: readonly string[]): string {
  const row = e.after ?? e.before ?? {};
  let s = '';
  for (const c of columns) s += `${valueText(row[c])}\u0001`;
  return s;
}

/** `hash32(keyText(e, columns))`, without building the text. */
export function keyHash(e: ChangeEvent, columns: readonly string[]): number {
  const row = e.after ?? e.before ?? {};
  let h = 0x811c9dc5;
  for (const c of columns) {
    const text = valueText(row[c]);
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 1;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Chooses topic and partition for each event. DDL goes to the DDL topic (the data topic when
 * unset) and to partition 0. Under `keyHash` a row change goes to the partition of its key columns
 * as the new image has them (the old image for a delete). An update that changed the key would
 * land on the new key's partition while its record key is the old one, so the sink never routes
 * one: it writes a delete under the old key, then an insert under the new key, each routed here
 * by its own image (keyChanges.ts; README, "Key changes").
 */
export class Router {
  private readonly cache = new WeakMap<object, { topic: string; keyColumns: readonly string[]; tableHash: number }>();

  constructor(private readonly opts: RoutingOptions) {}

  private routeOf(e: ChangeEvent) {
    let r = this.cache.get(e.shape);
    if (!r) {
      const route = this.opts.routeFor?.(e.shape.ref);
      const ref = e.shape.ref;
      r = {
        topic: route?.topic ?? this.opts.topic,
        keyColumns: route?.partitionKey ?? e.shape.key,
        tableHash: hash32(`${ref.schema ?? ref.database}.${ref.table}`),
      };
      this.cache.set(e.shape, r);
    }
    return r;
  }

  topicOf(e: ChangeEvent): string {
    if (e.op === 'ddl' || e.op === 'truncate') return this.opts.ddlTopic ?? this.routeOf(e).topic;
    return this.routeOf(e).topic;
  }

  /** Partition among `count` partitions. */
  partitionOf(e: ChangeEvent, count: number): number {
    if (count <= 1 || this.opts.policy === 'partition0' || e.op === 'ddl' || e.op === 'truncate') return 0;
    const r = this.routeOf(e);
    if (this.opts.policy === 'tableHash' || r.keyColumns.length === 0) return r.tableHash % count;
    return keyHash(e, r.keyColumns) % count;
  }

  /** Topics an event set may touch (for prechecks and metadata). */
  topics(refs: readonly TableRef[]): string[] {
    const set = new Set<string>([this.opts.topic]);
    if (this.opts.ddlTopic) set.add(this.opts.ddlTopic);
    for (const ref of refs) {
      const t = this.opts.routeFor?.(ref)?.topic;
      if (t) set.add(t);
    }
    return [...set];
  }
}
