import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Row } from '../../../../src/core/events.js';
import { lines, orders } from '../../formats/cases.js';
import { OversizedRecordError } from '../../../../src/core/errors.js';
import { SequencePosition } from '../../../../src/core/position.js';
import { createCanalJson } from '../../../../src/formats/index.js';
import { BatchEncoder } from '../../../../src/sinks/kafka/batchEncoder.js';
import { NEW_KEY_HEADER, OLD_KEY_HEADER } from '../../../../src/sinks/kafka/index.js';
import { Router } from '../../../../src/sinks/kafka/routing.js';

let pos = 1n;
function ev(op: ChangeEvent['op'], before: Row | null, after: Row | null, shape = orders): ChangeEvent {
  pos += 1n;
  return { op, shape, snapshot: false, before, after, commitTime: 1_700_000_000_000, position: new SequencePosition(pos), bytes: 40 };
}

function encoder(partitions: Map<string, number>, maxMessageBytes = 1_000_000, documents = false): BatchEncoder {
  let seq = 0;
  return new BatchEncoder({
    format: createCanalJson(),
    documents,
    sourceName: 'postgresql',
    maxMessageBytes,
    router: new Router({ topic: 't', policy: 'keyHash', routeFor: (ref) => (ref.table === 'orders' ? { topic: 'orders' } : undefined) }),
    partitions,
    nextSequence: () => ++seq,
    capacity: 1024,
  });
}

/** Value text of message `n` of an encoded batch. */
function valueOf(enc: ReturnType<BatchEncoder['resolve']>, n: number): string {
  return enc.data.view(enc.meta[n * 6 + 3] as number, enc.meta[n * 6 + 4] as number).toString();
}

describe('BatchEncoder', () => {
  it('encodes each event as it is added, counts heartbeats without encoding them, grows past its first buffers', () => {
    const e = encoder(new Map([['orders', 3]]));
    for (let i = 0; i < 300; i++) e.add(ev('insert', null, { id: String(i), status: 'x'.repeat(20) }));
    e.add(ev('heartbeat', null, null));
    expect(e.added).toBe(301);
    expect(e.count).toBe(300);
    const enc = e.resolve();
    expect(enc.count).toBe(300);
    expect([...enc.byTopic.keys()]).toEqual(['orders']);
    expect(JSON.parse(valueOf(enc, 299)).data[0].id).toBe('299');
    for (let n = 0; n < 300; n++) expect(enc.meta[n * 6]).toBeGreaterThanOrEqual(0);
    for (let n = 0; n < 300; n++) expect(enc.meta[n * 6]).toBeLessThan(3);
    expect(e.bytes).toBeGreaterThan(300 * 100);
  });

  it('routes messages of a topic whose partition count is unknown at resolve(), by the same key hash', () => {
    const partitions = new Map<string, number>();
    const late = encoder(partitions);
    const known = encoder(new Map([['orders', 7]]));
    for (let i = 0; i < 50; i++) {
      const event = ev('insert', null, { id: String(i * 13), status: 'a' });
      late.add(event);
      known.add(event);
    }
    expect(late.unknownTopics()).toEqual(['orders']);
    expect(known.unknownTopics()).toEqual([]);
    partitions.set('orders', 7);
    const a = late.resolve();
    const b = known.resolve();
    const parts = (enc: typeof a) => Array.from({ length: 50 }, (_, n) => enc.meta[n * 6]);
    expect(parts(a)).toEqual(parts(b));
    expect(new Set(parts(a)).size).toBeGreaterThan(1);
    expect(late.unknownTopics()).toEqual([]);
  });

  it('writes a key-changing update as a delete and an insert, each with the other key in a header', () => {
    const e = encoder(new Map([['orders', 1]]));
    e.add(ev('update', { id: '1', status: 'a' }, { id: '2', status: 'a' }));
    const enc = e.resolve();
    expect(enc.count).toBe(2);
    expect(JSON.parse(valueOf(enc, 0)).type).toBe('DELETE');
    expect(JSON.parse(valueOf(enc, 1)).type).toBe('INSERT');
    expect(enc.headers?.get(0)).toEqual({ [NEW_KEY_HEADER]: '["2"]' });
    expect(enc.headers?.get(1)).toEqual({ [OLD_KEY_HEADER]: '["1"]' });
  });

  it('keeps order around key changes, splitting only relational updates that changed their key', () => {
    const e = encoder(new Map([['orders', 1], ['t', 1]]));
    e.add(ev('insert', null, { id: '1', status: 'a' }));
    e.add(ev('update', { id: '1', status: 'a' }, { id: '2', status: 'a' }));
    e.add(ev('update', { id: '2', status: 'a' }, { id: '2', status: 'b' }));
    e.add(ev('update', { order_id: '1', line_no: 1 }, { order_id: '2', line_no: 1 }, lines));
    const enc = e.resolve();
    const got = Array.from({ length: enc.count }, (_, n) => {
      const m = JSON.parse(valueOf(enc, n)) as { type: string; data: Array<Record<string, unknown>> };
      return `${m.type}:${JSON.stringify(m.data[0])}`;
    });
    expect(got).toEqual([
      'INSERT:{"id":"1","status":"a"}',
      'DELETE:{"id":"1","status":"a"}',
      'INSERT:{"id":"2","status":"a"}',
      'UPDATE:{"id":"2","status":"b"}',
      'DELETE:{"order_id":"1","line_no":"1"}',
      'INSERT:{"order_id":"2","line_no":"1"}',
    ]);
    // Documents (MongoDB) are never split: `_id` cannot change.
    const docs = encoder(new Map([['t', 1]]), 1_000_000, true);
    docs.add(ev('update', { _id: 1, v: 'a' }, { _id: 2, v: 'a' }, { ref: { database: 'db', table: 'c' }, columns: [], key: ['_id'] }));
    expect(docs.count).toBe(1);
  });

  it('refuses a message over maxMessageBytes naming the table, the key and the size', () => {
    const e = encoder(new Map([['orders', 1]]), 500);
    e.add(ev('insert', null, { id: '1', status: 'small' }));
    expect(() => e.add(ev('insert', null, { id: '42', status: 'y'.repeat(1000) }))).toThrow(OversizedRecordError);
    const add43 = () => e.add(ev('insert', null, { id: '43', status: 'y'.repeat(1000) }));
    expect(add43).toThrow(/public\.orders/);
    expect(add43).toThrow('["43"]');
    expect(add43).toThrow(/encodes to \d+ bytes, over the 500-byte message limit/);
    // What was added before stays encoded; the refused message left nothing behind.
    expect(e.count).toBe(1);
  });
});
