import { BSON, type Document, type MongoClient } from 'mongodb';
import type { PrecheckItem } from '../../core/contracts.js';
import type { TableRef } from '../../core/events.js';

const { EJSON } = BSON;

const SRV_FIX = 'Use a standard connection string listing the hosts: mongodb://host1:27017,host2:27017/?replicaSet=<name>.';

/** Checks that need no connection: the URI form. */
export function precheckUri(uri: string): PrecheckItem {
  if (/^mongodb\+srv:\/\//i.test(uri.trim())) {
    return { id: 'source.uri', group: 'connectivity', title: 'Connection string is not an SRV endpoint', status: 'fail', detail: 'mongodb+srv:// URIs are not supported: the task connects to the hosts it is given', fix: SRV_FIX };
  }
  return { id: 'source.uri', group: 'connectivity', title: 'Connection string is not an SRV endpoint', status: 'pass' };
}

const LOOKALIKE_HOSTS: Array<[RegExp, string]> = [
  [/\.documents\.azure\.com|\.cosmos\.azure\.com|\.mongocluster\.cosmos\.azure\.com/i, 'Azure Cosmos DB for MongoDB'],
  [/\.docdb-elastic\.amazonaws\.com/i, 'an Amazon DocumentDB elastic cluster'],
];

/** Non-elastic Amazon DocumentDB: accepted as a source, read by change streams as a sharded cluster (seed 000). */
export function isDocumentDb(uri: string, hello: Document): boolean {
  const hosts = [uri, ...((hello.hosts as string[] | undefined) ?? []), String(hello.me ?? '')].join(' ');
  return /\.docdb\.amazonaws\.com/i.test(hosts);
}

/** Recognizes unsupported MongoDB look-alikes by host names and hello fields. */
export function detectLookalike(uri: string, hello: Document): string | null {
  const hosts = [uri, ...((hello.hosts as string[] | undefined) ?? []), String(hello.me ?? '')].join(' ');
  for (const [re, name] of LOOKALIKE_HOSTS) if (re.test(hosts)) return name;
  // Cosmos DB (RU) answers isMaster without setName on a tag-less single host and with a distinctive field.
  if (typeof hello.msg === 'string' && /cosmos/i.test(hello.msg)) return 'Azure Cosmos DB for MongoDB';
  if (hello.internal?.cosmos !== undefined) return 'Azure Cosmos DB for MongoDB';
  return null;
}

export interface MongoPrecheckInput {
  client: MongoClient;
  uri: string;
  hello: Document;
  method: 'oplog' | 'changeStreams';
  /** The architecture the task declares (`source.architecture`); checked against what the server says. */
  architecture?: 'replicaSet' | 'shardedCluster';
  selected: readonly TableRef[];
  /** Databases the task names explicitly. */
  databases?: readonly string[];
  /** Whether the task renames collections at the destination (the 1,000-collection limit applies). */
  mapsNames: boolean;
  /** A sharded cluster read by oplog: each shard's oplog is checked by precheckShards instead of mongos's. */
  shardedOplog?: boolean;
}

const SYSTEM = ['admin', 'config', 'local'];

/** Source checks after connecting: topology, look-alikes, oplog/change streams, permissions, limits, TTL. */
export async function precheckMongo(inp: MongoPrecheckInput): Promise<PrecheckItem[]> {
  const items: PrecheckItem[] = [];
  const { hello, client } = inp;
  const docdb = isDocumentDb(inp.uri, hello);
  // Non-elastic DocumentDB answers as a replica set; it is declared (and read) as a sharded cluster by change streams.
  const sharded = hello.msg === 'isdbgrid' || (docdb && inp.architecture === 'shardedCluster');
  const lookalike = detectLookalike(inp.uri, hello);
  items.push(
    lookalike
      ? { id: 'source.flavour', group: 'source', title: 'Source is MongoDB', status: 'fail', detail: `the source looks like ${lookalike}, which is not supported as a source`, fix: 'Use a MongoDB replica set or sharded cluster, or a non-elastic Amazon DocumentDB cluster, as the source.' }
      : docdb && (inp.method !== 'changeStreams' || inp.architecture !== 'shardedCluster')
        ? { id: 'source.flavour', group: 'source', title: 'Source is MongoDB', status: 'fail', detail: 'the source is Amazon DocumentDB, which is read only by change streams as a sharded cluster', fix: 'Enable change streams on the cluster and set source.method to "changeStreams" and source.architecture to "shardedCluster".' }
        : { id: 'source.flavour', group: 'source', title: 'Source is MongoDB', status: 'pass', ...(docdb ? { detail: 'Amazon DocumentDB (non-elastic), read by change streams' } : {}) },
  );
  if (typeof hello.setName === 'string' || sharded) {
    items.push({ id: 'source.topology', group: 'source', title: 'Source is a replica set or sharded cluster', status: 'pass', detail: sharded ? 'sharded cluster (mongos)' : `replica set ${hello.setName as string}` });
  } else {
    items.push({
      id: 'source.topology',
      group: 'source',
      title: 'Source is a replica set or sharded cluster',
      status: 'fail',
      detail: 'the server is a standalone mongod: it keeps no oplog for change capture',
      fix: 'Convert it to a replica set (start mongod with --replSet <name> and run rs.initiate()); a single-member replica set is enough.',
    });
  }

  if (inp.architecture !== undefined && (typeof hello.setName === 'string' || sharded)) {
    const declared = inp.architecture === 'shardedCluster';
    items.push(
      declared === sharded
        ? { id: 'source.architecture', group: 'source', title: 'Source architecture as configured', status: 'pass', detail: sharded ? 'shardedCluster: connected to mongos' : 'replicaSet' }
        : declared
          ? { id: 'source.architecture', group: 'source', title: 'Source architecture as configured', status: 'fail', detail: `source.architecture is "shardedCluster" but the server is a replica set member (${String(hello.setName)}), not mongos`, fix: 'Give the mongos addresses in source.hosts or source.uri, or set source.architecture to "replicaSet".' }
          : { id: 'source.architecture', group: 'source', title: 'Source architecture as configured', status: 'warn', detail: 'source.architecture is "replicaSet" but the server is mongos (a sharded cluster)', fix: 'Set source.architecture to "shardedCluster" (by oplog, with source.shard; or by changeStreams), or give the replica set members.' },
    );
  }

  const explicit = (inp.databases ?? []).filter((d) => SYSTEM.includes(d));
  items.push(
    explicit.length > 0
      ? { id: 'source.systemDatabases', group: 'source', title: 'admin, config and local are not selected', status: 'fail', detail: `the task names ${explicit.join(', ')}`, fix: 'Remove admin, config and local from the task: they cannot be synchronized.' }
      : { id: 'source.systemDatabases', group: 'source', title: 'admin, config and local are not selected', status: 'pass', detail: 'they are never synchronized' },
  );

  if (inp.selected.length === 0) {
    items.push({ id: 'source.objects', group: 'source', title: 'The selection matches collections', status: 'fail', detail: 'no collection matches the task objects', fix: 'Check the database and collection names in `objects`.' });
  } else if (inp.selected.length > 1000 && inp.mapsNames) {
    items.push({ id: 'source.objects', group: 'source', title: 'At most 1,000 collections when mapping names', status: 'fail', detail: `${inp.selected.length} collections selected with name mapping`, fix: 'Split the task, or synchronize whole databases without name mapping.' });
  } else {
    items.push({ id: 'source.objects', group: 'source', title: 'The selection matches collections', status: 'pass', detail: `${inp.selected.length} collection(s)` });
  }

  if (inp.method === 'oplog') {
    if (sharded && inp.shardedOplog !== true) {
      items.push({ id: 'source.oplog', group: 'source', title: 'Oplog readable', status: 'fail', detail: 'mongos has no oplog; each shard must be read', fix: 'Set source.architecture to "shardedCluster" (each shard\'s oplog is read), or use method "changeStreams".' });
    } else if (!sharded) {
      items.push(await oplogItem(client, 'source.oplog', 'local.oplog.rs'));
    }
  } else {
    const probe = inp.selected[0];
    try {
      const cs = probe ? client.db(probe.database).collection(probe.table).watch([], { maxAwaitTimeMS: 100 }) : client.watch([], { maxAwaitTimeMS: 100 });
      try {
        await cs.tryNext();
      } finally {
        await cs.close().catch(() => undefined);
      }
      items.push({ id: 'source.changeStreams', group: 'source', title: 'Change streams available', status: 'pass' });
    } catch (err) {
      items.push({ id: 'source.changeStreams', group: 'source', title: 'Change streams available', status: 'fail', detail: (err as Error).message, fix: "Use MongoDB 4.0 or later as a replica set or sharded cluster, grant changeStream and find, or use method 'oplog'." });
    }
  }

  const unreadable: string[] = [];
  const ttl: string[] = [];
  for (const ref of inp.selected) {
    const coll = client.db(ref.database).collection(ref.table);
    try {
      await coll.findOne({}, { projection: { _id: 1 } });
    } catch (err) {
      unreadable.push(`${ref.database}.${ref.table} (${(err as Error).message})`);
      continue;
    }
    try {
      for (const ix of await coll.indexes()) {
        if (ix.expireAfterSeconds !== undefined) ttl.push(`${ref.database}.${ref.table} index ${ix.name ?? ''}`);
      }
    } catch {
      // listIndexes needs only read; a failure here shows up in the read check.
    }
  }
  items.push(problemsItem('source.read', 'Read permission on selected collections', unreadable, 'Grant the account read on the selected databases, admin and local.'));
  items.push(
    ttl.length > 0
      ? {
          id: 'source.ttl',
          group: 'source',
          title: 'No TTL indexes on selected collections',
          status: 'warn',
          detail: `TTL indexes: ${ttl.slice(0, 10).join(', ')}`,
          fix: 'Documents expired by TTL at the source arrive as deletes while the destination may have expired them already (or not at all): exclude these collections, or accept the difference.',
        }
      : { id: 'source.ttl', group: 'source', title: 'No TTL indexes on selected collections', status: 'pass' },
  );
  return items;
}

/** Fails listing the first ten problems, or passes when there are none. */
function problemsItem(id: string, title: string, problems: readonly string[], fix: string): PrecheckItem {
  return problems.length > 0 ? { id, group: 'source', title, status: 'fail', detail: problems.slice(0, 10).join('; '), fix } : { id, group: 'source', title, status: 'pass' };
}

/** An oplog's span: readable, and keeping 7 days (warn below). */
async function oplogItem(client: MongoClient, id: string, what: string): Promise<PrecheckItem> {
  try {
    const oplog = client.db('local').collection('oplog.rs');
    const first = await oplog.findOne({}, { sort: { $natural: 1 }, projection: { ts: 1 } });
    const last = await oplog.findOne({}, { sort: { $natural: -1 }, projection: { ts: 1 } });
    if (!first || !last) return { id, group: 'source', title: 'Oplog readable', status: 'fail', detail: `${what} is missing or empty`, fix: 'Run the source as a replica set so it keeps an oplog.' };
    const hours = (((last.ts as { high: number }).high >>> 0) - ((first.ts as { high: number }).high >>> 0)) / 3600;
    return {
      id,
      group: 'source',
      title: 'Oplog readable, retaining 7 days',
      status: hours >= 24 * 7 ? 'pass' : 'warn',
      detail: `${what} spans ${hours.toFixed(1)} hours`,
      ...(hours >= 24 * 7 ? {} : { fix: 'Enlarge the oplog (replSetResizeOplog, or minRetentionHours) so that it keeps at least 7 days; otherwise a paused task can lose history.' }),
    };
  } catch (err) {
    return { id, group: 'source', title: 'Oplog readable', status: 'fail', detail: `cannot read ${what}: ${(err as Error).message}`, fix: 'Grant the account read on the local database.' };
  }
}

/** Seed 000: at most 10 mongos. */
export const MAX_MONGOS = 10;
/** Past this many documents on a shard, `_id` values are not compared across shards (the counts still are). */
export const ID_CHECK_LIMIT = 100_000;

export interface ShardPrecheckInput {
  mongos: MongoClient;
  /** The source connection string (its hosts are mongos). */
  hosts: string;
  shards: ReadonlyArray<{ name: string; client: MongoClient }>;
  selected: readonly TableRef[];
}

/** The hosts of a connection string. */
function uriHosts(uri: string): string[] {
  const authority = uri.replace(/^mongodb(\+srv)?:\/\//, '').split(/[/?]/)[0] ?? '';
  return authority.replace(/^.*@/, '').split(',').filter((h) => h !== '');
}

/** The balancer's mode: `balancerStatus` (MongoDB 4.0+), else the `config.settings` balancer document; null when neither answers. */
async function balancerOn(mongos: MongoClient): Promise<boolean | null> {
  try {
    const r = await mongos.db('admin').command({ balancerStatus: 1 });
    if (typeof r.mode === 'string') return r.mode !== 'off';
  } catch {
    /* not mongos, or an older server: read the settings */
  }
  try {
    const d = await mongos.db('config').collection<{ _id: string; stopped?: boolean; mode?: string }>('settings').findOne({ _id: 'balancer' });
    return d ? !(d.stopped === true || d.mode === 'off') : true;
  } catch {
    return null;
  }
}

/**
 * Seed 000's checks for a sharded cluster read by oplog: at most 10 mongos, each shard's oplog,
 * the balancer off during full sync (warn), no orphaned documents, `_id` unique across shards.
 * Orphans: the shards together hold more documents of a collection than mongos returns (mongos
 * filters orphans). `_id` values are compared across shards for collections up to ID_CHECK_LIMIT
 * documents per shard.
 */
export async function precheckShards(inp: ShardPrecheckInput): Promise<PrecheckItem[]> {
  const items: PrecheckItem[] = [];
  const configured = uriHosts(inp.hosts).length;
  const since = new Date(Date.now() - 3_600_000);
  const registered = await inp.mongos
    .db('config')
    .collection<{ ping?: Date }>('mongos')
    .countDocuments({ $or: [{ ping: { $gte: since } }, { ping: { $exists: false } }] })
    .catch(() => 0);
  const mongos = Math.max(configured, registered);
  items.push(
    mongos > MAX_MONGOS
      ? { id: 'source.mongos', group: 'source', title: `At most ${MAX_MONGOS} mongos`, status: 'fail', detail: `${mongos} mongos (${configured} in the connection string, ${registered} active in config.mongos)`, fix: `Use a cluster with at most ${MAX_MONGOS} mongos, and list at most ${MAX_MONGOS} in source.hosts.` }
      : { id: 'source.mongos', group: 'source', title: `At most ${MAX_MONGOS} mongos`, status: 'pass', detail: `${mongos} mongos` },
  );
  for (const s of inp.shards) items.push({ ...(await oplogItem(s.client, `source.oplog.${s.name}`, `local.oplog.rs of shard ${s.name}`)), title: `Shard ${s.name}: oplog readable, retaining 7 days` });
  const balancer = await balancerOn(inp.mongos);
  items.push(
    balancer === false
      ? { id: 'source.balancer', group: 'source', title: 'Balancer off during full sync', status: 'pass' }
      : {
          id: 'source.balancer',
          group: 'source',
          title: 'Balancer off during full sync',
          status: 'warn',
          detail: balancer === null ? 'the balancer state cannot be read (balancerStatus, config.settings)' : 'the balancer is on',
          fix: 'Stop the balancer (sh.stopBalancer()) until the full synchronization ends; start it again once incremental synchronization runs.',
        },
  );
  const orphans: string[] = [];
  const duplicates: string[] = [];
  const unchecked: string[] = [];
  for (const ref of inp.selected) {
    const ns = `${ref.database}.${ref.table}`;
    const through = await inp.mongos.db(ref.database).collection(ref.table).countDocuments({});
    const perShard = await Promise.all(inp.shards.map((s) => s.client.db(ref.database).collection(ref.table).countDocuments({})));
    const onShards = perShard.reduce((a, b) => a + b, 0);
    if (onShards > through) orphans.push(`${ns}: ${onShards - through} more on the shards than through mongos`);
    if (perShard.some((n) => n > ID_CHECK_LIMIT)) {
      unchecked.push(ns);
      continue;
    }
    const seen = new Map<string, string>();
    for (const s of inp.shards) {
      for await (const d of s.client.db(ref.database).collection(ref.table).find({}, { projection: { _id: 1 } })) {
        const key = EJSON.stringify(d._id as never, { relaxed: false });
        const other = seen.get(key);
        if (other !== undefined && other !== s.name) duplicates.push(`${ns} _id ${key} on ${other} and ${s.name}`);
        seen.set(key, s.name);
      }
    }
  }
  items.push(problemsItem('source.orphans', 'No orphaned documents', orphans, 'Remove orphaned documents (cleanupOrphaned on each shard primary) before starting the task.'));
  items.push(
    duplicates.length > 0
      ? { id: 'source.idUnique', group: 'source', title: '_id unique across shards', status: 'fail', detail: duplicates.slice(0, 10).join('; '), fix: 'Give every document of a synchronized collection its own _id across all shards (or exclude the collection): the destination keeps one document per _id.' }
      : unchecked.length > 0
        ? { id: 'source.idUnique', group: 'source', title: '_id unique across shards', status: 'warn', detail: `not compared (more than ${ID_CHECK_LIMIT} documents on a shard): ${unchecked.slice(0, 10).join(', ')}`, fix: 'Make sure _id values are unique across shards in these collections.' }
        : { id: 'source.idUnique', group: 'source', title: '_id unique across shards', status: 'pass' },
  );
  return items;
}
