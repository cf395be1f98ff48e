/**
 * MongoDB destination: replays full-sync inserts and incremental changes into a replica set or
 * sharded cluster, idempotently, in parallel lanes by `_id` hash (one ordered lane for collections
 * with a non-`_id` unique index or capped collections).
 */
import { MongoBulkWriteError, MongoClient, MongoServerError } from 'mongodb';
import type { AnyBulkWriteOperation, BulkWriteResult, Db, Document, MongoClientOptions, WriteConcernSettings } from 'mongodb';
import { ConnectionError, FatalError, classifyError } from '../../core/index.js';
import type { Batch, ChangeEvent, Logger, ObjectDefinition, PrecheckContext, PrecheckItem, Sink, SinkCapabilities, TableRef } from '../../core/index.js';
import { distinctIds, formatId, laneCount, partitionLanes, translateEvent } from './ops.js';
import type { BarrierOp, Lane, WriteOp } from './ops.js';
import { formatSchemaReport, stripTtl, syncSchema, type CollectionSpec } from './schema.js';
import { precheckMongoDestination } from './precheck.js';
import type { MongoPrecheckOptions } from './precheck.js';

export type ConflictMode = 'precheckAndReport' | 'ignoreAndProceed';

export interface MongoSinkOptions {
  uri: string;
  /** What a duplicate `_id` (or unique key) does: fail naming it, or keep the destination document and count it. */
  conflictMode?: ConflictMode;
  /** Concurrent lanes per batch (default 8). */
  parallelism?: number;
  /** Write concern every write is acknowledged with (default `{ w: 'majority' }`). */
  writeConcern?: WriteConcernSettings;
  /** Known shard keys by `database.collection`; merged over what `config.collections` says. */
  shardKeys?: Record<string, readonly string[]>;
  /** Read shard keys from the destination's `config.collections` (default true). */
  detectShardKeys?: boolean;
  /** TTL indexes replayed from DDL: created without `expireAfterSeconds` (default 'strip') or as is. */
  ttl?: 'strip' | 'keep';
  /** Documents above this size fail the task (default 16 MB, MongoDB's limit). */
  maxDocumentBytes?: number;
  /** What `precheck()` checks beyond connectivity. */
  precheck?: Omit<MongoPrecheckOptions, 'conflictMode'>;
  /**
   * Asked at precheck time for what only the task knows then (the source's version or client, the
   * destination collections after name mapping); merged over `precheck`.
   */
  precheckFrom?: () => Promise<Omit<MongoPrecheckOptions, 'conflictMode'>>;
  /** The task resumes from a checkpoint (also learned from `precheck({ resuming })`): full-sync inserts upsert. */
  resuming?: boolean;
  clientOptions?: MongoClientOptions;
  /** Use this client instead of connecting to `uri` (not closed by `close()`). */
  client?: MongoClient;
  logger?: Logger;
}

export interface MongoSinkCounters {
  inserted: number;
  replaced: number;
  updated: number;
  deleted: number;
  /** Partial updates whose target document was not there (ignored, as the seed's TTL FAQ says). */
  missingOnUpdate: number;
  /** Deletes that matched nothing (TTL on the destination, or replay of an already applied delete). */
  missingOnDelete: number;
  /** Duplicate `_id` / unique key writes skipped in 'ignoreAndProceed' mode. */
  conflicts: number;
  ddlApplied: number;
  /** DDL commands this sink does not replay (logged with the command name). */
  ddlSkipped: number;
  /** Bulk write round trips (one per lane per segment, plus resumptions after conflicts). */
  bulkWrites: number;
}

/** A duplicate `_id` or unique key at the destination in 'precheckAndReport' mode. */
export class DuplicateKeyConflictError extends FatalError {
  constructor(ns: string, id: unknown, serverMessage: string, cause: unknown) {
    super('DUPLICATE_KEY', `The destination collection ${ns} already holds a document that conflicts with _id ${formatId(id)}: ${serverMessage}`, {
      object: ns,
      field: '_id',
      fix: 'Delete the conflicting documents from the destination, map the collection to another name, or set conflictMode to ignoreAndProceed (keeps the destination document).',
      cause,
    });
  }
}

/**
 * How incremental writes are grouped into bulk writes (the benchmark compares settings in one run):
 * `minOpsPerLane`: a flush uses no more lanes than one per this many writes (fewer, fuller bulk
 * writes for small batches; 1 = always `parallelism` lanes); `unorderedLanes`: a lane whose writes
 * all have distinct `_id`s is written unordered (order between different documents does not matter
 * for a collection without other unique indexes; collections replayed single-threaded stay ordered).
 */
export const mongoReplayTuning = { minOpsPerLane: 1, unorderedLanes: true };

interface CollectionMeta {
  singleThreaded: boolean;
  reason?: 'unique index' | 'capped';
  shardKey: readonly string[] | undefined;
}

const NAMESPACE_EXISTS = 48;
const NAMESPACE_NOT_FOUND = 26;
const INDEX_NOT_FOUND = 27;
const DUPLICATE_KEY = new Set([11000, 11001]);
const CODE_NAMES: Record<number, string> = { 48: 'NamespaceExists', 26: 'NamespaceNotFound', 27: 'IndexNotFound' };
// Servers that send no code (mongo-java-server says only "ns not found") are matched by message.
const CODE_MESSAGES: Record<number, RegExp> = { 48: /already exists/i, 26: /ns not found|does not exist/i, 27: /index not found/i };

/** True when a server error is one of the "already done" outcomes an idempotent DDL replay ignores. */
function isIgnorable(err: MongoServerError, codes: readonly number[]): boolean {
  return codes.some(
    (c) => err.code === c || err.codeName === CODE_NAMES[c] || (err.code === undefined && (CODE_MESSAGES[c]?.test(err.message) ?? false)),
  );
}

function writeErrorsOf(err: MongoBulkWriteError): Array<{ index: number; code: number; errmsg?: string }> {
  const w = err.writeErrors as unknown;
  const list = Array.isArray(w) ? w : w ? [w] : [];
  return list.map((e: { index: number; code: number; errmsg?: string }) => ({ index: e.index, code: e.code, errmsg: e.errmsg }));
}

/**
 * classifyError plus the driver's wrapped network failures: a bulk write interrupted by a pool
 * reset (`PoolClearedOnNetworkError`, a `MongoNetworkTimeoutError` cause) is a connection error.
 */
export function classifyMongoError(err: unknown, context: string): Error {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 5; depth++) {
    const name = (cur as { name?: unknown }).name;
    if (typeof name === 'string' && /MongoNetwork|PoolCleared|MongoServerSelection/.test(name)) {
      return new ConnectionError('CONNECTION', `${context}: ${(err as Error).message}`, { cause: err });
    }
    cur = (cur as { errorResponse?: unknown; cause?: unknown }).errorResponse ?? (cur as { cause?: unknown }).cause;
    if (cur !== null && typeof cur === 'object' && !(cur instanceof Error)) cur = undefined;
  }
  return classifyError(err, context);
}

/** Runs `tasks` with at most `limit` in flight; rejects with the first error after all settled. */
async function runLimited(tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let firstError: unknown;
  let failed = false;
  const worker = async () => {
    while (next < tasks.length && !failed) {
      const task = tasks[next++];
      if (!task) break;
      try {
        await task();
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failed) throw firstError;
}

export class MongoSink implements Sink {
  readonly kind = 'mongodb';
  /**
   * Schema synchronization: creates the source's collections (options) and their indexes under
   * their destination names; TTL indexes are created without their expiry so copied documents are
   * not deleted by the destination (the log says how to restore it after the task).
   */
  async createObjects(definitions: readonly ObjectDefinition[], destinationName: (ref: TableRef) => TableRef): Promise<void> {
    const specs: CollectionSpec[] = definitions.map((d) => {
      const to = destinationName(d.ref);
      const def = (d.definition ?? {}) as { options?: Document; indexes?: readonly Document[] };
      return { database: to.database, name: to.table, ...(def.options ? { options: def.options } : {}), ...(def.indexes ? { indexes: def.indexes } : {}) };
    });
    const report = await syncSchema(await this.connect(), specs, { ttl: 'strip' });
    this.opts.logger?.info('schema synchronized', { created: report.createdCollections.length, existing: report.existingCollections.length, indexes: report.indexes.length });
    if (report.ttl.length > 0) this.opts.logger?.warn(formatSchemaReport(report), { ttlIndexes: report.ttl.length });
  }

  /** Batches are written one after the other (lanes run in parallel inside a batch). */
  readonly capabilities: SinkCapabilities = { maxInFlightWrites: 1, transactional: false };
  readonly counters: MongoSinkCounters = {
    inserted: 0,
    replaced: 0,
    updated: 0,
    deleted: 0,
    missingOnUpdate: 0,
    missingOnDelete: 0,
    conflicts: 0,
    ddlApplied: 0,
    ddlSkipped: 0,
    bulkWrites: 0,
  };
  private readonly opts: MongoSinkOptions;
  private readonly parallelism: number;
  private readonly writeConcern: WriteConcernSettings;
  private readonly conflictMode: ConflictMode;
  private client: MongoClient | undefined;
  /** The task resumes from a checkpoint: snapshot inserts are replays and upsert by `_id`. */
  private resuming: boolean;
  private connecting: Promise<MongoClient> | undefined;
  private readonly meta = new Map<string, Promise<CollectionMeta>>();

  constructor(opts: MongoSinkOptions) {
    this.opts = opts;
    this.parallelism = Math.max(1, Math.floor(opts.parallelism ?? 8));
    this.writeConcern = opts.writeConcern ?? { w: 'majority' };
    this.conflictMode = opts.conflictMode ?? 'precheckAndReport';
    this.client = opts.client;
    this.resuming = opts.resuming === true;
  }

  /** The connected destination client (connects on first use). */
  async connect(): Promise<MongoClient> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new MongoClient(this.opts.uri, { serverSelectionTimeoutMS: 10_000, ...this.opts.clientOptions });
      try {
        await client.connect();
      } catch (err) {
        this.connecting = undefined;
        await client.close().catch(() => undefined);
        throw classifyError(err, 'MongoDB destination');
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }

  async precheck(context?: PrecheckContext): Promise<PrecheckItem[]> {
    if (context?.resuming === true) this.resuming = true;
    let client: MongoClient;
    try {
      client = await this.connect();
    } catch (err) {
      return [
        {
          id: 'mongodb.destination.connect',
          group: 'connectivity',
          title: 'Connect to the MongoDB destination',
          status: 'fail',
          detail: String((err as Error).message ?? err),
          fix: 'Check the destination URI, network access and credentials.',
        },
      ];
    }
    let fromTask: Omit<MongoPrecheckOptions, 'conflictMode'> = {};
    if (this.opts.precheckFrom) {
      try {
        fromTask = await this.opts.precheckFrom();
      } catch (err) {
        this.opts.logger?.warn('the task could not tell the destination precheck its source details', { error: String((err as Error).message ?? err) });
      }
    }
    return precheckMongoDestination(client, { ...this.opts.precheck, ...fromTask, ...(this.resuming ? { resuming: true } : {}), conflictMode: this.conflictMode });
  }

  /** Whether a collection is replayed through one ordered lane, and why (cached until DDL touches it). */
  async collectionMeta(database: string, collection: string): Promise<CollectionMeta> {
    const ns = `${database}.${collection}`;
    let m = this.meta.get(ns);
    if (!m) {
      m = this.loadMeta(database, collection);
      this.meta.set(ns, m);
      m.catch(() => this.meta.delete(ns));
    }
    return m;
  }

  private async loadMeta(database: string, collection: string): Promise<CollectionMeta> {
    const client = await this.connect();
    const db = client.db(database);
    const ns = `${database}.${collection}`;
    const [infos, indexes, shardKey] = await Promise.all([
      db.listCollections({ name: collection }, { nameOnly: false }).toArray(),
      db
        .collection(collection)
        .listIndexes()
        .toArray()
        .catch((err: unknown) => {
          if (err instanceof MongoServerError && isIgnorable(err, [NAMESPACE_NOT_FOUND])) return [] as Document[];
          throw err;
        }),
      this.shardKeyOf(client, ns),
    ]);
    const capped = infos.some((i) => (i as { options?: { capped?: boolean } }).options?.capped === true);
    const unique = indexes.some((ix) => ix.unique === true && ix.name !== '_id_');
    const meta: CollectionMeta = { singleThreaded: capped || unique, shardKey };
    if (capped) meta.reason = 'capped';
    else if (unique) meta.reason = 'unique index';
    if (meta.singleThreaded) this.opts.logger?.info('single-threaded replay', { collection: ns, reason: meta.reason });
    return meta;
  }

  private async shardKeyOf(client: MongoClient, ns: string): Promise<readonly string[] | undefined> {
    const known = this.opts.shardKeys?.[ns];
    if (known) return known;
    if (this.opts.detectShardKeys === false) return undefined;
    try {
      const doc = await client.db('config').collection('collections').findOne({ _id: ns as unknown as Document['_id'] });
      if (!doc || doc.dropped === true || !doc.key || typeof doc.key !== 'object') return undefined;
      return Object.keys(doc.key as Document);
    } catch (err) {
      this.opts.logger?.debug('shard keys not readable', { collection: ns, error: String(err) });
      return undefined;
    }
  }

  /** Resolves when every write of the batch is acknowledged with the configured write concern. */
  async write(batch: Batch<ChangeEvent>): Promise<void> {
    const events = batch.items;
    if (events.length === 0) return;
    // Collection metadata first (cached): lane policy and shard keys.
    const nss = new Map<string, [string, string]>();
    for (const e of events) {
      if (e.op === 'heartbeat' || e.op === 'ddl') continue;
      const { database, table } = e.shape.ref;
      nss.set(`${database}.${table}`, [database, table]);
    }
    const metas = new Map<string, CollectionMeta>();
    await Promise.all([...nss].map(async ([ns, [d, c]]) => metas.set(ns, await this.collectionMeta(d, c))));

    let pending: WriteOp[] = [];
    for (const e of events) {
      const ns = `${e.shape.ref.database}.${e.shape.ref.table}`;
      let meta = metas.get(ns);
      if (!meta && e.op !== 'ddl' && e.op !== 'heartbeat') {
        // The collection was touched by DDL earlier in this batch: reload.
        meta = await this.collectionMeta(e.shape.ref.database, e.shape.ref.table);
        metas.set(ns, meta);
      }
      const t = translateEvent(e, { shardKey: meta?.shardKey, maxDocumentBytes: this.opts.maxDocumentBytes, replay: this.resuming });
      if (t.type === 'skip') continue;
      if (t.type === 'write') {
        pending.push(t.op);
        continue;
      }
      await this.flush(pending, metas);
      pending = [];
      await this.applyBarrier(t.op);
      // DDL can add unique indexes, drop or rename collections: forget what we knew.
      for (const key of [...metas.keys()]) if (key.startsWith(`${t.op.database}.`)) metas.delete(key);
    }
    const wrote = pending.length > 0 || events.some((e) => e.op === 'ddl');
    await this.flush(pending, metas);
    // Nothing written (heartbeats only): acknowledged only when the destination answers, so they
    // keep latency and health true while idle, and fail like writes while it is down.
    if (!wrote) await this.probe();
  }

  private async probe(): Promise<void> {
    try {
      const client = await this.connect();
      await client.db('admin').command({ ping: 1 });
    } catch (err) {
      throw classifyMongoError(err, 'MongoDB destination');
    }
  }

  private async flush(ops: WriteOp[], metas: Map<string, CollectionMeta>): Promise<void> {
    if (ops.length === 0) return;
    const single = (ns: string) => metas.get(ns)?.singleThreaded === true;
    const lanes = partitionLanes(ops, laneCount(ops.length, this.parallelism, mongoReplayTuning.minOpsPerLane), single);
    await runLimited(
      lanes.map((lane) => () => this.runLane(lane, single(lane.ns))),
      this.parallelism,
    );
  }

  private async runLane(lane: Lane, singleThreaded: boolean): Promise<void> {
    const client = await this.connect();
    const dot = lane.ns.indexOf('.');
    const coll = client.db(lane.ns.slice(0, dot)).collection(lane.ns.slice(dot + 1));
    // A lane of snapshot inserts only has no order to keep: unordered, conflicts reported per
    // document; nor has a lane whose writes touch distinct documents of a collection without other
    // unique indexes (the server may apply them in any order and goes on past a failed one).
    const ordered = !lane.ops.every((o) => o.snapshot) && (singleThreaded || !mongoReplayTuning.unorderedLanes || !distinctIds(lane.ops));
    let start = 0;
    while (start < lane.ops.length) {
      const slice = start === 0 ? lane.ops : lane.ops.slice(start);
      this.counters.bulkWrites++;
      try {
        const res = await coll.bulkWrite(
          slice.map((o) => o.model as AnyBulkWriteOperation<Document>),
          { ordered, writeConcern: this.writeConcern },
        );
        this.account(slice, res, new Set());
        return;
      } catch (err) {
        if (!(err instanceof MongoBulkWriteError)) throw classifyMongoError(err, `MongoDB destination ${lane.ns}`);
        const errors = writeErrorsOf(err);
        if (errors.length === 0) throw classifyMongoError(err, `MongoDB destination ${lane.ns}`);
        const failed = new Set<number>();
        for (const we of errors) {
          const op = slice[we.index];
          if (!DUPLICATE_KEY.has(we.code) || !op) throw classifyMongoError(err, `MongoDB destination ${lane.ns}`);
          if (this.conflictMode === 'precheckAndReport') throw new DuplicateKeyConflictError(lane.ns, op.id, we.errmsg ?? 'duplicate key', err);
          failed.add(we.index);
          this.counters.conflicts++;
          this.opts.logger?.warn('duplicate key kept at destination', { collection: lane.ns, _id: formatId(op.id), kind: op.kind });
        }
        if (err.writeConcernError) throw classifyError(err, `MongoDB destination ${lane.ns} (write concern)`);
        if (!ordered) {
          this.account(slice, err.result, failed);
          return;
        }
        // Ordered: everything before the failing op was applied; resume after it.
        const at = Math.min(...failed);
        this.account(slice.slice(0, at), err.result, new Set());
        start += at + 1;
      }
    }
  }

  /** Adds the outcome of `ops` (minus `failed` indexes) to the counters, from the bulk result. */
  private account(ops: readonly WriteOp[], res: BulkWriteResult, failed: ReadonlySet<number>): void {
    let inserts = 0;
    let replaces = 0;
    let updates = 0;
    let deletes = 0;
    ops.forEach((o, i) => {
      if (failed.has(i)) return;
      if (o.kind === 'insert') inserts++;
      else if (o.kind === 'replace') replaces++;
      else if (o.kind === 'update') updates++;
      else deletes++;
    });
    const c = this.counters;
    c.inserted += inserts;
    c.replaced += replaces;
    // matched = matched replaces + matched updates; replaces that did not match were upserted.
    const updatesMatched = Math.max(0, Math.min(updates, res.matchedCount - (replaces - res.upsertedCount)));
    c.updated += updatesMatched;
    c.missingOnUpdate += updates - updatesMatched;
    const deleted = Math.min(deletes, res.deletedCount);
    c.deleted += deleted;
    c.missingOnDelete += deletes - deleted;
  }

  private async applyBarrier(op: BarrierOp): Promise<void> {
    const client = await this.connect();
    const db = client.db(op.database);
    const ns = `${op.database}.${op.collection}`;
    if (op.kind === 'truncate') {
      await db.collection(op.collection).deleteMany({}, { writeConcern: this.writeConcern });
      this.counters.ddlApplied++;
      return;
    }
    const command = op.command ?? {};
    const name = Object.keys(command)[0] ?? '';
    const ignore = async (p: Promise<unknown>, codes: number[]) => {
      try {
        await p;
      } catch (err) {
        if (err instanceof MongoServerError && isIgnorable(err, codes)) return;
        throw classifyError(err, `MongoDB destination DDL ${name} on ${ns}`);
      }
    };
    const wc = { writeConcern: this.writeConcern };
    switch (name) {
      case 'create': {
        const { create: _c, ...options } = command;
        await ignore(db.command({ create: op.collection, ...options, ...wc }), [NAMESPACE_EXISTS]);
        break;
      }
      case 'drop':
        await ignore(db.command({ drop: op.collection, ...wc }), [NAMESPACE_NOT_FOUND]);
        break;
      case 'createIndexes': {
        // Oplog form (4.4+): one spec inline; command form: `indexes: [...]`.
        const { createIndexes: _c, indexes, ...inline } = command;
        const specs = (Array.isArray(indexes) ? (indexes as Document[]) : [inline]).map((s) => {
          const { v: _v, ns: _ns, ...rest } = s;
          if (this.opts.ttl === 'keep') return rest;
          const stripped = stripTtl(rest);
          if (stripped.expireAfterSeconds !== undefined) {
            this.opts.logger?.warn('TTL index created without expireAfterSeconds', {
              collection: ns,
              index: rest.name,
              expireAfterSeconds: stripped.expireAfterSeconds,
            });
          }
          return stripped.spec;
        });
        await ignore(db.command({ createIndexes: op.collection, indexes: specs, ...wc }), []);
        break;
      }
      case 'dropIndexes':
      case 'deleteIndexes':
        await ignore(db.command({ dropIndexes: op.collection, index: command.index ?? command[name] ?? '*', ...wc }), [
          NAMESPACE_NOT_FOUND,
          INDEX_NOT_FOUND,
        ]);
        break;
      case 'dropDatabase':
        await ignore(db.dropDatabase(wc), []);
        break;
      case 'renameCollection': {
        const toRaw = String(command.to ?? '');
        const to = toRaw.includes('.') ? toRaw : `${op.database}.${toRaw}`;
        await ignore(
          client.db('admin').command({ renameCollection: ns, to, dropTarget: command.dropTarget === true, ...wc }),
          [NAMESPACE_NOT_FOUND],
        );
        this.meta.delete(to);
        break;
      }
      default:
        this.counters.ddlSkipped++;
        this.opts.logger?.warn('DDL not replayed into MongoDB', { collection: ns, command: name });
        return;
    }
    this.counters.ddlApplied++;
    if (name === 'dropDatabase') {
      for (const key of [...this.meta.keys()]) if (key.startsWith(`${op.database}.`)) this.meta.delete(key);
    }
    this.meta.delete(ns);
  }

  /** A database handle on the destination (for tests and schema sync). */
  async db(name: string): Promise<Db> {
    return (await this.connect()).db(name);
  }

  async close(): Promise<void> {
    const own = this.client && this.client !== this.opts.client;
    const c = this.client;
    this.client = undefined;
    this.connecting = undefined;
    this.meta.clear();
    if (own && c) await c.close();
  }
}
