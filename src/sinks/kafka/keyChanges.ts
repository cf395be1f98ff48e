import type { ChangeEvent } from '../../core/events.js';
import { relationalKeyChanged, relationalKeyText } from '../../formats/key.js';

/** Header of the insert that begins a key's history after a key change: the key it had before (record key text). */
export const OLD_KEY_HEADER = 'tributary.oldKey';
/** Header of the delete that ends a key's history at a key change: the key the row has now (record key text). */
export const NEW_KEY_HEADER = 'tributary.newKey';

const headersOf = new WeakMap<ChangeEvent, Record<string, string>>();

/**
 * How the Kafka sink delivers an update that changed the row's key (as Debezium does): a delete
 * carrying the old image, keyed and partitioned by the old key, then an insert carrying the new
 * image, keyed and partitioned by the new key. So each key's history stays on one partition, in
 * order, under every partition policy, and a consumer compacting or applying by key sees the old
 * key end and the new one begin. Both halves keep the update's position, transaction and commit
 * time (acknowledgements and checkpoints are per source event; the sink writes both or neither).
 * Null for every other event, an update that kept its key included.
 */
export function splitKeyChange(e: ChangeEvent): [ChangeEvent, ChangeEvent] | null {
  if (!relationalKeyChanged(e)) return null;
  const del: ChangeEvent = { ...e, op: 'delete', after: null };
  const ins: ChangeEvent = { ...e, op: 'insert', before: null };
  const oldKey = relationalKeyText(del);
  const newKey = relationalKeyText(ins);
  if (newKey !== null) headersOf.set(del, { [NEW_KEY_HEADER]: newKey });
  if (oldKey !== null) headersOf.set(ins, { [OLD_KEY_HEADER]: oldKey });
  return [del, ins];
}

/** The Kafka headers of a half made by `splitKeyChange` (the other key), else undefined. */
export function keyChangeHeaders(e: ChangeEvent): Record<string, string> | undefined {
  return headersOf.get(e);
}
