import { type Observable, concatMap, defer, from } from 'rxjs';
import { MongoClient, type Document, type MongoClientOptions, type Timestamp } from 'mongodb';
import type { FlowControl, Logger, ObjectDefinition, PrecheckItem, SnapshotChunk, SnapshotPlan, Source } from '../../core/contracts.js';
import { ConnectionError, FatalError, classifyError } from '../../core/errors.js';
import type { ChangeEvent, TableRef, TableShape } from '../../core/events.js';
import type { Position } from '../../core/position.js';
import type { OplogContext } from './oplog.js';
import { OplogPosition, ResumeTokenPosition, ShardOplogPosition, decodeMongoPosition, type MongoPosition } from './position.js';
import { precheckMongo, precheckShards, precheckUri } from './precheck.js';
import { ShapeCache, SYSTEM_DATABASES, isSystemCollection } from './shapes.js';
import { planIdRanges, readIdRange } from './snapshot.js';
import { streamChangeStreams, streamOplog, type WatchScope } from './stream.js';
import { streamShardedOplog } from './shardedOplog.js';
import { connectShards, shardEndpoints, type ShardAccess, type ShardConnection } from './shards.js';

export interface MongoSourceOptions {
  taskId: string;
  uri: string;
  method: 'oplog' | 'changeStreams';
  /** The declared architecture, checked by the precheck against the server (`source.architecture`). */
  architecture?: 'replicaSet' | 'shardedCluster';
  /**
   * A sharded cluster read by oplog: the shards and their account. The URI names mongos (full sync,
   * lookups); each shard's oplog is read directly and the streams are merged by cluster time.
   */
  shard?: ShardAccess;
  /** Driver options beyond the URI (the TLS CA of `source.caCert`). */
  clientOptions?: MongoClientOptions;
  /** Change streams: ask for the whole document after updates (`fullDocument: 'updateLookup'`). */
  fullDocument: boolean;
  /** Which collections the task covers. admin, config and local are never selected. */
  select: (ref: TableRef) => boolean;
  /** Databases to look in; default: every database but admin, config and local. */
  databases?: readonly string[];
  /** Target documents per full-sync chunk. */
  chunkSize: number;
  /** Documents per cursor batch. */
  batchSize?: number;
  /** Change streams: how wide each stream is (default auto). */
  watchScope?: WatchScope;
  /** Wait between polls on servers that cannot block on a cursor. */
  pollIntervalMs?: number;
  maxAwaitTimeMS?: number;
  /** Whether the destination renames collections (the 1,000-collection limit applies). */
  mapsNames?: boolean;
  logger?: Logger;
}

/** Change events per change stream getMore, unless `batchSize` is set. */
const CHANGE_STREAM_BATCH = 5_000;

/** MongoDB source: oplog or change stream incremental sync, `_id`-range full sync. */
export class MongoSource implements Source {
  readonly kind = 'mongodb';
  private client: MongoClient | null = null;
  private readonly shapesCache = new ShapeCache();
  private selected: TableRef[] | null = null;
  private streamFrom: MongoPosition | null = null;
  private confirmedPos: MongoPosition | null = null;
  private hello: Document | null = null;
  private shardConns: Promise<ShardConnection[]> | null = null;

  constructor(private readonly opts: MongoSourceOptions) {}

  /** The source's server version (`buildInfo`), for the destination's version precheck. */
  async serverVersion(): Promise<string | undefined> {
    const client = await this.connect();
    const v = (await client.db('admin').command({ buildInfo: 1 }).catch(() => ({}) as Document)).version as unknown;
    return typeof v === 'string' ? v : undefined;
  }

  private connecting: Promise<MongoClient> | null = null;

  /** Connects once; concurrent callers (the source's and the destination's prechecks) share it. */
  private async connect(): Promise<MongoClient> {
    if (this.client) return this.client;
    this.connecting ??= this.connectOnce().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connectOnce(): Promise<MongoClient> {
    if (this.client) return this.client;
    const uri = precheckUri(this.opts.uri);
    if (uri.status === 'fail') throw new FatalError('SRV_URI', `${uri.detail ?? 'SRV URI'}.`, { field: 'source.uri', fix: uri.fix ?? '' });
    const client = new MongoClient(this.opts.uri, { serverSelectionTimeoutMS: 10_000, connectTimeoutMS: 10_000, ...this.opts.clientOptions });
    try {
      await client.connect();
      this.hello = await client.db('admin').command({ hello: 1 });
    } catch (err) {
      await client.close().catch(() => undefined);
      throw new ConnectionError('SOURCE_UNREACHABLE', `Cannot connect to MongoDB at ${redact(this.opts.uri)}: ${(err as Error).message}`, {
        object: redact(this.opts.uri),
        cause: err,
        fix: 'Check hosts, port, account, password and authSource, and that the server admits this client.',
      });
    }
    this.client = client;
    return client;
  }

  /** The shards, connected once (sharded cluster read by oplog only). */
  private async shards(): Promise<ShardConnection[]> {
    const access = this.opts.shard;
    if (!access) return [];
    this.shardConns ??= (async () => connectShards(await shardEndpoints(await this.connect(), access), access))();
    this.shardConns.catch(() => {
      this.shardConns = null;
    });
    return this.shardConns;
  }

  private isSelectable(ref: TableRef): boolean {
    return !SYSTEM_DATABASES.has(ref.database) && ref.table !== '' && !isSystemCollection(ref.table) && this.opts.select(ref);
  }

  private async loadSelection(client: MongoClient): Promise<TableRef[]> {
    let dbs = this.opts.databases ? [...this.opts.databases] : ((await client.db('admin').command({ listDatabases: 1, nameOnly: true })).databases as Array<{ name: string }>).map((d) => d.name);
    dbs = dbs.filter((d) => !SYSTEM_DATABASES.has(d));
    const out: TableRef[] = [];
    for (const database of dbs) {
      const colls = await client.db(database).listCollections({}, { nameOnly: true }).toArray();
      for (const c of colls) {
        if ((c as { type?: string }).type !== undefined && (c as { type?: string }).type !== 'collection') continue;
        const ref = { database, table: c.name };
        if (this.isSelectable(ref)) out.push(ref);
      }
    }
    out.sort((a, b) => (a.database === b.database ? (a.table < b.table ? -1 : 1) : a.database < b.database ? -1 : 1));
    this.selected = out;
    for (const r of out) this.shapesCache.get(r.database, r.table);
    return out;
  }

  private databases(): string[] {
    const fromSel = new Set((this.selected ?? []).map((r) => r.database));
    for (const d of this.opts.databases ?? []) if (!SYSTEM_DATABASES.has(d)) fromSel.add(d);
    return [...fromSel].sort();
  }

  private context(): OplogContext {
    const dbs = new Set(this.databases());
    return {
      shapeFor: (ref) => (this.isSelectable(ref) ? this.shapesCache.get(ref.database, ref.table) : null),
      databaseSelected: (db) => dbs.has(db),
    };
  }

  async precheck(): Promise<PrecheckItem[]> {
    const uri = precheckUri(this.opts.uri);
    if (uri.status === 'fail') return [uri];
    let client: MongoClient;
    try {
      client = await this.connect();
    } catch (err) {
      const e = classifyError(err, 'source');
      return [uri, { id: 'source.connect', group: 'connectivity', title: 'Source reachable and authenticated', status: 'fail', detail: e.message, fix: e.fix ?? 'Check hosts, port, account and password.' }];
    }
    const connectivity: PrecheckItem = { id: 'source.connect', group: 'connectivity', title: 'Source reachable and authenticated', status: 'pass', detail: redact(this.opts.uri) };
    let selected: TableRef[];
    try {
      selected = await this.loadSelection(client);
    } catch (err) {
      return [uri, connectivity, { id: 'source.read', group: 'source', title: 'Databases and collections can be listed', status: 'fail', detail: (err as Error).message, fix: 'Grant the account read on the selected databases and listDatabases on admin.' }];
    }
    const items = await precheckMongo({
      client,
      uri: this.opts.uri,
      hello: this.hello ?? {},
      method: this.opts.method,
      ...(this.opts.architecture !== undefined ? { architecture: this.opts.architecture } : {}),
      selected,
      ...(this.opts.databases ? { databases: this.opts.databases } : {}),
      mapsNames: this.opts.mapsNames ?? false,
      shardedOplog: this.opts.shard !== undefined,
    });
    if (!this.opts.shard) return [uri, connectivity, ...items];
    let shards: ShardConnection[];
    try {
      shards = await this.shards();
    } catch (err) {
      const e = classifyError(err, 'source');
      return [uri, connectivity, ...items, { id: 'source.shards', group: 'connectivity', title: 'Every shard reachable with the shard account', status: 'fail', detail: e.message, fix: e.fix ?? 'Check source.shard.' }];
    }
    return [uri, connectivity, ...items, ...(await precheckShards({ mongos: client, hosts: this.opts.uri, shards, selected }))];
  }

  /** Records where incremental sync starts (before the copy), then plans `_id` ranges. */
  async prepare(opts: { full: boolean }): Promise<SnapshotPlan> {
    const client = await this.connect();
    this.streamFrom = await this.currentPosition(client);
    const selected = await this.loadSelection(client);
    if (selected.length === 0) {
      throw new FatalError('NO_COLLECTIONS', 'No collection matches the task objects.', { field: 'objects', fix: 'Check the database and collection names in `objects` (admin, config and local are never synchronized).' });
    }
    const chunks: SnapshotChunk[] = [];
    if (opts.full) {
      for (const ref of selected) {
        const { bounds, count } = await planIdRanges(client, ref.database, ref.table, this.opts.chunkSize);
        bounds.forEach((b, n) => chunks.push({ id: `${ref.database}.${ref.table}:${n}`, table: ref, bounds: b, estimatedRows: Math.ceil(count / bounds.length) }));
      }
    }
    this.opts.logger?.info('mongodb source prepared', { streamFrom: this.streamFrom.encode(), collections: selected.length, chunks: chunks.length });
    return { chunks, streamFrom: this.streamFrom };
  }

  /** Now, as a position of the task's method: the newest oplog entry, or the cluster's operation time. */
  private async currentPosition(client: MongoClient): Promise<MongoPosition> {
    if (this.opts.shard) {
      // Each shard's newest entry (0:0, "from the start", for a shard whose oplog is still empty).
      const at = new Map<string, OplogPosition>();
      for (const s of await this.shards()) {
        const last = await s.client.db('local').collection<{ ts: Timestamp }>('oplog.rs').findOne({}, { sort: { $natural: -1 }, projection: { ts: 1 } });
        at.set(s.name, last ? OplogPosition.of(last.ts) : new OplogPosition(0, 0));
      }
      return new ShardOplogPosition(at);
    }
    const reply = await client.db('admin').command({ ping: 1 });
    const opTime = reply.operationTime as Timestamp | undefined;
    if (this.opts.method === 'changeStreams' && opTime) return ResumeTokenPosition.of(null, opTime);
    const last = await client
      .db('local')
      .collection<{ ts: Timestamp }>('oplog.rs')
      .findOne({}, { sort: { $natural: -1 }, projection: { ts: 1 } })
      .catch(() => null);
    const ts = last?.ts ?? opTime;
    if (!ts) {
      throw new FatalError('NO_START_POSITION', 'Cannot tell the current position of the source: no operationTime in replies and no readable oplog.', {
        fix: 'Grant read on local, or use a MongoDB replica set (4.0+).',
      });
    }
    return this.opts.method === 'changeStreams' ? ResumeTokenPosition.of(null, ts) : OplogPosition.of(ts);
  }

  snapshot(chunk: SnapshotChunk, flow?: FlowControl): Observable<ChangeEvent> {
    return defer(() => from(this.connect())).pipe(
      concatMap((client) => {
        const position = this.streamFrom;
        if (!position) throw new FatalError('NOT_PREPARED', 'MongoSource.snapshot called before prepare().', { object: chunk.id });
        const shape = this.shapesCache.get(chunk.table.database, chunk.table.table);
        return readIdRange(client, chunk, shape, position, flow ?? { waitForRoom: () => undefined }, this.opts.batchSize ?? 1000);
      }),
    );
  }

  stream(fromPos: Position, flow: FlowControl): Observable<ChangeEvent> {
    return defer(() => from(this.prepareStream())).pipe(
      concatMap(({ client, hasClusterTime, shards }) => {
        const base = {
          client,
          ctx: this.context(),
          databases: this.databases(),
          collections: this.selected ?? [],
          flow,
          ...(this.opts.logger ? { logger: this.opts.logger } : {}),
          pollIntervalMs: this.opts.pollIntervalMs ?? 200,
          batchSize: this.opts.batchSize ?? 1000,
          maxAwaitTimeMS: this.opts.maxAwaitTimeMS ?? 1000,
        };
        const start = fromPos as MongoPosition;
        this.confirmedPos ??= start;
        if (shards.length > 0) return streamShardedOplog({ ...base, shards }, start);
        return this.opts.method === 'oplog'
          ? streamOplog(base, start)
          : streamChangeStreams(
              // Change streams: 5,000 events per getMore unless set, not 1,000 as for the oplog.
              // Measured in the bench (100,000-event backlog, substitute server) at 1,000 / 5,000 /
              // 10,000 per getMore: to Kafka 11.2k / 23.9k / 26.5k events/s, peak RSS 271 / 269 /
              // 296 MB; MongoDB to MongoDB 5.4k / 13.2k / 16.0k ops/s, peak RSS 226 / 274 / 390 MB.
              // The server's unbounded default sent the whole backlog in one reply (peak 392 MB).
              { ...base, batchSize: this.opts.batchSize ?? CHANGE_STREAM_BATCH, fullDocument: this.opts.fullDocument, scope: this.opts.watchScope ?? 'auto' },
              start,
              hasClusterTime,
            );
      }),
    );
  }

  private async prepareStream(): Promise<{ client: MongoClient; hasClusterTime: boolean; shards: ShardConnection[] }> {
    const client = await this.connect();
    if (!this.selected) await this.loadSelection(client);
    if ((this.selected ?? []).length === 0) {
      throw new FatalError('NO_COLLECTIONS', 'No collection matches the task objects.', { field: 'objects', fix: 'Check the database and collection names in `objects`.' });
    }
    const reply = await client.db('admin').command({ ping: 1 });
    return { client, hasClusterTime: reply.$clusterTime !== undefined || reply.operationTime !== undefined, shards: await this.shards() };
  }

  /** MongoDB keeps no per-reader state: the confirmed position is what the checkpoint store saves. */
  async confirm(upTo: Position): Promise<void> {
    const p = upTo as MongoPosition;
    if (!this.confirmedPos || p.compare(this.confirmedPos) > 0) this.confirmedPos = p;
    return Promise.resolve();
  }

  /** The newest confirmed position (for metrics and tests). */
  get confirmed(): MongoPosition | null {
    return this.confirmedPos;
  }

  decodePosition(text: string): Position {
    return decodeMongoPosition(text);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    const shards = this.shardConns;
    this.shardConns = null;
    await c?.close().catch(() => undefined);
    for (const s of (await shards?.catch(() => [])) ?? []) await s.client.close().catch(() => undefined);
  }

  /** Nothing is created at the source; closes connections. */
  async release(): Promise<void> {
    await this.close();
  }

  async shapes(): Promise<TableShape[]> {
    if (!this.selected) await this.loadSelection(await this.connect());
    return this.shapesCache.all();
  }

  /** Options (listCollections) and indexes (listIndexes) of every selected collection, for schema synchronization. */
  async objectDefinitions(): Promise<ObjectDefinition[]> {
    const client = await this.connect();
    const selected = this.selected ?? (await this.loadSelection(client));
    const out: ObjectDefinition[] = [];
    for (const ref of selected) {
      const db = client.db(ref.database);
      const [info] = await db.listCollections({ name: ref.table }, { nameOnly: false }).toArray();
      if (!info) continue;
      const isView = (info as { type?: string }).type === 'view';
      const indexes = isView ? [] : await db.collection(ref.table).listIndexes().toArray();
      out.push({ ref, definition: { options: (info as { options?: Document }).options ?? {}, indexes } });
    }
    return out;
  }
}

/** The URI without its password. */
export function redact(uri: string): string {
  return uri.replace(/\/\/([^:@/]+):([^@/]*)@/, '//$1:***@');
}
