import { describe, expect, it } from 'vitest';
import { applyEtlToRow as applyEtl, compileEtl, etlProgramToFunction, EtlSyntaxError } from '../../../src/config/index.js';

const orders = { database: 'shop', schema: 'public', table: 'orders' };
const users = { database: 'shop', schema: 'public', table: 'users' };

describe('ETL language', () => {
  it('sets, drops and filters per table pattern', () => {
    const p = compileEtl(`
      # comment
      on public.orders: set total_cents = round(total * 100); set label = upper(status) || '-' || id
      on *.public.*: drop secret
      on orders: keep when status != 'test' and total is not null
    `);
    expect(p.rules).toHaveLength(4);
    expect(applyEtl(p, orders, { id: 7, total: 1.234, status: 'paid', secret: 'x' })).toEqual({ id: 7, total: 1.234, status: 'paid', total_cents: 123, label: 'PAID-7' });
    expect(applyEtl(p, orders, { id: 8, total: 1, status: 'test' })).toBeNull();
    expect(applyEtl(p, orders, { id: 9, total: null, status: 'paid' })).toBeNull();
    expect(applyEtl(p, users, { id: 1, secret: 's', status: 'test' })).toEqual({ id: 1, status: 'test' });
  });

  it('evaluates functions, null semantics and bigint arithmetic', () => {
    const p = compileEtl(`set a = coalesce(x, 'none'); set b = substr('abcdef', 2, 3); set c = big * 2; set d = length(trim('  hi ')); set e = -(1 + 2) * 3 % 4; set f = "odd name" || 'x'; set g = to_number('12') + 1; set h = x = null`);
    expect(applyEtl(p, orders, { x: null, big: 9007199254740993n, 'odd name': 'o' })).toEqual({ x: null, big: 9007199254740993n, 'odd name': 'o', a: 'none', b: 'bcd', c: 18014398509481986n, d: 2, e: -1, f: 'ox', g: 13, h: null });
  });

  it('a division by zero is an error naming the rule\'s line, never a silent null (as in SQL)', () => {
    const p = compileEtl('set ok = 1\nset ratio = total / qty\nset rest = big % zero');
    expect(() => applyEtl(p, orders, { total: 10, qty: 0, big: 1n, zero: 1n })).toThrow(/division by zero in the ETL rule on line 2/);
    expect(() => applyEtl(p, orders, { total: 10, qty: 2, big: 9007199254740993n, zero: 0n })).toThrow(/division by zero \(%\) in the ETL rule on line 3/);
    expect(applyEtl(p, orders, { total: 10, qty: null, big: 1n, zero: 1n })).toMatchObject({ ratio: null, rest: 0n });
  });

  it('reports syntax errors with line and column', () => {
    expect(() => compileEtl('set a = 1\nset b = (1 + ')).toThrowError(EtlSyntaxError);
    try {
      compileEtl('set a = 1\n  frobnicate x');
    } catch (e) {
      expect(e).toBeInstanceOf(EtlSyntaxError);
      expect((e as EtlSyntaxError).line).toBe(2);
      expect((e as EtlSyntaxError).column).toBe(3);
    }
    expect(() => compileEtl("set a = 'open")).toThrow(/unterminated string/);
    expect(() => compileEtl('set a = upper(1, 2)')).toThrow(/takes 1 argument/);
  });
});

describe('etlProgramToFunction', () => {
  const shape = { ref: orders, columns: [], key: ['id'] };
  const position = { compare: () => 0, encode: () => '0/1' };
  const base = { shape, snapshot: false, commitTime: 1, position, bytes: 10 };
  const fn = etlProgramToFunction(compileEtl("on orders: set t2 = t * 2; drop secret\non orders: keep when status != 'test'"));

  it('rewrites both images of an update and drops filtered events', () => {
    const out = fn({ ...base, op: 'update', before: { id: 1, t: 1, secret: 's', status: 'test' }, after: { id: 1, t: 2, secret: 's', status: 'paid' } });
    expect(out?.after).toEqual({ id: 1, t: 2, t2: 4, status: 'paid' });
    expect(out?.before).toEqual({ id: 1, t: 1, t2: 2, status: 'test' });
    expect(fn({ ...base, op: 'insert', after: { id: 2, t: 1, status: 'test' } })).toBeNull();
    expect(fn({ ...base, op: 'delete', before: { id: 3, t: 1, status: 'paid', secret: 'x' } })?.before).toEqual({ id: 3, t: 1, t2: 2, status: 'paid' });
  });

  it('passes heartbeats through', () => {
    const hb = { ...base, op: 'heartbeat' as const };
    expect(fn(hb)).toBe(hb);
  });
});
