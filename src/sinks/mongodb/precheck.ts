/**
 * Prechecks of a MongoDB destination (seed 001): version, roles, same-named collections in
 * 'precheckAndReport' mode, and the shard keys a sharded destination needs the data to carry.
 */
import type { Document, MongoClient } from 'mongodb';
import type { PrecheckItem } from '../../core/index.js';

export interface MongoPrecheckOptions {
  conflictMode: 'precheckAndReport' | 'ignoreAndProceed';
  /** Source server version ("6.0.14"), or a client to ask. */
  sourceVersion?: string;
  sourceClient?: MongoClient;
  /** Destination collections the task will write (after name mapping). */
  targets?: ReadonlyArray<{ database: string; collection: string }>;
  /** The task resumes from its own checkpoint: collections it created earlier are no conflict. */
  resuming?: boolean;
  /** The architecture the task declares (`destination.mongodb.architecture`); checked against the server. */
  architecture?: 'replicaSet' | 'shardedCluster';
}

/** Compares dotted versions numerically: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10));
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number.isFinite(pa[i]) ? (pa[i] as number) : 0;
    const y = Number.isFinite(pb[i]) ? (pb[i] as number) : 0;
    if (x !== y) return x - y;
  }
  return 0;
}

interface RoleRef {
  role: string;
  db: string;
}

/** Which of the required roles the authenticated user lacks (roles that imply others count). */
export function missingRoles(roles: readonly RoleRef[], targetDbs: readonly string[]): string[] {
  const has = (role: string, db: string) => roles.some((r) => r.role === role && r.db === db);
  const root = has('root', 'admin');
  const missing: string[] = [];
  if (!root && !has('dbAdminAnyDatabase', 'admin')) missing.push('dbAdminAnyDatabase@admin');
  const rwAny = root || has('readWriteAnyDatabase', 'admin');
  for (const db of targetDbs) {
    if (!rwAny && !has('readWrite', db) && !has('dbOwner', db)) missing.push(`readWrite@${db}`);
  }
  if (!root && !has('read', 'local') && !has('readWrite', 'local') && !has('readAnyDatabase', 'admin') && !rwAny) missing.push('read@local');
  return missing;
}

export async function precheckMongoDestination(dest: MongoClient, opts: MongoPrecheckOptions): Promise<PrecheckItem[]> {
  const items: PrecheckItem[] = [];
  const admin = dest.db('admin');
  const targets = opts.targets ?? [];
  const targetDbs = [...new Set(targets.map((t) => t.database))];

  if (opts.architecture !== undefined) {
    const hello = await admin.command({ hello: 1 });
    const isMongos = hello.msg === 'isdbgrid';
    const declared = opts.architecture === 'shardedCluster';
    items.push(
      isMongos === declared
        ? { id: 'mongodb.destination.architecture', group: 'destination', title: 'Destination architecture as configured', status: 'pass', detail: declared ? 'shardedCluster: connected to mongos' : 'replicaSet' }
        : {
            id: 'mongodb.destination.architecture',
            group: 'destination',
            title: 'Destination architecture as configured',
            // A sharded destination left at the default architecture still works (the writer reads the shard keys): a warning.
            status: declared ? 'fail' : 'warn',
            detail: declared ? 'destination.mongodb.architecture is "shardedCluster" but the server is not mongos' : 'destination.mongodb.architecture is "replicaSet" but the server is mongos (a sharded cluster)',
            fix: declared ? 'Give the mongos addresses, or set destination.mongodb.architecture to "replicaSet".' : 'Set destination.mongodb.architecture to "shardedCluster".',
          },
    );
  }

  // Version: destination >= source.
  const destVersion = String((await admin.command({ buildInfo: 1 })).version ?? '0');
  let sourceVersion = opts.sourceVersion;
  if (sourceVersion === undefined && opts.sourceClient) {
    sourceVersion = String((await opts.sourceClient.db('admin').command({ buildInfo: 1 })).version ?? '0');
  }
  if (sourceVersion === undefined) {
    items.push({ id: 'mongodb.destination.version', group: 'destination', title: 'Destination version', status: 'warn', detail: `destination ${destVersion}; source version unknown` });
  } else {
    const ok = compareVersions(destVersion, sourceVersion) >= 0;
    items.push({
      id: 'mongodb.destination.version',
      group: 'destination',
      title: 'Destination version is the same as or later than the source',
      status: ok ? 'pass' : 'fail',
      detail: `source ${sourceVersion}, destination ${destVersion}`,
      ...(ok ? {} : { fix: 'Upgrade the destination to the source version or later.' }),
    });
  }

  // Roles, where connectionStatus can tell.
  try {
    const status = await admin.command({ connectionStatus: 1 });
    const auth = (status.authInfo ?? {}) as { authenticatedUsers?: Document[]; authenticatedUserRoles?: RoleRef[] };
    if ((auth.authenticatedUsers ?? []).length === 0) {
      items.push({
        id: 'mongodb.destination.roles',
        group: 'destination',
        title: 'Destination account roles',
        status: 'warn',
        detail: 'not authenticated (access control appears off), roles not checked',
      });
    } else {
      const missing = missingRoles(auth.authenticatedUserRoles ?? [], targetDbs);
      items.push({
        id: 'mongodb.destination.roles',
        group: 'destination',
        title: 'Destination account has dbAdminAnyDatabase, readWrite on the target databases and read on local',
        status: missing.length === 0 ? 'pass' : 'fail',
        ...(missing.length === 0
          ? {}
          : { detail: `missing roles: ${missing.join(', ')}`, fix: `Grant the roles, e.g. db.grantRolesToUser(user, [${missing.map((m) => `{ role: '${m.split('@')[0]}', db: '${m.split('@')[1]}' }`).join(', ')}]).` }),
      });
    }
  } catch (err) {
    items.push({ id: 'mongodb.destination.roles', group: 'destination', title: 'Destination account roles', status: 'warn', detail: `connectionStatus failed: ${String(err)}` });
  }

  // Same-named collections.
  if (opts.conflictMode === 'precheckAndReport' && targets.length > 0 && opts.resuming === true) {
    items.push({
      id: 'mongodb.destination.conflicting-collections',
      group: 'destination',
      title: 'No destination collection has the name of a synchronized collection',
      status: 'pass',
      detail: 'the task resumes from its checkpoint: the collections it already wrote are its own (full-sync inserts are replayed as upserts by _id)',
    });
  } else if (opts.conflictMode === 'precheckAndReport' && targets.length > 0) {
    const existing: string[] = [];
    for (const db of targetDbs) {
      const names = new Set((await dest.db(db).listCollections({}, { nameOnly: true }).toArray()).map((c) => String(c.name)));
      for (const t of targets) if (t.database === db && names.has(t.collection)) existing.push(`${db}.${t.collection}`);
    }
    items.push({
      id: 'mongodb.destination.conflicting-collections',
      group: 'destination',
      title: 'No destination collection has the name of a synchronized collection',
      status: existing.length === 0 ? 'pass' : 'fail',
      ...(existing.length === 0
        ? {}
        : {
            detail: `already present at the destination: ${existing.join(', ')}`,
            fix: 'Map these collections to other names (object name mapping), drop them at the destination, or set conflictMode to ignoreAndProceed (destination documents with the same _id are kept).',
          }),
    });
  }

  // Sharded destination: which shard keys the data must carry.
  if (targets.length > 0) {
    let sharded: Document[];
    try {
      sharded = await dest
        .db('config')
        .collection('collections')
        .find({ _id: { $in: targets.map((t) => `${t.database}.${t.collection}`) } as Document, dropped: { $ne: true } })
        .toArray();
    } catch {
      sharded = [];
    }
    if (sharded.length > 0) {
      items.push({
        id: 'mongodb.destination.shard-keys',
        group: 'destination',
        title: 'Sharded destination collections: inserts must carry the shard key, updates must not change it',
        status: 'warn',
        detail: sharded.map((s) => `${String(s._id)}: ${JSON.stringify(s.key)}`).join('; '),
        fix: 'Add the shard key fields to the source documents before starting; clear orphaned documents on the destination.',
      });
    }
  }
  return items;
}
