import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../../../src/core/events.js';
import { SequencePosition } from '../../../../src/core/position.js';
import { ackValue, connectError, messageSize, redactSecret, skipThrough, splitBySize, type AckMode } from '../../../../src/sinks/kafka/index.js';

describe('ackValue', () => {
  it('maps none/leader/all to acks 0/1/-1', () => {
    expect((['none', 'leader', 'all'] as AckMode[]).map(ackValue)).toEqual([0, 1, -1]);
  });
  it('rejects unknown modes naming the field', () => {
    expect(() => ackValue('quorum' as AckMode)).toThrow(/unknown acknowledgement mode 'quorum'/);
  });
});

describe('splitBySize', () => {
  const msg = (n: number, key = 'k') => ({ key, value: Buffer.alloc(n) });
  it('keeps order and fills each request up to the limit, counting key and per-record overhead', () => {
    const size = messageSize(msg(100));
    expect(size).toBe(64 + 1 + 100);
    const parts = splitBySize([{ topic: 'a', messages: [msg(100), msg(100), msg(100)] }, { topic: 'b', messages: [msg(100), msg(100)] }], size * 2);
    expect(parts.map((p) => p.map((t) => `${t.topic}:${t.messages.length}`))).toEqual([['a:2'], ['a:1', 'b:1'], ['b:1']]);
  });
  it('gives a message over the limit a request of its own and never returns empty requests', () => {
    const parts = splitBySize([{ topic: 'a', messages: [msg(10), msg(5000), msg(10)] }], 1000);
    expect(parts.map((p) => p.map((t) => t.messages.map((m) => (m.value as Buffer).length)))).toEqual([[[10]], [[5000]], [[10]]]);
  });
  it('one request when everything fits', () => {
    const parts = splitBySize([{ topic: 'a', messages: [msg(10), msg(10)] }], 10_000);
    expect(parts).toHaveLength(1);
  });
  it('counts headers', () => {
    expect(messageSize({ key: null, value: Buffer.alloc(10), headers: { h: 'xyz' } })).toBe(64 + 10 + 1 + 3);
  });
});

describe('skipThrough', () => {
  const shape = { ref: { database: 'd', table: 't' }, columns: [], key: [] };
  const ev = (p: number, snapshot = false): ChangeEvent => ({ op: 'insert', shape, snapshot, after: {}, commitTime: 0, position: new SequencePosition(BigInt(p)), bytes: 1 });
  const run = (events: ChangeEvent[], at: number | null) =>
    lastValueFrom(from(events).pipe(skipThrough(at === null ? null : new SequencePosition(BigInt(at))), toArray())).then((xs) => xs.map((e) => `${e.snapshot ? 's' : ''}${e.position.encode()}`));

  it('drops events at or before the committed position and passes the rest', async () => {
    expect(await run([1, 2, 3, 4, 5].map((p) => ev(p)), 3)).toEqual(['4', '5']);
  });
  it('passes everything without a position', async () => {
    expect(await run([1, 2].map((p) => ev(p)), null)).toEqual(['1', '2']);
  });
  it('drops everything when the replay ends before the position', async () => {
    expect(await run([1, 2].map((p) => ev(p)), 9)).toEqual([]);
  });
  it('snapshot events pass untouched', async () => {
    expect(await run([ev(1, true), ev(2), ev(3)], 2)).toEqual(['s1', '3']);
  });
});

describe('SASL errors', () => {
  it('name brokers, mechanism and user but never the password', () => {
    const password = 's3cr3t-pw';
    const cause = Object.assign(new Error(`SASL SCRAM SHA256 authentication failed: bad password ${password}`), { name: 'KafkaJSSASLAuthenticationError' });
    const e = connectError(cause, { brokers: ['k1:9094', 'k2:9094'], sasl: { mechanism: 'scram-sha-256', username: 'dts', password } });
    expect(e.code).toBe('DESTINATION_AUTH_FAILED');
    expect(e.kind).toBe('connection');
    expect(e.message).toContain('k1:9094,k2:9094');
    expect(e.message).toContain('SCRAM-SHA-256');
    expect(e.message).toContain("'dts'");
    expect(e.message).not.toContain(password);
    expect(e.describe()).not.toContain(password);
    expect(e.cause).toBeUndefined();
  });
  it('an unreachable broker names the mechanism too', () => {
    const e = connectError(Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' }), { brokers: ['k1:9094'], sasl: { mechanism: 'plain', username: 'u', password: 'p-w' } });
    expect(e.code).toBe('DESTINATION_UNREACHABLE');
    expect(e.message).toContain('SASL PLAIN');
  });
  it('redactSecret replaces every occurrence', () => {
    expect(redactSecret('a pw b pw', 'pw')).toBe('a *** b ***');
    expect(redactSecret('a pw', undefined)).toBe('a pw');
  });
});
