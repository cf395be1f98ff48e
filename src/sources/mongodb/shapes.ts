import { BSON } from 'mongodb';
import type { TableRef, TableShape } from '../../core/events.js';

/** One shape per collection, shared by all of its events. */
export class ShapeCache {
  private readonly byNs = new Map<string, TableShape>();

  get(database: string, collection: string): TableShape {
    const ns = `${database}.${collection}`;
    let s = this.byNs.get(ns);
    if (!s) {
      s = { ref: { database, table: collection }, columns: [], key: ['_id'] };
      this.byNs.set(ns, s);
    }
    return s;
  }

  all(): TableShape[] {
    return [...this.byNs.values()].filter((s) => s.ref.table !== '');
  }
}

/** The shape of heartbeat events (no collection). */
export const HEARTBEAT_SHAPE: TableShape = { ref: { database: '', table: '' }, columns: [], key: [] };

/** Splits `db.coll.with.dots` at the first dot. */
export function splitNs(ns: string): TableRef {
  const dot = ns.indexOf('.');
  return dot < 0 ? { database: ns, table: '' } : { database: ns.slice(0, dot), table: ns.slice(dot + 1) };
}

/**
 * How documents are read from the source: every BSON type kept as the driver's wrapper (Int32,
 * Double, Long, BSONRegExp), never promoted to JS numbers / RegExp, so a double 1402.0 stays a
 * double and an int64 stays an int64 all the way to the destination.
 */
export const RAW_BSON = { promoteLongs: false, promoteValues: false, bsonRegExp: true } as const;

/** A BSON number (JS number, bigint, Int32, Double, Long) as a JS number; undefined for anything else. */
export function bsonNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v !== null && typeof v === 'object') {
    const t = (v as { _bsontype?: string })._bsontype;
    if (t === 'Int32' || t === 'Double') return (v as { value: number }).value;
    if (t === 'Long') return (v as { toNumber(): number }).toNumber();
  }
  return undefined;
}

/** Databases never synchronized. */
export const SYSTEM_DATABASES: ReadonlySet<string> = new Set(['admin', 'config', 'local']);

export function isSystemCollection(name: string): boolean {
  return name.startsWith('system.');
}

/** BSON size of a document: the bytes the source stored or sent. */
export function bsonSize(doc: object | null | undefined): number {
  if (!doc) return 0;
  try {
    return BSON.calculateObjectSize(doc as BSON.Document);
  } catch {
    return 64;
  }
}
