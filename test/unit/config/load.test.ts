import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { interpolateEnv, loadTaskConfig, parseTaskConfig } from '../../../src/config/index.js';
import type { ConfigIssue } from '../../../src/core/errors.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/config/${name}`, import.meta.url));
const env = { PG_PASSWORD: 'pg-pass-XYZ', KAFKA_PASSWORD: 'kafka-pass-XYZ', MONGO_PASSWORD: 'mongo-pass-XYZ' };

function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

async function catchAsync(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('env interpolation', () => {
  it('replaces ${NAME}, ${NAME:-default} and $${', () => {
    const issues: ConfigIssue[] = [];
    const out = interpolateEnv({ a: 'x-${A}-y', b: ['${B:-dflt}'], c: '${C:-}', d: '$${A}', e: 5, f: '${E:-fallback}' }, { A: '1', E: '' }, issues);
    expect(out).toEqual({ a: 'x-1-y', b: ['dflt'], c: '', d: '${A}', e: 5, f: 'fallback' });
    expect(issues).toEqual([]);
  });

  it('reports a missing variable with its name and path', () => {
    const issues: ConfigIssue[] = [];
    interpolateEnv({ source: { password: '${DB_PASS}' }, objects: [{ topic: '${T}' }] }, {}, issues);
    expect(issues).toEqual([
      { path: 'source.password', message: 'environment variable DB_PASS is not set', fix: 'Set DB_PASS in the environment, or give a default: ${DB_PASS:-value}.' },
      { path: 'objects[0].topic', message: 'environment variable T is not set', fix: 'Set T in the environment, or give a default: ${T:-value}.' },
    ]);
  });

  it('reports malformed placeholders', () => {
    const issues: ConfigIssue[] = [];
    interpolateEnv({ a: '${1BAD}', b: '${OPEN' }, {}, issues);
    expect(issues.map((i) => i.path)).toEqual(['a', 'b']);
    expect(issues[1]?.message).toContain('unterminated');
  });

  it('turns interpolated numbers and booleans into typed values', () => {
    const text = `name: t\nsource: { type: postgres, host: h, port: "\${P}", database: d, heartbeat: { enabled: "\${HB}" } }\ndestination: { kafka: { brokers: k, topic: t } }\nobjects: [{ table: a }]\n`;
    const c = parseTaskConfig(text, { env: { P: '6543', HB: 'false' } });
    expect(c.source).toMatchObject({ port: 6543, heartbeat: { enabled: false } });
  });

  it('keeps a numeric-looking password a string', () => {
    const text = `name: t\nsource: { type: postgres, host: h, password: "\${PW}", database: d }\ndestination: { kafka: { brokers: k, topic: t } }\nobjects: [{ table: a }]\n`;
    const c = parseTaskConfig(text, { env: { PW: '12345' } });
    expect(c.source.type === 'postgres' && c.source.password).toBe('12345');
  });
});

describe('loading fixtures', () => {
  it('loads the postgres → kafka YAML fixture', async () => {
    const c = await loadTaskConfig(fixture('postgres-kafka.yaml'), { env });
    expect(c.name).toBe('orders-to-kafka');
    expect(c.environment).toBe('staging');
    expect(c.source).toMatchObject({ type: 'postgres', flavour: 'polardb', host: '127.0.0.1', port: 5432, password: 'pg-pass-XYZ', captureDdl: true });
    expect(c.destination.kafka).toMatchObject({ brokers: ['kafka-1:9092', 'kafka-2:19092'], format: 'dts-avro', compression: 'gzip', partitionPolicy: 'keyHash' });
    expect(c.destination.kafka?.sasl?.password).toBe('kafka-pass-XYZ');
    expect(c.objects[0]).toMatchObject({ table: 'orders', partitionKey: ['customer_id'], partitions: 6 });
    expect(c.retry).toEqual({ connectionMinutes: 60, otherMinutes: 15, autoRestartWithinDays: 7 });
    expect(c.throttle.full).toEqual({ sourceQps: 500, mbps: 20 });
  });

  it('loads the mongodb → kafka JSON fixture', async () => {
    const c = await loadTaskConfig(fixture('mongodb-kafka.json'), { env });
    expect(c.source).toMatchObject({ type: 'mongodb', uri: 'mongodb://reader:mongo-pass-XYZ@127.0.0.1:27017/?replicaSet=rs0', method: 'changeStreams', fullDocument: 'updateLookup' });
    expect(c.destination.kafka?.format).toBe('canal-json');
    expect(c.fullSync.onlyOneIdType).toBe(true);
  });

  it('reports every mistake of the bad fixture at once, with paths, fixes and no secret', async () => {
    const err = await catchAsync(loadTaskConfig(fixture('bad.yaml'), { env }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.retriable).toBe(false);
    expect(err.issues.map((i) => i.path).sort()).toEqual(
      [
        'name',
        'destination.kafka.compression',
        'destination.kafka.format',
        // A sharded cluster read by oplog cannot use SSL (seed 000).
        'source.encryption',
        'retry.otherMinutes',
        'throttle.incremental.rps',
        'objects[0].database',
        'objects[1].table',
      ].sort(),
    );
    for (const i of err.issues) expect(i.fix, i.path).toBeTruthy();
    expect(err.message).toContain('has 8 problems');
    expect(err.message).toContain('bad.yaml');
    const everything = JSON.stringify({ m: err.message, i: err.issues, j: err.toJSON() });
    expect(everything).not.toContain('hunter2-Secret');
  });

  it('reports a missing file', async () => {
    const err = await catchAsync(loadTaskConfig(fixture('nope.yaml')));
    expect(err.issues[0]?.message).toContain('ENOENT');
  });
});

describe('secrets never leak into errors', () => {
  it('does not echo a password given with the wrong type or beside other mistakes', () => {
    const text = [
      'name: t',
      'source: { type: postgres, host: h, database: d, password: "S3cr3t-Pa55" }',
      'destination: { kafka: { brokers: k, topic: t, sasl: { mechanism: md5, username: u, password: "Sasl-S3cr3t" } } }',
      'objects: [{ table: a, filter: "x = \'S3cr3t-Pa55\'; drop" }]',
    ].join('\n');
    const err = catchConfigError(() => parseTaskConfig(text, { env: {} }));
    expect(err.issues.map((i) => i.path).sort()).toEqual(['destination.kafka.sasl.mechanism', 'objects[0].filter']);
    expect(err.message).not.toContain('S3cr3t-Pa55');
    expect(err.message).not.toContain('Sasl-S3cr3t');
  });

  it('does not leak a URI password in messages', () => {
    const text = 'name: t\nsource: { type: mongodb, uri: "mongodb://u:UriPass99@h:27017", encryption: tls }\ndestination: { kafka: { brokers: k, topic: t } }\nobjects: [{ database: app }]\n';
    const err = catchConfigError(() => parseTaskConfig(text, { env: {} }));
    expect(err.issues.map((i) => i.path)).toEqual(['source.encryption']);
    expect(err.message).not.toContain('UriPass99');
  });

  it('does not leak secrets from a YAML syntax error line', () => {
    const err = catchConfigError(() => parseTaskConfig('name: t\nsource:\n  password: "Hidden-Pw\n  type: postgres\n', { env: {} }));
    expect(err.message).not.toContain('Hidden-Pw');
  });
});

describe('syntax errors', () => {
  it('reports YAML errors with line and column', () => {
    const text = 'name: t\nsource:\n  type: postgres\n host: bad-indent\n';
    const err = catchConfigError(() => parseTaskConfig(text, { format: 'yaml', env: {} }));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]?.message).toMatch(/^YAML syntax error at line 4, column \d+: /);
  });

  it('reports duplicate YAML keys', () => {
    const err = catchConfigError(() => parseTaskConfig('name: a\nname: b\n', { env: {} }));
    expect(err.issues[0]?.message).toMatch(/^YAML syntax error at line 2, column 1: /);
    expect(err.issues[0]?.fix).toBe('Remove the repeated key.');
  });

  it('reports JSON errors with line and column', () => {
    const err = catchConfigError(() => parseTaskConfig('{\n  "name": "t",\n  "source": }\n', { format: 'json', env: {} }));
    expect(err.issues[0]?.message).toMatch(/^JSON syntax error at line 3, column 13: /);
  });

  it('rejects a document that is not a mapping', () => {
    const err = catchConfigError(() => parseTaskConfig('- a\n- b\n', { env: {} }));
    expect(err.issues[0]?.message).toBe('the task config must be a mapping of options');
  });
});
