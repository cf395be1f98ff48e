/**
 * The MongoDB source's options (`source` with `type: mongodb`) and the rules between them; the
 * connection rules are shared with the MongoDB destination.
 */
import { z } from 'zod';
import { MONGO_DEFAULT_PORT, caCert, hostList, nonEmpty, secret, type ConfigPath as Path, type ConfigReport as Report } from '../../config/primitives.js';
import { MONGO_ARCHITECTURES } from '../../sinks/mongodb/config.js';
import { uriOptions, uriTls } from './connection.js';

export const MONGO_METHODS = ['oplog', 'changeStreams'] as const;

const shardSchema = z
  .strictObject({
    user: nonEmpty().optional().describe('Account shared by all shard nodes, with read on `local` (the oplog) on each shard. Default: `source.user`. Leave both out only when the shards do not enforce authentication.'),
    password: secret('Password shared by all shard nodes').optional(),
    endpoints: hostList(MONGO_DEFAULT_PORT).optional().describe('One address per shard (`host:port` of a member of that shard\'s replica set; the driver finds its primary). Default: discovered through mongos from `config.shards`.'),
  })
  .describe('Sharded cluster read by oplog (`architecture: shardedCluster`, `method: oplog`): each shard\'s oplog is read with this account and the streams are merged by cluster time; the full sync reads through mongos (`hosts`/`uri`). Refused with any other architecture or method.');

export const mongoSourceSchema = z.strictObject({
  type: z.literal('mongodb').describe('Source kind.'),
  uri: z.string().min(1).optional().describe('Connection string (`mongodb://user:password@host:port/?replicaSet=rs0`). Either `uri` or `hosts`. Its password is masked in logs. `authDatabase`, `replicaSet` and `encryption` are added where the URI does not say them (`authSource`, `replicaSet`, `tls`); a contradiction is refused.'),
  hosts: hostList(MONGO_DEFAULT_PORT).optional().describe('Member or mongos addresses (`host:port`; port 27017 when omitted). Either `uri` or `hosts`.'),
  user: nonEmpty().optional().describe('Account with read access to the selected databases, `admin` and `local`.'),
  password: secret('Password of the account').optional(),
  authDatabase: nonEmpty().default('admin').describe('Authentication database.'),
  architecture: z.enum(MONGO_ARCHITECTURES).default('replicaSet').describe('Deployment architecture, checked by the precheck against the server. `shardedCluster`: `hosts`/`uri` name mongos (at most 10); with `method: oplog` each shard\'s oplog is read (see `shard`; no SSL), with `method: changeStreams` the cluster is watched through mongos. Non-elastic Amazon DocumentDB is read as `shardedCluster` with `changeStreams`.'),
  shard: shardSchema.optional(),
  method: z.enum(MONGO_METHODS).default('oplog').describe('How incremental changes are read: `oplog` (recommended; captures CREATE COLLECTION/INDEX too) or `changeStreams` (MongoDB 4.0+).'),
  fullDocument: z
    .enum(['default', 'updateLookup'])
    .default('default')
    .describe('Change streams only: `updateLookup` delivers the whole document after an update (more source load); `default` delivers changed fields.'),
  encryption: z.enum(['none', 'ssl', 'atlasSsl']).default('none').describe('Connection encryption (TLS).'),
  caCert: caCert(),
  replicaSet: nonEmpty().optional().describe('Replica set name, when connecting by `hosts`.'),
});

export type MongoSourceConfig = z.output<typeof mongoSourceSchema>;

/**
 * MongoDB connection options against each other: `authDatabase`, `replicaSet` and `encryption` are
 * added to a `uri` that does not say them, and refused where the URI says otherwise; `caCert` needs TLS.
 */
export function checkMongoConnection(
  c: { uri?: string | undefined; authDatabase?: string | undefined; replicaSet?: string | undefined; encryption?: string | undefined; caCert?: string | undefined },
  at: Path,
  name: string,
  report: Report,
): void {
  const uri = typeof c.uri === 'string' ? c.uri : undefined;
  const opts = uri !== undefined ? uriOptions(uri) : new Map<string, string>();
  const tls = uri !== undefined ? uriTls(uri) : undefined;
  const inUri = opts.get('replicaset');
  if (c.replicaSet !== undefined && inUri !== undefined && inUri !== c.replicaSet) {
    report([...at, 'replicaSet'], `the uri names replica set "${inUri}", not "${c.replicaSet}"`, `Remove ${name}.replicaSet, or make it match the uri's replicaSet option.`);
  }
  const authSource = opts.get('authsource');
  if (c.authDatabase !== undefined && c.authDatabase !== 'admin' && authSource !== undefined && authSource !== c.authDatabase) {
    report([...at, 'authDatabase'], `the uri authenticates against "${authSource}" (authSource), not "${c.authDatabase}"`, `Remove ${name}.authDatabase, or make it match the uri's authSource option.`);
  }
  if (c.encryption !== undefined && c.encryption !== 'none' && tls === false) {
    report([...at, 'encryption'], `encryption "${c.encryption}" asks for TLS but the uri turns it off (tls=false)`, `Remove tls=false from the uri, or set ${name}.encryption to "none".`);
  }
  if (c.caCert !== undefined && (c.encryption ?? 'none') === 'none' && tls !== true) {
    report([...at, 'caCert'], 'a CA certificate is set but encryption is "none"', `Set ${name}.encryption to "ssl", or remove ${name}.caCert.`);
  }
}

/** Which kind of Amazon DocumentDB the source's host names point at, if any. */
function mongoDocumentDb(c: { uri?: string | undefined; hosts?: readonly (string | undefined)[] | undefined }): 'elastic' | 'instance' | null {
  const names = [c.uri ?? '', ...(c.hosts ?? [])].join(' ');
  if (/\.docdb-elastic\.amazonaws\.com/i.test(names)) return 'elastic';
  return /\.docdb\.amazonaws\.com/i.test(names) ? 'instance' : null;
}

/** Rules between the MongoDB source's options. */
export function checkMongoSource(value: unknown, report: Report): void {
  const src = value as Partial<MongoSourceConfig>;
  if ((src.uri === undefined) === (src.hosts === undefined)) {
    report(['source', 'uri'], src.uri === undefined ? 'a MongoDB source needs `uri` or `hosts`' : 'set either `uri` or `hosts`, not both', 'Give source.uri (mongodb://...) or source.hosts (a list of host:port).');
  }
  if (src.uri !== undefined && !/^mongodb(\+srv)?:\/\//.test(src.uri)) {
    report(['source', 'uri'], 'is not a MongoDB connection string', 'Use the form mongodb://user:password@host:27017/?replicaSet=rs0.');
  }
  const sharded = src.architecture === 'shardedCluster';
  const method = src.method ?? 'oplog';
  // A sharded cluster by oplog: each shard's oplog with the shard account, the copy through mongos.
  if (src.shard !== undefined && !(sharded && method === 'oplog')) {
    report(['source', 'shard'], 'a shard account is used only to read each shard\'s oplog (architecture "shardedCluster" with method "oplog")', 'Remove source.shard, or set source.architecture to "shardedCluster" and source.method to "oplog".');
  }
  if (src.shard !== undefined && (src.shard.user === undefined) !== (src.shard.password === undefined)) {
    report(['source', 'shard', src.shard.user === undefined ? 'user' : 'password'], 'the shard account needs both user and password', 'Give source.shard.user and source.shard.password, or neither (the source account is then used on the shards).');
  }
  if (sharded && method === 'oplog' && src.encryption !== undefined && src.encryption !== 'none') {
    report(['source', 'encryption'], 'SSL is not available for a sharded cluster read by oplog (the shards are read directly)', 'Set source.encryption to "none", or read the cluster with method "changeStreams" through mongos.');
  }
  const docdb = mongoDocumentDb(src);
  if (docdb === 'elastic') {
    report(['source', 'uri'], 'Amazon DocumentDB elastic clusters are not supported as sources', 'Use a non-elastic (instance-based) Amazon DocumentDB cluster, or MongoDB.');
  } else if (docdb === 'instance' && !(sharded && method === 'changeStreams')) {
    report(['source', sharded ? 'method' : 'architecture'], 'Amazon DocumentDB is read by change streams with the sharded cluster architecture', 'Enable change streams on the DocumentDB cluster and set source.method to "changeStreams" and source.architecture to "shardedCluster".');
  }
  if (src.fullDocument === 'updateLookup' && method !== 'changeStreams') {
    report(['source', 'fullDocument'], '"updateLookup" applies only to change streams', 'Set source.method to "changeStreams", or remove source.fullDocument.');
  }
  checkMongoConnection(src, ['source'], 'source', report);
}
