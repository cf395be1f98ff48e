import { Observable } from 'rxjs';
import type { ChangeStream, Collection, Document, FindCursor, MongoClient, Timestamp } from 'mongodb';
import type { FlowControl, Logger } from '../../core/contracts.js';
import type { ChangeEvent, Row, TableRef } from '../../core/events.js';
import { convertChangeEvent, tokenData, UnreadableChangeError, type ChangeStreamEvent } from './changeStream.js';
import { classifyMongoError, lostHistory, rolledBack, switchedOver } from './errors.js';
import { convertOplogEntry, termOf, type OplogContext, type OplogEntry } from './oplog.js';
import { OplogPosition, ResumeTokenPosition, StreamSetPosition, tokenClusterTime, type MongoPosition } from './position.js';
import { HEARTBEAT_SHAPE, RAW_BSON } from './shapes.js';
import { RAW_BYTES, decodeOplogEntry } from './rawBson.js';
import { FatalError } from '../../core/errors.js';

export interface StreamOptions {
  client: MongoClient;
  ctx: OplogContext;
  /** Databases whose changes are read (selected collections live in them). */
  databases: readonly string[];
  /** Selected collections (per-collection change streams). */
  collections: readonly TableRef[];
  flow: FlowControl;
  logger?: Logger;
  /** Wait between polls when the server cannot block on a cursor (tailable or change stream). */
  pollIntervalMs: number;
  batchSize: number;
  /** How long a tailable / change stream getMore waits for data on the server. */
  maxAwaitTimeMS: number;
}

const t = (ts: Timestamp) => ts.high >>> 0;
const i = (ts: Timestamp) => ts.low >>> 0;
function cmpTs(a: Timestamp, b: Timestamp): number {
  return t(a) !== t(b) ? t(a) - t(b) : i(a) - i(b);
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function room(flow: FlowControl): Promise<void> {
  const w = flow.waitForRoom();
  if (w) await w;
}

/**
 * Fails with LostHistoryError when the oplog's oldest entry is newer than `from`, and when `from` is
 * an oplog entry's position, with SOURCE_ROLLED_BACK when no entry has its `ts` any more although
 * older ones remain (a rollback after a failover). Returns false when the oplog is unreadable.
 */
export async function assertOplogCovers(client: MongoClient, from: MongoPosition, what: string): Promise<boolean> {
  const oplog = client.db('local').collection<{ ts: Timestamp }>('oplog.rs');
  let oldest: { ts: Timestamp } | null;
  try {
    oldest = await oplog.findOne({}, { sort: { $natural: 1 }, projection: { ts: 1 } });
  } catch {
    return false;
  }
  if (oldest && cmpTs(oldest.ts, from.timestamp()) > 0) {
    throw lostHistory(
      `${what}: the oplog's oldest entry (${t(oldest.ts)}:${i(oldest.ts)}) is newer than the saved position, so changes in between are gone`,
      from.encode(),
    );
  }
  if (oldest && from instanceof OplogPosition && from.t > 0 && !(await oplog.findOne({ ts: from.timestamp() }, { projection: { ts: 1 } }))) {
    throw rolledBack(what, from.encode());
  }
  return true;
}

/** The election term of the newest oplog entry: a later term seen while reading is a switchover. */
export async function currentTerm(client: MongoClient): Promise<number | undefined> {
  const newest = await client.db('local').collection<OplogEntry>('oplog.rs').findOne({}, { sort: { $natural: -1 }, projection: { t: 1 } });
  return newest ? termOf(newest) : undefined;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Incremental sync from `local.oplog.rs`: a tailable awaitData cursor filtered by `ts > from` and the
 * selected databases (plus no-ops for heartbeats and `admin.$cmd` for transactions and renames).
 * A server that closes tailable cursors after the first batch (mongo-java-server) is read by
 * polling `ts > last` instead; the reader logs that once.
 */
export function streamOplog(opts: StreamOptions, from: MongoPosition): Observable<ChangeEvent> {
  return new Observable<ChangeEvent>((sub) => {
    let stopped = false;
    let cursor: FindCursor<OplogEntry> | null = null;
    const position = from.encode();
    const run = async () => {
      const oplog: Collection<OplogEntry> = opts.client.db('local').collection<OplogEntry>('oplog.rs');
      if (!(await assertOplogCovers(opts.client, from, 'oplog reader'))) {
        throw new FatalError('OPLOG_UNREADABLE', 'Cannot read local.oplog.rs.', { object: 'local.oplog.rs', fix: 'Grant read on the local database, or use method changeStreams.' });
      }
      let last = from.timestamp();
      // Inside a transaction entry (seq ≥ 0) or from a change stream position, re-read the entry at `last`.
      let inclusive = !(from instanceof OplogPosition) || from.seq >= 0;
      let skipSeq = from instanceof OplogPosition ? from.seq : -1;
      const nsRegex = `^(?:${opts.databases.map(escapeRegex).join('|')})\\.`;
      let polling = false;
      const warnedOps = new Set<string>();
      const term = await currentTerm(opts.client);
      while (!stopped) {
        const filter: Document = {
          ts: inclusive ? { $gte: last } : { $gt: last },
          $or: [{ ns: { $regex: nsRegex } }, { op: 'n' }, { op: 'c', ns: 'admin.$cmd' }],
        };
        // Entries as BSON bytes, decoded here: the size of each change is read off its bytes.
        const c = oplog.find(filter, { tailable: true, awaitData: true, maxAwaitTimeMS: opts.maxAwaitTimeMS, batchSize: opts.batchSize, ...RAW_BYTES });
        cursor = c;
        let stayedOpen = false;
        for (;;) {
          await room(opts.flow);
          if (stopped) break;
          const raw = (await c.tryNext()) as Uint8Array | null;
          const dead = c.id === undefined || c.id.isZero();
          if (!dead) stayedOpen = true;
          else if (!stayedOpen && !polling) {
            polling = true;
            opts.logger?.warn('the server closed the tailable oplog cursor after its first batch (no tailable cursor support); polling local.oplog.rs by ts instead', {
              intervalMs: opts.pollIntervalMs,
            });
          }
          if (raw === null) {
            if (dead) break;
            continue;
          }
          const { entry: e, docBytes } = decodeOplogEntry(raw);
          const entryTerm = termOf(e);
          if (term !== undefined && entryTerm !== undefined && entryTerm > term) throw switchedOver('oplog reader', term, entryTerm, `${t(last)}:${i(last)}`);
          const skip = inclusive && cmpTs(e.ts, last) === 0 ? skipSeq : -1;
          if (inclusive && cmpTs(e.ts, last) === 0 && skipSeq < 0 && from instanceof OplogPosition) {
            // An entry delivered in full before; nothing to emit.
          } else {
            for (const change of convertOplogEntry(e, opts.ctx, skip, docBytes)) {
              if (stopped) return;
              if (change.lookup) {
                const { ref, id, operators } = change.lookup;
                const key = operators.join(',');
                if (!warnedOps.has(key)) {
                  warnedOps.add(key);
                  opts.logger?.warn('oplog update carries operators without resulting values; reading the current document instead', { ns: `${ref.database}.${ref.table}`, operators });
                }
                const doc = await opts.client.db(ref.database).collection(ref.table).findOne({ _id: id as never }, RAW_BSON);
                if (!doc) continue; // deleted since: its delete entry follows
                change.event.after = doc as Row;
                change.event.bytes = Math.max(change.event.bytes, 16);
              }
              sub.next(change.event);
            }
          }
          last = e.ts;
          inclusive = false;
          skipSeq = -1;
        }
        await c.close().catch(() => undefined);
        cursor = null;
        if (stopped) break;
        // A tailable cursor ends on real MongoDB only when it lost its place; reopen at once. Servers
        // without tailable cursors close every cursor: wait a poll interval.
        if (!stayedOpen) await sleep(opts.pollIntervalMs);
      }
    };
    run()
      .then(() => sub.complete())
      .catch((err: unknown) => {
        if (!stopped) sub.error(classifyMongoError(err, 'oplog reader', position));
      });
    return () => {
      stopped = true;
      void cursor?.close().catch(() => undefined);
    };
  });
}

/**
 * Whether a change stream event was already delivered before `from`, so a stream opened at `from`
 * must skip it. `startAtOperationTime` is inclusive, so events at exactly `from`'s cluster time come
 * back: they were delivered when `from` is a whole oplog entry, a token of this stream that sorts at
 * or after theirs, or a position without a token. The last is the cluster time `prepare()` takes
 * before the full sync (the newest oplog entry, or the `operationTime` of a reply): every change at
 * that time is committed, so the copy already holds it, and sending it again would duplicate it
 * (mongo-java-server replays the oplog entry at that `ts`, typically the last insert before the task).
 * `targetNs` names the collection of a per-collection stream (undefined for database and cluster streams).
 */
export function alreadyDelivered(ev: ChangeStreamEvent, from: MongoPosition, targetNs?: TableRef): boolean {
  const ct = ev.clusterTime;
  if (!ct) return false;
  const c = cmpTs(ct, from.timestamp());
  if (c < 0) return true;
  if (c > 0) return false;
  if (from instanceof OplogPosition) return from.seq < 0;
  const rt = from as ResumeTokenPosition;
  if (rt.token === null) return true;
  const sameStream = targetNs === undefined || rt.ns === `${targetNs.database}.${targetNs.table}`;
  return sameStream && tokenData(ev._id) <= rt.token;
}

export type WatchScope = 'auto' | 'cluster' | 'database' | 'collection';

export interface ChangeStreamOptions extends StreamOptions {
  fullDocument: boolean;
  scope: WatchScope;
}

interface WatchTarget {
  label: string;
  /** For per-collection streams. */
  ns?: TableRef;
  open(options: Document): ChangeStream<Document, ChangeStreamEvent>;
}

function isUnsupported(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === 59 || e.code === 115 || e.code === 40573 || (typeof e.message === 'string' && /no such command|not supported|unrecognized pipeline stage|only supported on replica sets/i.test(e.message));
}

/**
 * Incremental sync by change streams. `auto` watches each database (one stream per database,
 * or the whole cluster for several); when the server refuses that, or has no logical clock
 * (no `$clusterTime` in replies: a wire-compatible server whose database-level streams stay empty),
 * it watches each selected collection instead and logs so. Resumes with `resumeAfter` when the
 * position holds a token for this stream, else with `startAtOperationTime` (inclusive).
 */
export function streamChangeStreams(opts: ChangeStreamOptions, from: MongoPosition, hasClusterTime: boolean): Observable<ChangeEvent> {
  return new Observable<ChangeEvent>((sub) => {
    let stopped = false;
    const open = new Set<ChangeStream<Document, ChangeStreamEvent>>();
    const position = from.encode();
    const run = async () => {
      await assertOplogCovers(opts.client, from, 'change stream reader');
      let scope: WatchScope = opts.scope;
      if (scope === 'auto') {
        scope = opts.databases.length === 1 ? 'database' : 'cluster';
        if (!hasClusterTime) {
          scope = 'collection';
          opts.logger?.warn('the server reports no cluster time; watching each selected collection instead of the database', { collections: opts.collections.length });
        }
      }
      const targets = (s: WatchScope): WatchTarget[] => {
        if (s === 'cluster') return [{ label: 'cluster', open: (o) => opts.client.watch<Document, ChangeStreamEvent>([{ $match: { $or: [{ 'ns.db': { $in: [...opts.databases] } }, { operationType: 'invalidate' }] } }], o) }];
        if (s === 'database') return opts.databases.map((d) => ({ label: `database ${d}`, open: (o: Document) => opts.client.db(d).watch<Document, ChangeStreamEvent>([], o) }));
        return opts.collections.map((c) => ({ label: `${c.database}.${c.table}`, ns: c, open: (o: Document) => opts.client.db(c.database).collection(c.table).watch<Document, ChangeStreamEvent>([], o) }));
      };
      const lookup = opts.fullDocument || !hasClusterTime;
      // Per-collection streams: one vector position over all of them (see StreamSetPosition).
      const fromSet = StreamSetPosition.from(from);
      let vector = fromSet;
      const nsKey = (r: TableRef) => `${r.database}.${r.table}`;
      /** Where one stream resumes: its own component for a per-collection stream. */
      const fromFor = (target: WatchTarget): MongoPosition =>
        target.ns ? fromSet.of(nsKey(target.ns)) : from instanceof StreamSetPosition ? new ResumeTokenPosition(null, from.base.t, from.base.i) : from;
      const startOptions = (target: WatchTarget): Document => {
        const o: Document = { batchSize: opts.batchSize, maxAwaitTimeMS: opts.maxAwaitTimeMS, ...RAW_BSON };
        if (lookup) o.fullDocument = 'updateLookup';
        if (target.ns) {
          const own = fromSet.of(nsKey(target.ns));
          if (own.token !== null) o.resumeAfter = { _data: own.token };
          else o.startAtOperationTime = own.timestamp();
          return o;
        }
        const tokenUsable = from instanceof ResumeTokenPosition && from.token !== null && from.ns === undefined;
        if (tokenUsable) o.resumeAfter = { _data: (from as ResumeTokenPosition).token };
        else o.startAtOperationTime = from.timestamp();
        return o;
      };
      const consume = async (target: WatchTarget, cs: ChangeStream<Document, ChangeStreamEvent>, first: ChangeStreamEvent | null) => {
        const ctx = { ...opts.ctx, fullDocument: opts.fullDocument, ...(target.ns ? { defaultNs: target.ns } : {}) };
        const resumedFrom = fromFor(target);
        let pending = first;
        let lastToken: string | null = null;
        let warnedPoll = false;
        while (!stopped) {
          let ev = pending;
          pending = null;
          if (!ev) {
            await room(opts.flow);
            if (stopped) return;
            const started = Date.now();
            ev = await cs.tryNext();
            if (!ev) {
              const token = cs.resumeToken ? tokenData(cs.resumeToken) : null;
              const ct = token ? tokenClusterTime(token) : null;
              if (token && ct && token !== lastToken && target.ns === undefined) {
                lastToken = token;
                sub.next({ op: 'heartbeat', shape: HEARTBEAT_SHAPE, snapshot: false, commitTime: ct.t * 1000, position: new ResumeTokenPosition(token, ct.t, ct.i), bytes: 0 });
              }
              if (cs.closed) return;
              if (Date.now() - started < opts.maxAwaitTimeMS / 4) {
                if (!warnedPoll) {
                  warnedPoll = true;
                  opts.logger?.debug('change stream getMore returned at once; polling', { stream: target.label, intervalMs: opts.pollIntervalMs });
                }
                await sleep(opts.pollIntervalMs);
              }
              continue;
            }
          }
          if (ev.operationType === 'invalidate') {
            opts.logger?.warn('change stream invalidated (collection or database dropped or renamed); this stream ends', { stream: target.label });
            return;
          }
          if (alreadyDelivered(ev, resumedFrom, target.ns)) continue;
          let out: ChangeEvent | null;
          try {
            out = convertChangeEvent(ev, ctx);
          } catch (err) {
            if (err instanceof UnreadableChangeError) throw new FatalError('UNREADABLE_CHANGE', err.message, { object: target.label, fix: "Use fullDocument: true, or method 'oplog'." });
            throw err;
          }
          if (out && out.op === 'update' && (out.before === null || out.before === undefined)) await resolveKey(out, ev, target);
          if (out) {
            lastToken = tokenData(ev._id);
            if (target.ns && out.position instanceof ResumeTokenPosition) {
              vector = vector.with(nsKey(target.ns), out.position);
              out.position = vector;
            }
            sub.next(out);
          }
        }
      };

      /**
       * An update event without its key: only wire-compatible servers send one (documentKey holding
       * the update spec, and the looked-up document gone). The oplog entry at the event's cluster
       * time names the `_id` (`o2`); without it the task fails rather than deliver a keyless change.
       */
      const resolveKey = async (out: ChangeEvent, ev: ChangeStreamEvent, target: WatchTarget) => {
        const ref = out.shape.ref;
        const entry = ev.clusterTime
          ? await opts.client
              .db('local')
              .collection<{ o2?: Document }>('oplog.rs')
              .findOne({ ts: ev.clusterTime, ns: `${ref.database}.${ref.table}` }, RAW_BSON)
              .catch(() => null)
          : null;
        const id: unknown = entry?.o2?._id;
        if (id === undefined) {
          throw new FatalError('UPDATE_WITHOUT_KEY', `The update event ${tokenData(ev._id)} on ${target.label} carries no _id in documentKey, and no oplog entry names it.`, {
            object: target.label,
            fix: "Use method 'oplog', or a server whose change events carry documentKey.",
          });
        }
        out.before = { _id: id };
        if (out.after) out.after = { _id: id, ...out.after };
      };

      const openAll = async (s: WatchScope) => {
        const started: Array<{ target: WatchTarget; cs: ChangeStream<Document, ChangeStreamEvent>; first: ChangeStreamEvent | null }> = [];
        try {
          for (const target of targets(s)) {
            const cs = target.open(startOptions(target));
            open.add(cs);
            // The first getMore opens the server-side cursor: errors (unsupported, lost token) surface here.
            const first = await cs.tryNext();
            started.push({ target, cs, first });
          }
        } catch (err) {
          for (const x of open) await x.close().catch(() => undefined);
          open.clear();
          throw err;
        }
        return started;
      };

      let streams;
      try {
        streams = await openAll(scope);
      } catch (err) {
        if (opts.scope === 'auto' && scope !== 'collection' && isUnsupported(err)) {
          opts.logger?.warn(`the server refused a ${scope}-level change stream; watching each selected collection instead`, { error: (err as Error).message });
          streams = await openAll('collection');
        } else {
          throw err;
        }
      }
      await Promise.all(streams.map((s) => consume(s.target, s.cs, s.first)));
    };
    run()
      .then(() => sub.complete())
      .catch((err: unknown) => {
        if (!stopped) sub.error(classifyMongoError(err, 'change stream reader', position));
      })
      .finally(() => {
        for (const cs of open) void cs.close().catch(() => undefined);
      });
    return () => {
      stopped = true;
      for (const cs of open) void cs.close().catch(() => undefined);
    };
  });
}

