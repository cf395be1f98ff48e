import type { Document, MongoClient } from 'mongodb';
import type { PrecheckItem } from '../../core/contracts.js';
import type { TableRef } from '../../core/events.js';

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
  [/\.docdb(-elastic)?\.amazonaws\.com/i, 'Amazon DocumentDB'],
];

/** Recognizes MongoDB look-alikes by host names and hello fields. */
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
}

const SYSTEM = ['admin', 'config', 'local'];

/** Source checks after connecting: topology, look-alikes, oplog/change streams, permissions, limits, TTL. */
export async function precheckMongo(inp: MongoPrecheckInput): Promise<PrecheckItem[]> {
  const items: PrecheckItem[] = [];
  const { hello, client } = inp;
  const sharded = hello.msg === 'isdbgrid';
  const lookalike = detectLookalike(inp.uri, hello);
  items.push(
    lookalike
      ? { id: 'source.flavour', group: 'source', title: 'Source is MongoDB', status: 'fail', detail: `the source looks like ${lookalike}, which is not supported as a source`, fix: 'Use a MongoDB replica set or sharded cluster as the source.' }
      : { id: 'source.flavour', group: 'source', title: 'Source is MongoDB', status: 'pass' },
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
          : { id: 'source.architecture', group: 'source', title: 'Source architecture as configured', status: 'warn', detail: 'source.architecture is "replicaSet" but the server is mongos (a sharded cluster)', fix: 'Set source.architecture to "shardedCluster" and source.method to "changeStreams", or give the replica set members.' },
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
    if (sharded) {
      items.push({ id: 'source.oplog', group: 'source', title: 'Oplog readable', status: 'fail', detail: 'mongos has no oplog; each shard must be read', fix: "Use method 'changeStreams' for sharded clusters." });
    } else {
      try {
        const oplog = client.db('local').collection('oplog.rs');
        const first = await oplog.findOne({}, { sort: { $natural: 1 }, projection: { ts: 1 } });
        const last = await oplog.findOne({}, { sort: { $natural: -1 }, projection: { ts: 1 } });
        if (!first || !last) {
          items.push({ id: 'source.oplog', group: 'source', title: 'Oplog readable', status: 'fail', detail: 'local.oplog.rs is missing or empty', fix: 'Run the source as a replica set so it keeps an oplog.' });
        } else {
          const hours = (((last.ts as { high: number }).high >>> 0) - ((first.ts as { high: number }).high >>> 0)) / 3600;
          items.push({
            id: 'source.oplog',
            group: 'source',
            title: 'Oplog readable, retaining 7 days',
            status: hours >= 24 * 7 ? 'pass' : 'warn',
            detail: `local.oplog.rs spans ${hours.toFixed(1)} hours`,
            ...(hours >= 24 * 7 ? {} : { fix: 'Enlarge the oplog (replSetResizeOplog, or minRetentionHours) so that it keeps at least 7 days; otherwise a paused task can lose history.' }),
          });
        }
      } catch (err) {
        items.push({ id: 'source.oplog', group: 'source', title: 'Oplog readable', status: 'fail', detail: `cannot read local.oplog.rs: ${(err as Error).message}`, fix: 'Grant the account read on the local database.' });
      }
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
  items.push(
    unreadable.length > 0
      ? { id: 'source.read', group: 'source', title: 'Read permission on selected collections', status: 'fail', detail: unreadable.slice(0, 10).join('; '), fix: 'Grant the account read on the selected databases, admin and local.' }
      : { id: 'source.read', group: 'source', title: 'Read permission on selected collections', status: 'pass' },
  );
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
