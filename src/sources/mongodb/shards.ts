/**
 * The shards of a sharded cluster read by oplog: where they are (configured endpoints, or
 * `config.shards` read through mongos), how to connect to each with the shard account, and what
 * each one is called in the composite position (its replica set name).
 */
import { MongoClient, type Document } from 'mongodb';
import { ConnectionError, FatalError } from '../../core/errors.js';
import { mongoUri } from './connection.js';

/** How the source reaches its shards (`source.shard`, plus the source account it defaults to). */
export interface ShardAccess {
  /** One address per shard; undefined: discovered from `config.shards` through mongos. */
  endpoints?: readonly string[];
  user?: string;
  password?: string;
  authDatabase?: string;
}

/** One shard to connect to: `hosts` (with `replicaSet` when known) as `config.shards` or the config gives them. */
export interface ShardEndpoint {
  /** What the shard is called where it was found (its `config.shards` `_id`, or the configured address). */
  label: string;
  hosts: string[];
  replicaSet?: string;
}

/** A connected shard. `name` keys its component of the position: the replica set name, else the address. */
export interface ShardConnection {
  name: string;
  label: string;
  client: MongoClient;
  hello: Document;
}

/** `config.shards` `host`: `rs1/h1:27018,h2:27018`, or a bare `h1:27018`. */
export function parseShardHost(label: string, host: string): ShardEndpoint {
  const slash = host.indexOf('/');
  const set = slash > 0 ? host.slice(0, slash) : undefined;
  const hosts = (slash >= 0 ? host.slice(slash + 1) : host)
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  return { label, hosts, ...(set !== undefined ? { replicaSet: set } : {}) };
}

/** The connection string of one shard, with the shard account (no TLS: refused for sharded oplog reads). */
export function shardUri(endpoint: ShardEndpoint, access: ShardAccess): string {
  return mongoUri({
    hosts: endpoint.hosts,
    ...(access.user !== undefined ? { user: access.user } : {}),
    ...(access.password !== undefined ? { password: access.password } : {}),
    authDatabase: access.authDatabase ?? 'admin',
    ...(endpoint.replicaSet !== undefined ? { replicaSet: endpoint.replicaSet } : {}),
  });
}

/** The configured endpoints, or the shards `config.shards` lists (read through mongos). Draining shards are kept: they still take writes. */
export async function shardEndpoints(mongos: MongoClient, access: ShardAccess): Promise<ShardEndpoint[]> {
  if (access.endpoints !== undefined && access.endpoints.length > 0) return access.endpoints.map((e) => ({ label: e, hosts: [e] }));
  let docs: Array<{ _id?: unknown; host?: unknown }>;
  try {
    docs = await mongos.db('config').collection<{ _id?: unknown; host?: unknown }>('shards').find({}).toArray();
  } catch (err) {
    throw new FatalError('SHARDS_UNLISTED', `Cannot read config.shards through mongos: ${(err as Error).message}`, {
      object: 'config.shards',
      field: 'source.shard.endpoints',
      cause: err,
      fix: 'Grant the source account read on the config database, or list the shards in source.shard.endpoints.',
    });
  }
  const out = docs.filter((d) => typeof d.host === 'string').map((d) => parseShardHost(String(d._id), d.host as string));
  if (out.length === 0) {
    throw new FatalError('NO_SHARDS', 'config.shards lists no shard: the source is not a sharded cluster, or the account cannot see its shards.', {
      object: 'config.shards',
      field: 'source.shard.endpoints',
      fix: 'Give the mongos addresses in source.hosts or source.uri, or list the shards in source.shard.endpoints.',
    });
  }
  return out;
}

/** Connects to every shard; fails naming the shard that cannot be reached, and when two endpoints are the same shard. */
export async function connectShards(endpoints: readonly ShardEndpoint[], access: ShardAccess): Promise<ShardConnection[]> {
  const out: ShardConnection[] = [];
  try {
    for (const e of endpoints) {
      const client = new MongoClient(shardUri(e, access), { serverSelectionTimeoutMS: 10_000, connectTimeoutMS: 10_000 });
      try {
        await client.connect();
        const hello = await client.db('admin').command({ hello: 1 });
        const name = typeof hello.setName === 'string' ? hello.setName : e.label;
        if (out.some((s) => s.name === name)) {
          await client.close().catch(() => undefined);
          throw new FatalError('SHARD_TWICE', `Two shard endpoints reach the same shard "${name}" (${e.label}).`, { field: 'source.shard.endpoints', object: e.label, fix: 'List one address per shard in source.shard.endpoints.' });
        }
        out.push({ name, label: e.label, client, hello });
      } catch (err) {
        await client.close().catch(() => undefined);
        if (err instanceof FatalError) throw err;
        throw new ConnectionError('SHARD_UNREACHABLE', `Cannot connect to shard ${e.label} (${e.hosts.join(',')}): ${(err as Error).message}`, {
          object: e.label,
          cause: err,
          fix: 'Check source.shard.endpoints (one reachable member per shard), and the shard account (source.shard.user/password, read on local).',
        });
      }
    }
  } catch (err) {
    await Promise.all(out.map((s) => s.client.close().catch(() => undefined)));
    throw err;
  }
  return out;
}

/**
 * The source option that turns on the per-shard oplog reader: `{ shard }` for a sharded cluster
 * read by oplog (the shard account, else the source account), `{}` otherwise.
 */
export function shardAccessOf(src: {
  architecture?: string;
  method?: string;
  user?: string | undefined;
  password?: string | undefined;
  authDatabase?: string | undefined;
  shard?: { user?: string | undefined; password?: string | undefined; endpoints?: readonly string[] | undefined } | undefined;
}): { shard?: ShardAccess } {
  if (src.architecture !== 'shardedCluster' || src.method !== 'oplog') return {};
  const own = src.shard?.user !== undefined;
  const user = own ? src.shard?.user : src.user;
  const password = own ? src.shard?.password : src.password;
  return {
    shard: {
      ...(src.shard?.endpoints !== undefined ? { endpoints: src.shard.endpoints } : {}),
      ...(user !== undefined ? { user } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(src.authDatabase !== undefined ? { authDatabase: src.authDatabase } : {}),
    },
  };
}
