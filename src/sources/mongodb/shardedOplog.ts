/**
 * Incremental sync of a sharded cluster by oplog: every shard's `local.oplog.rs` is read with the
 * shard account and the entries are merged by cluster time (`ts`) into one stream, whose events
 * carry a composite position (one oplog position per shard, see ShardOplogPosition).
 */
import { Observable } from 'rxjs';
import type { Document, MongoClient, Timestamp } from 'mongodb';
import type { ChangeEvent, Row } from '../../core/events.js';
import { FatalError, TributaryError } from '../../core/errors.js';
import { classifyMongoError, switchedOver } from './errors.js';
import { convertOplogEntry, shardingCommandOf, termOf, type OplogEntry } from './oplog.js';
import { OplogPosition, ShardOplogPosition, type MongoPosition } from './position.js';
import { RAW_BSON, splitNs } from './shapes.js';
import { RAW_BYTES, decodeOplogEntry } from './rawBson.js';
import { assertOplogCovers, currentTerm, type StreamOptions } from './stream.js';
import type { ShardConnection } from './shards.js';

export interface ShardedStreamOptions extends Omit<StreamOptions, 'client' | 'collections' | 'maxAwaitTimeMS'> {
  /** mongos: reads the current document where an update entry carries no resulting values. */
  client: MongoClient;
  shards: readonly ShardConnection[];
}

function cmpTs(a: Timestamp, b: Timestamp): number {
  const [at, bt] = [a.high >>> 0, b.high >>> 0];
  return at !== bt ? at - bt : (a.low >>> 0) - (b.low >>> 0);
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One shard's read state. */
export interface ShardCursor {
  name: string;
  /** Entries read and not yet merged, in oplog order. */
  buffer: OplogEntry[];
  /** The last read returned fewer entries than asked: nothing more was there at that time. */
  caughtUp: boolean;
}

/**
 * The next entry of the merged stream: the smallest `ts` among the shards' buffered entries (ties:
 * the shard listed first), or null when a shard that may hold an earlier entry must be read first
 * (its buffer is empty and its last read was not caught up).
 */
export function nextMerged(shards: readonly ShardCursor[]): { shard: ShardCursor; entry: OplogEntry } | null {
  let best: ShardCursor | null = null;
  for (const s of shards) {
    const head = s.buffer[0];
    if (!head) {
      if (!s.caughtUp) return null;
      continue;
    }
    const bestHead = best?.buffer[0];
    if (!bestHead || cmpTs(head.ts, bestHead.ts) < 0) best = s;
  }
  const entry = best?.buffer.shift();
  return best && entry ? { shard: best, entry } : null;
}

/** The majority commit point a replica set member reports (`hello.lastWrite.majorityOpTime`), if any. */
async function majorityPoint(client: MongoClient): Promise<Timestamp | undefined> {
  const hello = await client.db('admin').command({ hello: 1 });
  const ts = (hello.lastWrite as { majorityOpTime?: { ts?: Timestamp } } | undefined)?.majorityOpTime?.ts;
  return ts && typeof ts === 'object' && '_bsontype' in ts ? ts : undefined;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface ShardState extends ShardCursor {
  conn: ShardConnection;
  /** Where this shard's reading stands (the last entry merged, or the resume point). */
  last: OplogPosition;
  /** Resuming inside a transaction entry or verifying the resume entry: the next read includes `last`. */
  inclusive: boolean;
  term: number | undefined;
  majority: boolean;
}

/**
 * Reads every shard's oplog from its component of `from` and merges the entries by `ts`. Entries of
 * chunk migrations (`fromMigrate`) are skipped; a `shardCollection`, `reshardCollection`,
 * `movePrimary`... entry for a selected database fails the task with the reason (seed 000); an
 * entry of a newer election term fails it as a switchover (seed 001). On servers that report the
 * majority commit point (`hello.lastWrite.majorityOpTime`), only majority-committed entries are
 * read, so no rolled-back write is delivered. Shards are polled every `pollIntervalMs` when all
 * are caught up (a non-tailable `find` per shard keeps the merge simple and works alike on every
 * server; a shard that has more is read again at once).
 */
export function streamShardedOplog(opts: ShardedStreamOptions, from: MongoPosition): Observable<ChangeEvent> {
  return new Observable<ChangeEvent>((sub) => {
    let stopped = false;
    const start = from instanceof ShardOplogPosition ? from : new ShardOplogPosition(new Map(opts.shards.map((s) => [s.name, new OplogPosition(from.t, from.i)])));
    const run = async () => {
      const shards: ShardState[] = [];
      for (const conn of opts.shards) {
        const p = start.of(conn.name);
        if (!start.shards.has(conn.name)) opts.logger?.warn('a shard the saved position does not name: reading it from the oldest shard position', { shard: conn.name, from: p.encode() });
        if (!(await assertOplogCovers(conn.client, p, `oplog reader of shard ${conn.name}`))) {
          throw new FatalError('OPLOG_UNREADABLE', `Cannot read local.oplog.rs on shard ${conn.name}.`, { object: conn.label, fix: 'Grant the shard account (source.shard.user) read on the local database of every shard.' });
        }
        const majority = (await majorityPoint(conn.client)) !== undefined;
        if (!majority) opts.logger?.warn('the shard reports no majority commit point; reading its oplog without waiting for majority', { shard: conn.name });
        shards.push({ name: conn.name, conn, buffer: [], caughtUp: false, last: p, inclusive: p.t > 0, term: await currentTerm(conn.client), majority });
      }
      for (const name of start.shards.keys()) {
        if (!shards.some((s) => s.name === name)) opts.logger?.warn('the saved position names a shard the cluster no longer lists; it is not read', { shard: name });
      }
      let vector = start;
      const nsRegex = `^(?:${opts.databases.map(escapeRegex).join('|')})\\.`;
      const selectedDb = new Set(opts.databases);
      /** The size of each buffered entry's documents, read off its bytes (see `oplogDocumentBytes`). */
      const sizes = new WeakMap<OplogEntry, number>();

      const fill = async (s: ShardState) => {
        const cap = s.majority ? await majorityPoint(s.conn.client) : undefined;
        const ts: Document = s.inclusive ? { $gte: s.last.timestamp() } : { $gt: s.last.timestamp() };
        if (cap) ts.$lte = cap;
        const filter: Document = { ts, $or: [{ ns: { $regex: nsRegex } }, { op: 'n' }, { op: 'c', ns: 'admin.$cmd' }] };
        // Entries as BSON bytes, decoded here as the replica-set reader decodes them (rawBson.ts).
        const raws = (await s.conn.client.db('local').collection('oplog.rs').find(filter, { sort: { $natural: 1 }, limit: opts.batchSize, ...RAW_BYTES }).toArray()) as unknown as Uint8Array[];
        s.buffer = raws.map((raw) => {
          const { entry, docBytes } = decodeOplogEntry(raw);
          if (docBytes !== undefined) sizes.set(entry, docBytes);
          return entry;
        });
        s.caughtUp = s.buffer.length < opts.batchSize;
        if (s.inclusive) {
          // The resume entry itself (checked to exist): delivered before unless inside a transaction.
          const first = s.buffer[0];
          if (first && cmpTs(first.ts, s.last.timestamp()) === 0 && s.last.seq < 0) s.buffer.shift();
        }
      };

      const merge = async (s: ShardState, e: OplogEntry) => {
        const entryTerm = termOf(e);
        if (s.term !== undefined && entryTerm !== undefined && entryTerm > s.term) throw switchedOver(`oplog reader of shard ${s.name}`, s.term, entryTerm, s.last.encode());
        const sharding = shardingCommandOf(e);
        if (sharding && selectedDb.has(splitNs(sharding.target).database)) {
          throw new FatalError('SHARDING_CHANGED', `${sharding.command} on ${sharding.target} (shard ${s.name}, oplog ${e.ts.high >>> 0}:${e.ts.low >>> 0}) during synchronization: it moves documents between shards, so the copy and the merged oplog can disagree.`, {
            object: sharding.target,
            fix: `Do not run shardCollection, reshardCollection, unshardCollection, moveCollection or movePrimary while the task runs (seed 000). Run a new full synchronization of ${sharding.target}.`,
          });
        }
        const skip = s.inclusive && cmpTs(e.ts, s.last.timestamp()) === 0 ? s.last.seq : -1;
        for (const change of convertOplogEntry(e, opts.ctx, skip, sizes.get(e))) {
          if (stopped) return;
          if (change.lookup) {
            const { ref, id } = change.lookup;
            const doc = await opts.client.db(ref.database).collection(ref.table).findOne({ _id: id as never }, RAW_BSON);
            if (!doc) continue; // deleted since: its delete entry follows
            change.event.after = doc as Row;
          }
          const own = change.event.position as OplogPosition;
          vector = vector.with(s.name, own);
          change.event.position = vector;
          sub.next(change.event);
          const w = opts.flow.waitForRoom();
          if (w) await w;
        }
        s.last = OplogPosition.of(e.ts);
        s.inclusive = false;
      };

      while (!stopped) {
        await Promise.all(shards.filter((s) => s.buffer.length === 0).map(fill));
        let merged = 0;
        for (let next = nextMerged(shards); next && !stopped; next = nextMerged(shards)) {
          await merge(next.shard as ShardState, next.entry);
          merged++;
        }
        if (merged === 0 && shards.every((s) => s.caughtUp)) await sleep(opts.pollIntervalMs);
      }
    };
    run()
      .then(() => sub.complete())
      .catch((err: unknown) => {
        if (!stopped) sub.error(err instanceof TributaryError ? err : classifyMongoError(err, 'sharded oplog reader', from.encode()));
      });
    return () => {
      stopped = true;
    };
  });
}
