import avsc from 'avsc';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, FatalError } from '../../../../src/core/errors.js';
import type { ChangeEvent } from '../../../../src/core/events.js';
import { SequencePosition } from '../../../../src/core/position.js';
import { DTS_RECORD_SCHEMA, createDtsAvro } from '../../../../src/formats/index.js';
import { SchemaRegistryFramer } from '../../../../src/sinks/kafka/index.js';
import { startRegistryStandIn, type RegistryStandIn } from './registryStandIn.js';

let registry: RegistryStandIn | null = null;
afterEach(async () => {
  await registry?.close();
  registry = null;
});

const event: ChangeEvent = {
  op: 'insert',
  shape: { ref: { database: 'shop', schema: 'public', table: 'orders' }, columns: [{ name: 'id', type: 'int8', typeId: 20 }, { name: 'note', type: 'text', typeId: 25 }], key: ['id'] },
  snapshot: false,
  after: { id: '42', note: 'hello' },
  commitTime: 1_700_000_000_000,
  position: new SequencePosition(7n),
  bytes: 10,
};

/** Parses a registered DTS schema (a top-level union of named types) and returns its Record type. */
function recordTypeOf(schemaText: string): avsc.Type {
  const reg: Record<string, avsc.Type> = {};
  avsc.Type.forSchema(JSON.parse(schemaText) as avsc.Schema, { registry: reg, wrapUnions: true });
  const t = reg['com.alibaba.dts.formats.avro.Record'];
  if (!t) throw new Error('no Record type');
  return t;
}

describe('SchemaRegistryFramer against a Confluent-API stand-in (not a real registry)', () => {
  it('registers the DTS Avro schema under <topic>-value once and frames values as magic 0 + schema id + Avro', async () => {
    registry = await startRegistryStandIn();
    const framer = new SchemaRegistryFramer({ url: `${registry.url}/`, schema: DTS_RECORD_SCHEMA });
    await framer.prepare(['orders_topic', 'other.topic']);
    await framer.prepare(['orders_topic']);
    expect(registry.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /subjects/orders_topic-value/versions', 'POST /subjects/other.topic-value/versions']);
    expect(registry.requests[0]?.contentType).toBe('application/vnd.schemaregistry.v1+json');
    expect(JSON.parse((JSON.parse(registry.requests[0]?.body ?? '{}') as { schema: string }).schema)).toEqual(DTS_RECORD_SCHEMA);
    const id = framer.idOf('orders_topic');
    expect(id).toBe(1);
    expect(framer.idOf('other.topic')).toBe(1); // same schema, same global id

    const avro = createDtsAvro().encode(event, { now: 1_700_000_000_500, documents: false, sourceName: 'PostgreSQL' }).value;
    const framed = framer.frame('orders_topic', avro);
    expect(framed[0]).toBe(0);
    expect(framed.readInt32BE(1)).toBe(id);
    expect(framed.subarray(5).equals(avro)).toBe(true);

    // A consumer's view: fetch the schema by the id in the message, decode the rest.
    const got = (await (await fetch(`${registry.url}/schemas/ids/${framed.readInt32BE(1)}`)).json()) as { schema: string };
    const rec = recordTypeOf(got.schema).fromBuffer(framed.subarray(5)) as { objectName: { string: string }; operation: string };
    expect(rec.objectName.string).toBe('shop.public.orders');
    expect(String(rec.operation)).toBe('INSERT');
  });

  it('a subject holding an incompatible schema fails with SCHEMA_INCOMPATIBLE naming the subject', async () => {
    registry = await startRegistryStandIn();
    await fetch(`${registry.url}/subjects/busy-value/versions`, { method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: '"string"' }) });
    const framer = new SchemaRegistryFramer({ url: registry.url, schema: DTS_RECORD_SCHEMA });
    const err = await framer.prepare(['busy']).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect((err as FatalError).code).toBe('SCHEMA_INCOMPATIBLE');
    expect((err as FatalError).message).toContain('busy-value');
    expect((err as FatalError).message).toContain('409');
  });

  it('sends basic auth; a wrong password fails without showing it', async () => {
    registry = await startRegistryStandIn({ auth: { username: 'u', password: 'right-pw' } });
    const ok = new SchemaRegistryFramer({ url: registry.url, schema: DTS_RECORD_SCHEMA, auth: { username: 'u', password: 'right-pw' } });
    await ok.prepare(['t']);
    expect(ok.idOf('t')).toBe(1);
    const bad = new SchemaRegistryFramer({ url: registry.url, schema: DTS_RECORD_SCHEMA, auth: { username: 'u', password: 'WRONG-pw-123' } });
    const err = (await bad.prepare(['t']).catch((e: unknown) => e)) as FatalError;
    expect(err.code).toBe('SCHEMA_REGISTRY_AUTH');
    expect(JSON.stringify(err.toJSON())).not.toContain('WRONG-pw-123');
  });

  it('an unreachable registry is a connection error naming the URL', async () => {
    registry = await startRegistryStandIn();
    const url = registry.url;
    await registry.close();
    registry = null;
    const err = (await new SchemaRegistryFramer({ url, schema: DTS_RECORD_SCHEMA }).prepare(['t']).catch((e: unknown) => e)) as ConnectionError;
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toContain(url);
  });

  it('frame() before prepare() is an error', () => {
    expect(() => new SchemaRegistryFramer({ url: 'http://x', schema: {} }).frame('t', Buffer.alloc(1))).toThrow(/prepare/);
  });
});
