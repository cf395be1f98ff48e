/**
 * Schema synchronization into MongoDB: collections (with their options) and indexes are created
 * before any data arrives.
 *
 * TTL indexes. The seed's FAQ explains why TTL on both sides corrupts a sync: the destination
 * deletes expired documents on its own schedule, so later partial updates from the source find
 * nothing (and are ignored) and deletes replayed from the source match nothing. The default here
 * ('strip') creates every TTL index WITHOUT `expireAfterSeconds` (a plain index on the same key,
 * same name), lists it in the report, and gives the `collMod` commands that restore expiry once
 * the task is stopped. 'keep' creates TTL indexes as they are and still reports them.
 */
import type { Document, MongoClient } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { classifyError } from '../../core/index.js';

/** One source collection as `listCollections` + `listIndexes` describe it. */
export interface CollectionSpec {
  database: string;
  name: string;
  /** `listCollections` options: capped, size, max, validator, collation, viewOn, pipeline, ... */
  options?: Document;
  /** `listIndexes` entries; the `_id_` index is implied. */
  indexes?: readonly Document[];
}

export interface TtlIndexNote {
  collection: string;
  index: string;
  key: Document;
  expireAfterSeconds: number;
  action: 'stripped' | 'kept';
  /** The command that gives the index its expiry back (run after the task stopped). */
  restore: Document;
}

export interface SchemaSyncReport {
  createdCollections: string[];
  /** Collections that were already there (their options were left as they are). */
  existingCollections: string[];
  indexes: Array<{ collection: string; index: string }>;
  ttl: TtlIndexNote[];
}

/** An index spec without `expireAfterSeconds`, and the value it had. */
export function stripTtl(spec: Document): { spec: Document; expireAfterSeconds?: number } {
  if (spec.expireAfterSeconds === undefined) return { spec };
  const { expireAfterSeconds, ...rest } = spec;
  return { spec: rest, expireAfterSeconds: Number(expireAfterSeconds) };
}

/** Reads collection specs of one database (all user collections, or the named ones). */
export async function readCollectionSpecs(client: MongoClient, database: string, names?: readonly string[]): Promise<CollectionSpec[]> {
  const db = client.db(database);
  const filter = names ? { name: { $in: [...names] } } : {};
  const infos = await db.listCollections(filter, { nameOnly: false }).toArray();
  const out: CollectionSpec[] = [];
  for (const info of infos) {
    const name = String(info.name);
    if (name.startsWith('system.')) continue;
    const isView = (info as { type?: string }).type === 'view';
    const indexes = isView ? [] : await db.collection(name).listIndexes().toArray();
    out.push({ database, name, options: (info as { options?: Document }).options ?? {}, indexes });
  }
  return out;
}

const NAMESPACE_EXISTS = 48;

/** Creates collections, then their indexes (TTL handled per `ttl`), at the destination. */
export async function syncSchema(
  dest: MongoClient,
  specs: readonly CollectionSpec[],
  opts: { ttl?: 'strip' | 'keep' } = {},
): Promise<SchemaSyncReport> {
  const ttlMode = opts.ttl ?? 'strip';
  const report: SchemaSyncReport = { createdCollections: [], existingCollections: [], indexes: [], ttl: [] };
  // Plain collections before views (a view's source should exist first).
  const ordered = [...specs].sort((a, b) => Number(a.options?.viewOn !== undefined) - Number(b.options?.viewOn !== undefined));
  for (const spec of ordered) {
    const ns = `${spec.database}.${spec.name}`;
    const db = dest.db(spec.database);
    try {
      await db.command({ create: spec.name, ...(spec.options ?? {}) });
      report.createdCollections.push(ns);
    } catch (err) {
      if (err instanceof MongoServerError && err.code === NAMESPACE_EXISTS) report.existingCollections.push(ns);
      else throw classifyError(err, `schema sync: create ${ns}`);
    }
    const specsToCreate: Document[] = [];
    for (const ix of spec.indexes ?? []) {
      if (ix.name === '_id_') continue;
      const { v: _v, ns: _ns, ...clean } = ix;
      const { spec: stripped, expireAfterSeconds } = stripTtl(clean);
      if (expireAfterSeconds !== undefined) {
        report.ttl.push({
          collection: ns,
          index: String(ix.name),
          key: ix.key as Document,
          expireAfterSeconds,
          action: ttlMode === 'strip' ? 'stripped' : 'kept',
          restore: { collMod: spec.name, index: { name: String(ix.name), expireAfterSeconds } },
        });
      }
      specsToCreate.push(ttlMode === 'strip' ? stripped : clean);
    }
    if (specsToCreate.length > 0) {
      try {
        await db.command({ createIndexes: spec.name, indexes: specsToCreate });
      } catch (err) {
        throw classifyError(err, `schema sync: create indexes of ${ns}`);
      }
      for (const s of specsToCreate) report.indexes.push({ collection: ns, index: String(s.name) });
    }
  }
  return report;
}

/** A short text summary of a schema sync, TTL collections called out. */
export function formatSchemaReport(r: SchemaSyncReport): string {
  const lines = [
    `collections created: ${r.createdCollections.length}, already present: ${r.existingCollections.length}, indexes: ${r.indexes.length}`,
  ];
  for (const t of r.ttl) {
    lines.push(
      t.action === 'stripped'
        ? `TTL index ${t.collection}.${t.index} created WITHOUT expireAfterSeconds (${t.expireAfterSeconds}s at the source); ` +
            `restore after the task stops: db.runCommand(${JSON.stringify(t.restore)}) in ${t.collection.split('.')[0]}`
        : `TTL index ${t.collection}.${t.index} kept with expireAfterSeconds ${t.expireAfterSeconds}: expect deletes that match nothing and updates of expired documents to be ignored`,
    );
  }
  return lines.join('\n');
}
