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
