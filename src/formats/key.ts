import type { ChangeEvent, Row } from '../core/events.js';
import { FatalError } from '../core/errors.js';
import { qualifiedName } from '../core/events.js';
import { valueText } from './types/values.js';
import { bsonToJson } from './types/document.js';
import { quote } from './json.js';

/**
 * The Kafka record key shared by all formats, so that switching format keeps partitioning:
 * - relational rows: JSON array of the key columns' values in text form (`["42","a"]`), taken
 *   from the old image when it carries the key (a delete, or an update that changed the key, as
 *   Canal does) and from the new image otherwise. The Kafka sink never writes an update that
 *   changed the key: it writes a delete under the old key and an insert under the new one
 *   (`relationalKeyChanged`, sinks/kafka/keyChanges.ts);
 * - MongoDB documents: `[<_id as Extended JSON>]`;
 * - DDL, truncate, and tables without a key: null (the producer then partitions by table).
 */
export function recordKey(e: ChangeEvent, documents: boolean): Buffer | null {
  const text = recordKeyText(e, documents);
  return text === null ? null : Buffer.from(text, 'utf8');
}

/** `recordKey` as text (null for no key). */
export function recordKeyText(e: ChangeEvent, documents: boolean): string | null {
  if (e.op !== 'insert' && e.op !== 'update' && e.op !== 'delete') return null;
  return documents ? documentKeyText(e) : relationalKeyText(e);
}

export function documentId(e: ChangeEvent): unknown {
  const b = e.before?._id;
  if (b !== undefined) return b;
  const a = e.after?._id;
  if (a !== undefined) return a;
  return e.patch?.set?._id;
}

export function documentKeyText(e: ChangeEvent): string | null {
  const id = documentId(e);
  return id === undefined ? null : `[${bsonToJson(id)}]`;
}

function hasKey(row: Row | null | undefined, key: readonly string[]): row is Row {
  if (row === null || row === undefined) return false;
  for (const k of key) if (row[k] === undefined) return false;
  return true;
}

/**
 * The image a relational key is read from: the old image when it carries the key, else the new
 * one; null for a table without a key. Throws when neither image carries it.
 */
export function relationalKeyRow(e: ChangeEvent): Row | null {
  const key = e.shape.key;
  if (key.length === 0) return null;
  const row = hasKey(e.before, key) ? e.before : hasKey(e.after, key) ? e.after : null;
  if (row === null) {
    throw new FatalError('FORMAT_KEY_MISSING', `${e.op} on ${qualifiedName(e.shape.ref)} carries no value for its key (${key.join(', ')})`, {
      object: qualifiedName(e.shape.ref),
      fix: 'check the table\'s replica identity (it must include the key columns)',
    });
  }
  return row;
}

export function relationalKeyText(e: ChangeEvent): string | null {
  const row = relationalKeyRow(e);
  if (row === null) return null;
  const key = e.shape.key;
  if (key.length === 1) {
    const t = valueText(row[key[0] as string]);
    return t === null ? '[null]' : `[${quote(t)}]`;
  }
  let out = '[';
  for (let i = 0; i < key.length; i++) {
    if (i > 0) out += ',';
    const t = valueText(row[key[i] as string]);
    out += t === null ? 'null' : quote(t);
  }
  return `${out}]`;
}

/**
 * Whether a relational update changed its row's key: both images carry every key column and the
 * key differs in the text the record key is made of (`relationalKeyText`). False for tables without
 * a key and for updates without an old key image (REPLICA IDENTITY DEFAULT sends the old key only
 * when it changed). MongoDB `_id`s cannot change.
 */
export function relationalKeyChanged(e: ChangeEvent): boolean {
  if (e.op !== 'update') return false;
  const key = e.shape.key;
  if (key.length === 0 || !hasKey(e.before, key) || !hasKey(e.after, key)) return false;
  for (const k of key) {
    const b = e.before[k];
    const a = e.after[k];
    if (a !== b && valueText(a) !== valueText(b)) return true;
  }
  return false;
}
