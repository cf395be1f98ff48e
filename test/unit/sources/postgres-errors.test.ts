import { describe, expect, it } from 'vitest';
import { FatalError } from '../../../src/core/errors.js';
import { classifyPgError } from '../../../src/sources/postgres/errors.js';
import { PgoutputDecoder } from '../../../src/sources/postgres/pgoutput.js';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('classifyPgError', () => {
  it.each([
    ['08006', 'connection failure', 'connection'],
    ['57P01', 'terminating connection due to administrator command', 'connection'],
    ['40P01', 'deadlock detected', 'other'],
    ['55P03', 'could not obtain lock on relation', 'other'],
    ['53300', 'sorry, too many clients already', 'other'],
    ['42501', 'permission denied for table orders', 'fatal'],
    ['42P01', 'relation "orders" does not exist', 'fatal'],
    ['22P02', 'invalid input syntax for type integer', 'fatal'],
    ['28P01', 'password authentication failed for user "u"', 'fatal'],
    ['XX000', 'internal error', 'fatal'],
  ])('SQLSTATE %s (%s) → %s', (code, message, kind) => {
    const e = classifyPgError(pgError(code, message), 'source');
    expect(e.kind).toBe(kind);
    expect(e.code).toBe(code);
    expect(e.message).toBe(`source: ${message}`);
  });

  it('errors without a SQLSTATE fall back to the generic rules (a reset socket is a connection failure)', () => {
    expect(classifyPgError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'x').kind).toBe('connection');
  });

  it('errors already in the tree pass unchanged', () => {
    const e = new FatalError('X', 'm');
    expect(classifyPgError(e, 'x')).toBe(e);
  });
});

describe('pgoutput protocol invariants', () => {
  it('an unknown message type is a fatal protocol error, never retried', () => {
    let err: unknown;
    try {
      new PgoutputDecoder().decode(Buffer.from('Zxyz'));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'PGOUTPUT_PROTOCOL', kind: 'fatal' });
    expect((err as Error).message).toContain("unknown message type 'Z'");
  });
});
