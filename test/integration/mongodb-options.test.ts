/**
 * MongoDB connection options from the task config through the default registry to the substitutes
 * (issue 15): hosts/replicaSet/authDatabase/user build the connection, a uri keeps what it does not
 * say, and the declared architecture is checked against the server by the prechecks.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PrecheckItem, Sink, Source } from '../../src/core/contracts.js';
import { validateTaskConfig } from '../../src/config/index.js';
import type { ComponentContext } from '../../src/runtime/registry.js';
import { planObjects } from '../../src/runtime/objects.js';
import { defaultRegistry } from '../../src/runtime/defaults.js';
import { MongoSink } from '../../src/sinks/mongodb/writer.js';

const RS_HOST = (process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0').replace(/^mongodb:\/\/([^/?]+).*$/, '$1');
const DEST_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function build(source: Record<string, unknown>, destination?: Record<string, unknown>): { source: Source; sink: Sink } {
  const config = validateTaskConfig(
    {
      name: 'mongo-options',
      source: { type: 'mongodb', ...source },
      destination: destination ? { mongodb: destination } : { kafka: { brokers: ['127.0.0.1:1'], topic: 't' } },
      objects: [{ database: 'trib_mongo_options', collection: 'c' }],
    },
    { env: {} },
  );
  const ctx = { config, plan: planObjects(config), selector: { selectsTable: () => true }, logger: quiet, registry: defaultRegistry() } as unknown as ComponentContext;
  const registry = defaultRegistry();
  const src = registry.source('mongodb')(ctx);
  return { source: src, sink: registry.sink(destination ? 'mongodb' : 'kafka')(ctx, src) };
}

const item = (items: readonly PrecheckItem[], id: string) => items.find((i) => i.id === id);

async function sourcePrecheck(source: Record<string, unknown>): Promise<PrecheckItem[]> {
  const { source: s } = build(source);
  try {
    return await s.precheck();
  } finally {
    await s.close?.().catch(() => undefined);
  }
}

describe('MongoDB connection options through the registry (substitutes)', () => {
  it('source.hosts with replicaSet connects to the replica set the options name; another replicaSet never connects', async () => {
    const ok = await sourcePrecheck({ hosts: [RS_HOST], replicaSet: 'rs0', method: 'changeStreams' });
    expect(item(ok, 'source.connect')?.status).toBe('pass');
    expect(item(ok, 'source.topology')?.detail).toBe('replica set rs0');
    const wrong = await sourcePrecheck({ hosts: [RS_HOST], replicaSet: 'not-rs0', method: 'changeStreams' });
    expect(item(wrong, 'source.connect')?.status).toBe('fail');
  }, 30_000);

  it('source.uri without replicaSet takes source.replicaSet: a wrong one is not dropped but fails the connection', async () => {
    const wrong = await sourcePrecheck({ uri: `mongodb://${RS_HOST}/`, replicaSet: 'not-rs0', method: 'changeStreams' });
    expect(item(wrong, 'source.connect')?.status).toBe('fail');
    expect(item(wrong, 'source.connect')?.detail).toMatch(/timed out|replica set/i);
  }, 30_000);

  it('source.user and password reach the driver: it authenticates (the substitute has no SASL), without them it does not', async () => {
    const withUser = await sourcePrecheck({ hosts: [RS_HOST], replicaSet: 'rs0', user: 'reader', password: 'pw', method: 'changeStreams' });
    expect(item(withUser, 'source.connect')?.status).toBe('fail');
    expect(item(withUser, 'source.connect')?.detail).toMatch(/saslStart/);
  }, 30_000);

  it('source.architecture: "shardedCluster" against a replica set fails the precheck, naming it; "replicaSet" passes', async () => {
    const sharded = await sourcePrecheck({ hosts: [RS_HOST], replicaSet: 'rs0', architecture: 'shardedCluster', method: 'changeStreams' });
    expect(item(sharded, 'source.architecture')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/"shardedCluster" but the server is a replica set member \(rs0\), not mongos/) });
    const rs = await sourcePrecheck({ hosts: [RS_HOST], replicaSet: 'rs0', method: 'changeStreams' });
    expect(item(rs, 'source.architecture')).toMatchObject({ status: 'pass', detail: 'replicaSet' });
  }, 30_000);

  it('destination.mongodb.architecture: "shardedCluster" against a server that is not mongos fails the destination precheck', async () => {
    const run = async (architecture: string) => {
      const { source, sink } = build({ hosts: [RS_HOST], replicaSet: 'rs0', method: 'changeStreams' }, { uri: DEST_URI, architecture });
      try {
        return await sink.precheck();
      } finally {
        await sink.close?.().catch(() => undefined);
        await source.close?.().catch(() => undefined);
      }
    };
    expect(item(await run('shardedCluster'), 'mongodb.destination.architecture')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/"shardedCluster" but the server is not mongos/) });
    expect(item(await run('replicaSet'), 'mongodb.destination.architecture')).toMatchObject({ status: 'pass' });
  }, 30_000);

  it('destination.mongodb.hosts connects to the destination; user and password reach its driver', async () => {
    const run = async (dst: Record<string, unknown>) => {
      const { source, sink } = build({ hosts: [RS_HOST], replicaSet: 'rs0', method: 'changeStreams' }, dst);
      try {
        return await sink.precheck();
      } catch (err) {
        return (err as Error).message;
      } finally {
        await sink.close?.().catch(() => undefined);
        await source.close?.().catch(() => undefined);
      }
    };
    const destHost = DEST_URI.replace(/^mongodb:\/\/([^/?]+).*$/, '$1');
    const ok = await run({ hosts: [destHost] });
    expect(typeof ok === 'string' ? ok : item(ok, 'mongodb.destination.architecture')?.status).toBe('pass');
    const withUser = await run({ hosts: [destHost], user: 'writer', password: 'pw' });
    expect(JSON.stringify(withUser)).toMatch(/saslStart/);
  }, 30_000);

  it('source.caCert and destination.mongodb.caCert given as a path reach the driver as the file\'s PEM text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-mongo-ca-'));
    try {
      const file = join(dir, 'ca.pem');
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      writeFileSync(file, pem);
      const { source, sink } = build({ hosts: [RS_HOST], method: 'changeStreams', encryption: 'ssl', caCert: file }, { uri: DEST_URI, encryption: 'ssl', caCert: file });
      expect((source as unknown as { opts: { clientOptions?: { ca?: unknown } } }).opts.clientOptions?.ca).toBe(pem);
      expect((sink as unknown as { opts: { clientOptions?: { ca?: unknown } } }).opts.clientOptions?.ca).toBe(pem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('destination.mongodb.replay: "singleThread" replays through one lane, "concurrent" through eight', () => {
    const lanes = (replay: string) => {
      const { sink } = build({ hosts: [RS_HOST], method: 'changeStreams' }, { uri: DEST_URI, replay });
      expect(sink).toBeInstanceOf(MongoSink);
      return (sink as unknown as { parallelism: number }).parallelism;
    };
    expect(lanes('singleThread')).toBe(1);
    expect(lanes('concurrent')).toBe(8);
  });
});
