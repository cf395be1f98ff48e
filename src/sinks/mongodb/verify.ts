/**
 * Data verification: per collection, document counts and a content hash of source and
 * destination, plus the `_id`s that differ (bounded list).
 *
 * Both sides are read sorted by `_id` and walked in lockstep, with the driver's number promotion off,
 * and each document is hashed as canonical Extended JSON with object keys sorted (field order is
 * not compared: `{a,b}` equals `{b,a}`). Types are compared: an int64 5 differs from an int32 5,
 * a double 1402.0 from an int32 1402, a BSON regular expression keeps its options.
 * Documents whose `_id` has no partner yet wait in a map until the other side reaches it, so
 * memory stays small when the sides mostly agree.
 */
import { createHash } from 'node:crypto';
import { BSON } from 'mongodb';
import type { Document, MongoClient } from 'mongodb';
import { formatId, idKey } from './ops.js';

export interface VerifyPair {
  source: { database: string; collection: string };
  destination?: { database: string; collection: string };
}

export interface CollectionVerification {
  source: string;
  destination: string;
  sourceCount: number;
  destinationCount: number;
  sourceHash: string;
  destinationHash: string;
  equal: boolean;
  /** How many `_id`s differ in total (missing + extra + changed). */
  differences: number;
  missingInDestination: string[];
  extraInDestination: string[];
  contentDiffers: string[];
  /** True when the lists above were cut at `maxIds`. */
  truncated: boolean;
}

export interface VerificationReport {
  equal: boolean;
  collections: CollectionVerification[];
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object' && (value as { _bsontype?: unknown })._bsontype === undefined && !(value instanceof Date) && !ArrayBuffer.isView(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = canonical((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** Canonical EJSON text of a document with sorted keys. */
export function canonicalDocument(doc: Document): string {
  return BSON.EJSON.stringify(canonical(doc) as Document, { relaxed: false });
}

export function documentHash(doc: Document): string {
  return createHash('sha256').update(canonicalDocument(doc)).digest('hex');
}

export async function verifyCollection(
  source: MongoClient,
  dest: MongoClient,
  pair: VerifyPair,
  opts: { maxIds?: number; batchSize?: number } = {},
): Promise<CollectionVerification> {
  const maxIds = opts.maxIds ?? 100;
  const to = pair.destination ?? pair.source;
  const result: CollectionVerification = {
    source: `${pair.source.database}.${pair.source.collection}`,
    destination: `${to.database}.${to.collection}`,
    sourceCount: 0,
    destinationCount: 0,
    sourceHash: '',
    destinationHash: '',
    equal: false,
    differences: 0,
    missingInDestination: [],
    extraInDestination: [],
    contentDiffers: [],
    truncated: false,
  };
  const find = (c: MongoClient, db: string, coll: string) =>
    c.db(db).collection(coll).find({}, { sort: { _id: 1 }, batchSize: opts.batchSize ?? 1000, promoteLongs: false, promoteValues: false, bsonRegExp: true })[Symbol.asyncIterator]();
  const srcCur = find(source, pair.source.database, pair.source.collection);
  const dstCur = find(dest, to.database, to.collection);
  const srcHash = createHash('sha256');
  const dstHash = createHash('sha256');
  const srcPending = new Map<string, { id: unknown; hash: string }>();
  const dstPending = new Map<string, { id: unknown; hash: string }>();
  const note = (list: string[], id: unknown) => {
    result.differences++;
    if (list.length < maxIds) list.push(formatId(id));
    else result.truncated = true;
  };
  const compare = (key: string, id: unknown, h: string, other: Map<string, { id: unknown; hash: string }>, mine: Map<string, { id: unknown; hash: string }>) => {
    const o = other.get(key);
    if (o) {
      other.delete(key);
      if (o.hash !== h) note(result.contentDiffers, id);
    } else mine.set(key, { id, hash: h });
  };
  let srcDone = false;
  let dstDone = false;
  while (!srcDone || !dstDone) {
    const [s, d] = await Promise.all([srcDone ? undefined : srcCur.next(), dstDone ? undefined : dstCur.next()]);
    if (s) {
      if (s.done) srcDone = true;
      else {
        const doc = s.value as Document;
        const text = canonicalDocument(doc);
        srcHash.update(text).update('\n');
        result.sourceCount++;
        compare(idKey(doc._id), doc._id, createHash('sha1').update(text).digest('hex'), dstPending, srcPending);
      }
    }
    if (d) {
      if (d.done) dstDone = true;
      else {
        const doc = d.value as Document;
        const text = canonicalDocument(doc);
        dstHash.update(text).update('\n');
        result.destinationCount++;
        compare(idKey(doc._id), doc._id, createHash('sha1').update(text).digest('hex'), srcPending, dstPending);
      }
    }
  }
  for (const { id } of srcPending.values()) note(result.missingInDestination, id);
  for (const { id } of dstPending.values()) note(result.extraInDestination, id);
  result.sourceHash = srcHash.digest('hex');
  result.destinationHash = dstHash.digest('hex');
  result.equal = result.differences === 0 && result.sourceCount === result.destinationCount && result.sourceHash === result.destinationHash;
  return result;
}

export async function verifyCollections(
  source: MongoClient,
  dest: MongoClient,
  pairs: readonly VerifyPair[],
  opts: { maxIds?: number; batchSize?: number } = {},
): Promise<VerificationReport> {
  const collections: CollectionVerification[] = [];
  for (const p of pairs) collections.push(await verifyCollection(source, dest, p, opts));
  return { equal: collections.every((c) => c.equal), collections };
}

export function formatVerificationReport(r: VerificationReport): string {
  const lines = [`verification: ${r.equal ? 'EQUAL' : 'DIFFERENCES FOUND'} (${r.collections.length} collection(s))`];
  for (const c of r.collections) {
    lines.push(
      `  ${c.source} -> ${c.destination}: ${c.equal ? 'equal' : 'differs'}; count ${c.sourceCount} / ${c.destinationCount}; ` +
        `hash ${c.sourceHash.slice(0, 12)} / ${c.destinationHash.slice(0, 12)}; ${c.differences} difference(s)`,
    );
    if (c.missingInDestination.length > 0) lines.push(`    missing in destination: ${c.missingInDestination.join(', ')}`);
    if (c.extraInDestination.length > 0) lines.push(`    extra in destination: ${c.extraInDestination.join(', ')}`);
    if (c.contentDiffers.length > 0) lines.push(`    content differs: ${c.contentDiffers.join(', ')}`);
    if (c.truncated) lines.push(`    (lists cut at ${Math.max(c.missingInDestination.length, c.extraInDestination.length, c.contentDiffers.length)} ids)`);
  }
  return lines.join('\n');
}

/** A task object or exclusion as `verify` reads it (the MongoDB fields of the task config). */
export interface VerifyObject {
  database?: string | undefined;
  collection?: string | undefined;
  rename?: { database?: string | undefined; collection?: string | undefined } | undefined;
}

const SYSTEM_DATABASES = new Set(['admin', 'config', 'local']);

/**
 * The collection pairs a task covers: named collections as given; a whole database (no
 * `collection`) as every collection the source holds in it now (views and `system.*` left out),
 * into the renamed database when there is one; an object without a database, every database but
 * admin, config and local. Exclusions (`database` with or without `collection`) are taken out.
 */
export async function verifyPairsFor(source: MongoClient, objects: readonly VerifyObject[], exclude: readonly VerifyObject[] = []): Promise<VerifyPair[]> {
  const excluded = (database: string, collection: string) =>
    exclude.some((x) => (x.database === undefined || x.database === database) && (x.collection === undefined || x.collection === collection));
  const out = new Map<string, VerifyPair>();
  const add = (p: VerifyPair) => {
    if (!excluded(p.source.database, p.source.collection)) out.set(`${p.source.database}.${p.source.collection}`, p);
  };
  for (const o of objects) {
    if (o.database !== undefined && o.collection !== undefined) {
      add({ source: { database: o.database, collection: o.collection }, destination: { database: o.rename?.database ?? o.database, collection: o.rename?.collection ?? o.collection } });
      continue;
    }
    const dbs =
      o.database !== undefined
        ? [o.database]
        : ((await source.db('admin').command({ listDatabases: 1, nameOnly: true })).databases as Array<{ name: string }>).map((d) => d.name).filter((d) => !SYSTEM_DATABASES.has(d));
    for (const database of dbs) {
      const colls = await source.db(database).listCollections({}, { nameOnly: true }).toArray();
      for (const c of colls) {
        const type = (c as { type?: string }).type;
        if ((type !== undefined && type !== 'collection') || c.name.startsWith('system.')) continue;
        if (out.has(`${database}.${c.name}`)) continue;
        add({ source: { database, collection: c.name }, destination: { database: (o.database !== undefined ? o.rename?.database : undefined) ?? database, collection: c.name } });
      }
    }
  }
  return [...out.values()].sort((a, b) => (a.source.database === b.source.database ? (a.source.collection < b.source.collection ? -1 : 1) : a.source.database < b.source.database ? -1 : 1));
}
