import { describe, expect, it } from 'vitest';
import { validateTaskConfig, DEFAULT_MAX_MESSAGE_BYTES } from '../../../src/config/index.js';
import { issuesOf, mongoTask, paths, pgTask } from './helpers.js';

describe('defaults', () => {
  it('fills every default for a minimal postgres → kafka task', () => {
    const c = validateTaskConfig(pgTask(), { env: {} });
    expect(c.labels).toEqual({});
    expect(c.source).toMatchObject({ type: 'postgres', flavour: 'postgres', port: 5432, encryption: 'none', captureDdl: true });
    if (c.source.type !== 'postgres') throw new Error('postgres expected');
    expect(c.source.heartbeat).toEqual({ enabled: true, intervalMs: 1000, table: 'dts_postgres_heartbeat', schema: 'public' });
    expect(c.destination.kafka).toEqual({
      brokers: ['k1:9092'],
      topic: 't',
      format: 'dts-avro',
      compression: 'lz4',
      partitionPolicy: 'partition0',
      acks: 'all',
      createTopics: false,
      clientId: 'tributary',
      maxMessageBytes: 10 * 1024 * 1024,
      exactlyOnce: false,
    });
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(10_485_760);
    expect(c.syncTypes).toEqual({ schema: false, full: true, incremental: true });
    expect(c.conflictMode).toBe('precheckAndReport');
    expect(c.nameCase).toBe('default');
    expect(c.exclude).toEqual([]);
    expect(c.throttle).toEqual({});
    expect(c.retry).toEqual({ connectionMinutes: 720, otherMinutes: 10, autoRestartWithinDays: 7 });
    expect(c.monitoring).toEqual({ alertOnFailure: true });
    expect(c.checkpoints).toEqual({ store: 'file', dir: '.tributary/checkpoints' });
    expect(c.fullSync).toEqual({ parallelism: 4, chunkRows: 50_000, onlyOneIdType: false });
  });

  it('defaults a mongodb source to admin auth, replica set, oplog and canal-json', () => {
    const c = validateTaskConfig(mongoTask(), { env: {} });
    expect(c.source).toMatchObject({ type: 'mongodb', authDatabase: 'admin', architecture: 'replicaSet', method: 'oplog', fullDocument: 'default', encryption: 'none', hosts: ['m1:27017'] });
    expect(c.destination.kafka?.format).toBe('canal-json');
    expect(c.destination.kafka?.brokers).toEqual(['k1:9093']);
  });

  it('defaults db2 to port 50000 and analyticdb to no DDL capture', () => {
    const db2 = validateTaskConfig(pgTask({ source: { type: 'db2', host: 'h', user: 'u', password: 'p', database: 'SAMPLE' }, objects: [{ schema: 'DB2INST1', table: 'T' }] }), { env: {} });
    expect(db2.source).toMatchObject({ type: 'db2', port: 50000 });
    expect(db2.destination.kafka?.format).toBe('dts-avro');
    const adb = validateTaskConfig(pgTask({ source: { type: 'postgres', flavour: 'analyticdb', host: 'h', database: 'd' } }), { env: {} });
    expect(adb.source).toMatchObject({ flavour: 'analyticdb', captureDdl: false });
  });

  it('splits a comma-separated broker string and keeps explicit ports, IPv6 included', () => {
    const c = validateTaskConfig(pgTask({ destination: { kafka: { brokers: 'a, b:1234,[::1]', topic: 't' } } }), { env: {} });
    expect(c.destination.kafka?.brokers).toEqual(['a:9092', 'b:1234', '[::1]:9092']);
  });

  it('uses a kafka checkpoint topic default', () => {
    const c = validateTaskConfig(pgTask({ checkpoints: { store: 'kafka' } }), { env: {} });
    expect(c.checkpoints).toEqual({ store: 'kafka', topic: '__tributary_checkpoints' });
  });
});

describe('ranges and enums', () => {
  it.each([
    [{ retry: { connectionMinutes: 9 } }, 'retry.connectionMinutes'],
    [{ retry: { connectionMinutes: 1441 } }, 'retry.connectionMinutes'],
    [{ retry: { otherMinutes: 0 } }, 'retry.otherMinutes'],
    [{ fullSync: { parallelism: 0 } }, 'fullSync.parallelism'],
    [{ fullSync: { chunkRows: 1.5 } }, 'fullSync.chunkRows'],
    [{ throttle: { full: { rps: 0 } } }, 'throttle.full.rps'],
    [{ throttle: { incremental: { mbps: -1 } } }, 'throttle.incremental.mbps'],
    [{ throttle: { incremental: { rps: Number.POSITIVE_INFINITY } } }, 'throttle.incremental.rps'],
    [{ destination: { kafka: { brokers: ['k:99999'], topic: 't' } } }, 'destination.kafka.brokers[0]'],
    [{ destination: { kafka: { brokers: 'a:9092, b:0', topic: 't' } } }, 'destination.kafka.brokers[1]'],
    [{ name: 'Has Spaces' }, 'name'],
    [{ conflictMode: 'overwrite' }, 'conflictMode'],
    [{ nameCase: 'camel' }, 'nameCase'],
    [{ monitoring: { webhookUrl: 'not a url' } }, 'monitoring.webhookUrl'],
    [{ objects: [] }, 'objects'],
    [{ bogus: 1 }, ''],
  ])('rejects %j at %s', (patch, path) => {
    const issues = issuesOf(pgTask(patch));
    expect(paths(issues)).toContain(path);
    expect(issues.find((i) => i.path === path)?.fix).toBeTruthy();
  });

  it('accepts the range bounds', () => {
    const c = validateTaskConfig(pgTask({ retry: { connectionMinutes: 1440, otherMinutes: 1439 } }), { env: {} });
    expect(c.retry.connectionMinutes).toBe(1440);
    expect(c.retry.otherMinutes).toBe(1439);
  });

  it('rejects a bad compression with the allowed values in the fix', () => {
    const issues = issuesOf(pgTask({ destination: { kafka: { brokers: ['k'], topic: 't', compression: 'zstd' } } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('destination.kafka.compression');
    expect(issues[0]?.fix).toBe('Use one of: "lz4", "gzip", "snappy", "none".');
  });

  it('names unknown options', () => {
    const issues = issuesOf(pgTask({ retyr: {} }));
    expect(issues[0]?.message).toBe('unknown option: retyr');
  });

  it('names a missing required option', () => {
    const t = pgTask();
    delete t.objects;
    const issues = issuesOf(t);
    expect(issues).toEqual([expect.objectContaining({ path: 'objects', message: 'is required (expected array)' })]);
  });

  it('reports an unknown source type with the choices', () => {
    const issues = issuesOf(pgTask({ source: { type: 'mysql' } }));
    expect(issues[0]?.path).toBe('source.type');
    expect(issues[0]?.fix).toContain('"postgres", "mongodb", "db2"');
  });
});

describe('cross-field rules', () => {
  it('otherMinutes must be smaller than connectionMinutes', () => {
    const issues = issuesOf(pgTask({ retry: { connectionMinutes: 30, otherMinutes: 30 } }));
    expect(issues).toEqual([expect.objectContaining({ path: 'retry.otherMinutes', message: 'must be smaller than retry.connectionMinutes (30), got 30' })]);
    expect(issues[0]?.fix).toContain('below 30');
  });

  it('mongodb sources write canal-json only', () => {
    const issues = issuesOf(mongoTask({ destination: { kafka: { brokers: ['k'], topic: 't', format: 'shareplex-json' } } }));
    expect(issues).toEqual([expect.objectContaining({ path: 'destination.kafka.format' })]);
    expect(issues[0]?.message).toContain('canal-json');
    expect(validateTaskConfig(mongoTask({ destination: { kafka: { brokers: ['k'], topic: 't', format: 'canal-json' } } }), { env: {} }).destination.kafka?.format).toBe('canal-json');
  });

  it('relational sources may choose any of the three formats', () => {
    for (const format of ['canal-json', 'dts-avro', 'shareplex-json']) {
      expect(validateTaskConfig(pgTask({ destination: { kafka: { brokers: ['k'], topic: 't', format } } }), { env: {} }).destination.kafka?.format).toBe(format);
    }
  });

  it('a postgres database name cannot contain a hyphen, and is a single database', () => {
    const issues = issuesOf(pgTask({ source: { type: 'postgres', host: 'h', database: 'dts-testdata' } }));
    expect(issues).toEqual([expect.objectContaining({ path: 'source.database' })]);
    expect(issues[0]?.message).toContain('hyphen');
    const list = issuesOf(pgTask({ source: { type: 'postgres', host: 'h', database: ['a', 'b'] } }));
    expect(list[0]?.path).toBe('source.database');
    expect(list[0]?.message).toContain('exactly one database');
  });

  it('objects of a postgres task stay in its database', () => {
    const issues = issuesOf(pgTask({ objects: [{ database: 'other', schema: 'public', table: 'x' }] }));
    expect(paths(issues)).toEqual(['objects[0].database']);
  });

  it.each(['admin', 'config', 'local'])('the %s database is never synchronized', (db) => {
    const issues = issuesOf(mongoTask({ objects: [{ database: db }] }));
    expect(issues).toEqual([expect.objectContaining({ path: 'objects[0].database', message: `the "${db}" database is never synchronized` })]);
  });

  it('a sharded cluster read by oplog takes a shard account and no SSL; by change streams through mongos it is accepted, with SSL', () => {
    const src = { type: 'mongodb', hosts: ['m'], architecture: 'shardedCluster', method: 'oplog', encryption: 'ssl' };
    const issues = issuesOf(mongoTask({ source: src }));
    expect(issues).toEqual([expect.objectContaining({ path: 'source.encryption', message: expect.stringMatching(/SSL is not available for a sharded cluster read by oplog/) })]);
    const byOplog = validateTaskConfig(mongoTask({ source: { ...src, encryption: 'none', shard: { user: 's', password: 'p', endpoints: 's1:27018,s2' } } }), { env: {} });
    expect(byOplog.source).toMatchObject({ method: 'oplog', architecture: 'shardedCluster', shard: { user: 's', endpoints: ['s1:27018', 's2:27017'] } });
    const ok = validateTaskConfig(mongoTask({ source: { ...src, method: 'changeStreams' } }), { env: {} });
    expect(ok.source).toMatchObject({ encryption: 'ssl', method: 'changeStreams', architecture: 'shardedCluster' });
  });

  it('a shard account is refused where no shard oplog is read, and needs both user and password', () => {
    const issues = issuesOf(mongoTask({ source: { type: 'mongodb', hosts: ['m'], architecture: 'shardedCluster', method: 'changeStreams', shard: { user: 's', password: 'p' } } }));
    expect(paths(issues)).toEqual(['source.shard']);
    expect(paths(issuesOf(mongoTask({ source: { type: 'mongodb', hosts: ['m'], shard: { endpoints: ['s1'] } } })))).toEqual(['source.shard']);
    expect(paths(issuesOf(mongoTask({ source: { type: 'mongodb', hosts: ['m'], architecture: 'shardedCluster', shard: { user: 's' } } })))).toEqual(['source.shard.password']);
  });

  it('Amazon DocumentDB: non-elastic accepted with change streams as a sharded cluster; elastic refused', () => {
    const host = 'docs.cluster-abc.eu-west-1.docdb.amazonaws.com:27017';
    const ok = validateTaskConfig(mongoTask({ source: { type: 'mongodb', hosts: [host], architecture: 'shardedCluster', method: 'changeStreams', encryption: 'ssl', caCert: '-----BEGIN CERTIFICATE-----' } }), { env: {} });
    expect(ok.source).toMatchObject({ architecture: 'shardedCluster', method: 'changeStreams' });
    expect(paths(issuesOf(mongoTask({ source: { type: 'mongodb', hosts: [host] } })))).toEqual(['source.architecture']);
    expect(paths(issuesOf(mongoTask({ source: { type: 'mongodb', hosts: [host], architecture: 'shardedCluster' } })))).toEqual(['source.method']);
    const elastic = issuesOf(mongoTask({ source: { type: 'mongodb', uri: 'mongodb://u:Secret-9@c-1.eu-west-1.docdb-elastic.amazonaws.com:27017', architecture: 'shardedCluster', method: 'changeStreams' } }));
    expect(elastic).toEqual([expect.objectContaining({ path: 'source.uri', message: expect.stringMatching(/elastic clusters are not supported/) })]);
  });

  it('fullDocument updateLookup needs change streams', () => {
    expect(paths(issuesOf(mongoTask({ source: { type: 'mongodb', hosts: ['m'], fullDocument: 'updateLookup' } })))).toEqual(['source.fullDocument']);
  });

  it('a mongodb source needs exactly one of uri or hosts', () => {
    expect(paths(issuesOf(mongoTask({ source: { type: 'mongodb' } })))).toEqual(['source.uri']);
    expect(paths(issuesOf(mongoTask({ source: { type: 'mongodb', uri: 'mongodb://h', hosts: ['h'] } })))).toEqual(['source.uri']);
  });

  it('analyticdb and db2 do not synchronize DDL', () => {
    expect(paths(issuesOf(pgTask({ source: { type: 'postgres', flavour: 'analyticdb', host: 'h', database: 'd', captureDdl: true } })))).toEqual(['source.captureDdl']);
    const db2 = { type: 'db2', host: 'h', user: 'u', password: 'p', database: 'D' };
    expect(paths(issuesOf(pgTask({ source: db2, objects: [{ table: 'T', ops: ['insert', 'ddl'] }] })))).toEqual(['objects[0].ops']);
  });

  it('clearDestination is refused for Kafka destinations (the task does not clear topics)', () => {
    expect(paths(issuesOf(pgTask({ conflictMode: 'clearDestination' })))).toEqual(['conflictMode']);
    const db2 = { type: 'db2', host: 'h', user: 'u', password: 'db2-Secret-1', database: 'D' };
    const issues = issuesOf(pgTask({ source: db2, conflictMode: 'clearDestination' }));
    expect(paths(issues)).toEqual(['conflictMode']);
    expect(issues[0]?.message).toMatch(/not available for a Kafka destination/);
  });

  it('mongodb to kafka: incremental is always on and schema sync unavailable', () => {
    const issues = issuesOf(mongoTask({ syncTypes: { schema: true, incremental: false } }));
    expect(paths(issues).sort()).toEqual(['syncTypes.incremental', 'syncTypes.schema']);
  });

  it('something must be synchronized', () => {
    expect(paths(issuesOf(pgTask({ syncTypes: { schema: false, full: false, incremental: false } })))).toEqual(['syncTypes']);
  });

  it('full throttle needs full sync', () => {
    expect(paths(issuesOf(pgTask({ syncTypes: { full: false }, throttle: { full: { rps: 10 } } })))).toEqual(['throttle.full']);
  });

  it('exactly-once needs kafka checkpoints', () => {
    expect(paths(issuesOf(pgTask({ destination: { kafka: { brokers: ['k'], topic: 't', exactlyOnce: true } } })))).toEqual(['destination.kafka.exactlyOnce']);
    const ok = validateTaskConfig(pgTask({ destination: { kafka: { brokers: ['k'], topic: 't', exactlyOnce: true } }, checkpoints: { store: 'kafka', topic: 'cp' } }), { env: {} });
    expect(ok.destination.kafka?.exactlyOnce).toBe(true);
  });

  it('partitionKey needs keyHash and a table', () => {
    expect(paths(issuesOf(pgTask({ objects: [{ table: 'a', partitionKey: ['id'] }] })))).toEqual(['objects[0].partitionKey']);
    const kh = { kafka: { brokers: ['k'], topic: 't', partitionPolicy: 'keyHash' } };
    expect(paths(issuesOf(pgTask({ destination: kh, objects: [{ schema: 'public', partitionKey: ['id'] }] })))).toEqual(['objects[0].partitionKey']);
    expect(paths(issuesOf(pgTask({ destination: kh, objects: [{ table: 'a', columns: ['x'], partitionKey: ['id'] }] })))).toEqual(['objects[0].partitionKey']);
  });

  it('mongodb filters are JSON query documents; relational filters are one condition', () => {
    expect(paths(issuesOf(mongoTask({ objects: [{ database: 'a', collection: 'b', filter: 'x > 1' }] })))).toEqual(['objects[0].filter']);
    expect(paths(issuesOf(pgTask({ objects: [{ table: 'a', filter: 'x > 1; drop table a' }] })))).toEqual(['objects[0].filter']);
  });

  it('a table/collection-only option on a whole schema is rejected', () => {
    expect(paths(issuesOf(pgTask({ objects: [{ schema: 'public', columns: ['a'] }] })))).toEqual(['objects[0].columns']);
  });

  it('duplicate objects are reported', () => {
    expect(paths(issuesOf(pgTask({ objects: [{ table: 'a' }, { table: 'a' }] })))).toEqual(['objects[1]']);
  });

  it('exactly one destination', () => {
    expect(paths(issuesOf(pgTask({ destination: {} })))).toEqual(['destination']);
    expect(paths(issuesOf(mongoTask({ destination: { mongodb: { uri: 'mongodb://h' }, kafka: { brokers: ['k'], topic: 't' } } })))).toContain('destination');
  });

  it('mongodb → mongodb is valid, relational → mongodb is not', () => {
    const c = validateTaskConfig(mongoTask({ destination: { mongodb: { hosts: ['d1', 'd2:27018'] } }, syncTypes: { schema: true } }), { env: {} });
    expect(c.destination.mongodb).toMatchObject({ hosts: ['d1:27017', 'd2:27018'], authDatabase: 'admin', architecture: 'replicaSet', replay: 'concurrent' });
    expect(paths(issuesOf(pgTask({ destination: { mongodb: { hosts: ['d'] } } })))).toEqual(['destination.mongodb']);
  });

  it('onlyOneIdType applies to mongodb only', () => {
    expect(paths(issuesOf(pgTask({ fullSync: { onlyOneIdType: true } })))).toEqual(['fullSync.onlyOneIdType']);
  });

  it('an ETL syntax error is reported with its line', () => {
    const issues = issuesOf(pgTask({ etl: { expression: 'set a = 1\nset b = frob(2)' } }));
    expect(issues).toEqual([expect.objectContaining({ path: 'etl.expression' })]);
    expect(issues[0]?.message).toContain('line 2');
    expect(issues[0]?.message).toContain("unknown function 'frob'");
  });
});

describe('table limits', () => {
  const tables = (n: number, extra: Record<string, unknown> = {}) => Array.from({ length: n }, (_, i) => ({ table: `t${i}`, ...extra }));
  const collections = (n: number, extra: Record<string, unknown> = {}) => Array.from({ length: n }, (_, i) => ({ database: 'app', collection: `c${i}`, ...extra }));

  it('mongodb: at most 1,000 collections when mapping names', () => {
    expect(() => validateTaskConfig(mongoTask({ objects: collections(1000, { rename: { collection: 'x' } }) }), { env: {} })).not.toThrow();
    const issues = issuesOf(mongoTask({ objects: collections(1001, { rename: { database: 'copy' } }) }));
    expect(issues).toEqual([expect.objectContaining({ path: 'objects' })]);
    expect(issues[0]?.message).toContain('at most 1000');
    // without mapping the limit does not apply
    expect(() => validateTaskConfig(mongoTask({ objects: collections(1001) }), { env: {} })).not.toThrow();
  });

  it('polardb: at most 1,000 tables', () => {
    const src = { type: 'postgres', flavour: 'polardb', host: 'h', database: 'd' };
    expect(() => validateTaskConfig(pgTask({ source: src, objects: tables(1000) }), { env: {} })).not.toThrow();
    expect(paths(issuesOf(pgTask({ source: src, objects: tables(1001) })))).toEqual(['objects']);
  });

  it('analyticdb and db2: at most 5,000 tables when mapping names', () => {
    const adb = { type: 'postgres', flavour: 'analyticdb', host: 'h', database: 'd' };
    expect(paths(issuesOf(pgTask({ source: adb, objects: tables(5001, { columnRename: { a: 'b' } }) })))).toEqual(['objects']);
    expect(() => validateTaskConfig(pgTask({ source: adb, objects: tables(5000, { columnRename: { a: 'b' } }) }), { env: {} })).not.toThrow();
    const db2 = { type: 'db2', host: 'h', user: 'u', password: 'p', database: 'D' };
    const issues = issuesOf(pgTask({ source: db2, objects: tables(5001, { rename: { table: 'x' } }) }));
    expect(issues[0]?.message).toContain('at most 5000');
  });
});

describe('filters are parsed at load time', () => {
  it('accepts valid filters', () => {
    const c = validateTaskConfig(pgTask({ objects: [{ table: 'a', filter: "amount > 100 AND status = 'paid'" }] }), { env: {} });
    expect(c.objects[0]?.filter).toBe("amount > 100 AND status = 'paid'");
    const m = validateTaskConfig(mongoTask({ objects: [{ database: 'a', collection: 'b', filter: '{"n": {"$gte": 3}}' }] }), { env: {} });
    expect(m.objects[0]?.filter).toBe('{"n": {"$gte": 3}}');
  });

  it('rejects an unsupported mongodb operator and a broken SQL condition', () => {
    const mi = issuesOf(mongoTask({ objects: [{ database: 'a', collection: 'b', filter: '{"n": {"$where": "1"}}' }] }));
    expect(mi).toEqual([expect.objectContaining({ path: 'objects[0].filter' })]);
    expect(mi[0]?.message).toContain('$where');
    const si = issuesOf(pgTask({ objects: [{ table: 'a', filter: 'amount >' }] }));
    expect(si).toEqual([expect.objectContaining({ path: 'objects[0].filter' })]);
    expect(si[0]?.message).toMatch(/^is not a valid SQL WHERE condition: /);
  });
});
