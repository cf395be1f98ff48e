import { describe, expect, it } from 'vitest';
import { compileSqlWhere, parseSqlWhere } from '../../../../src/operators/filters/sqlWhere.js';
import { FilterSyntaxError } from '../../../../src/operators/filters/FilterSyntaxError.js';
import { FatalError } from '../../../../src/core/errors.js';

const m = (where: string, row: Record<string, unknown>): boolean => compileSqlWhere(where)(row);

describe('sqlWhere', () => {
  it('comparison operators on numbers', () => {
    expect(m('id = 5', { id: 5 })).toBe(true);
    expect(m('id != 5', { id: 5 })).toBe(false);
    expect(m('id <> 5', { id: 6 })).toBe(true);
    expect(m('id < 5', { id: 4 })).toBe(true);
    expect(m('id <= 5', { id: 5 })).toBe(true);
    expect(m('id > 5', { id: 5 })).toBe(false);
    expect(m('id >= 5', { id: 5 })).toBe(true);
    expect(m('5 < id', { id: 6 })).toBe(true);
    expect(m('amount > -1.5', { amount: -1 })).toBe(true);
  });

  it('compares int8 and numeric exactly, as bigint or text', () => {
    expect(m('id > 9007199254740992', { id: 9007199254740993n })).toBe(true);
    expect(m('id = 9007199254740993', { id: 9007199254740993n })).toBe(true);
    expect(m('id = 9007199254740993', { id: '9007199254740992' })).toBe(false);
    expect(m('price = 10.50', { price: '10.5' })).toBe(true);
    expect(m('price > 0.1', { price: '0.10000000000000000001' })).toBe(true);
    expect(m('price < 100', { price: '99.999999999999999999' })).toBe(true);
    expect(m('price >= 1e3', { price: '1000' })).toBe(true);
    expect(m('price > 2.5', { price: 3n })).toBe(true);
    expect(m('price > 0.1', { price: 0.1 })).toBe(false);
    // short numeric text takes the double fast path; it must agree with exact comparison
    expect(m('price = 0.1', { price: '0.1' })).toBe(true);
    expect(m('price < 0.30000000000000004', { price: '0.3' })).toBe(true);
    expect(m('x > 123456789012345', { x: '123456789012346' })).toBe(true);
    expect(m('x = 1', { x: '1.0' })).toBe(true);
    expect(m('x < 0', { x: '-0.5' })).toBe(true);
  });

  it('strings, dates and booleans', () => {
    expect(m("name = 'O''Brien'", { name: "O'Brien" })).toBe(true);
    expect(m("name > 'b'", { name: 'c' })).toBe(true);
    expect(m("created >= '2024-01-01'", { created: new Date('2024-06-01T00:00:00Z') })).toBe(true);
    expect(m("created >= '2024-01-01'", { created: new Date('2023-06-01T00:00:00Z') })).toBe(false);
    expect(m('active = TRUE', { active: true })).toBe(true);
    expect(m('active', { active: false })).toBe(false);
    expect(m('NOT active', { active: false })).toBe(true);
  });

  it('AND, OR, NOT and parentheses with the usual precedence', () => {
    const w = "status = 'paid' OR status = 'sent' AND amount > 10";
    expect(m(w, { status: 'paid', amount: 1 })).toBe(true);
    expect(m(w, { status: 'sent', amount: 1 })).toBe(false);
    expect(m("(status = 'paid' OR status = 'sent') AND amount > 10", { status: 'paid', amount: 1 })).toBe(false);
    expect(m("(status = 'paid' OR status = 'sent') AND amount > 10", { status: 'paid', amount: 11 })).toBe(true);
    expect(m("NOT (status = 'paid' or status = 'sent')", { status: 'new' })).toBe(true);
  });

  it('IN, NOT IN, BETWEEN, LIKE, ILIKE, IS [NOT] NULL', () => {
    expect(m('id IN (1, 2, 3)', { id: 2 })).toBe(true);
    expect(m('id NOT IN (1, 2, 3)', { id: 2 })).toBe(false);
    expect(m("code in ('a','b')", { code: 'c' })).toBe(false);
    expect(m('id BETWEEN 10 AND 20', { id: '20' })).toBe(true);
    expect(m('id NOT BETWEEN 10 AND 20', { id: 21 })).toBe(true);
    expect(m("name LIKE 'Jo%n_'", { name: 'Johnnie' })).toBe(false);
    expect(m("name LIKE 'Jo%n_'", { name: 'Jonny' })).toBe(true);
    expect(m("name LIKE '100\\%'", { name: '100%' })).toBe(true);
    expect(m("name LIKE '100\\%'", { name: '1000' })).toBe(false);
    expect(m("name ILIKE 'jo%'", { name: 'JOE' })).toBe(true);
    expect(m("name NOT LIKE 'a.%'", { name: 'abc' })).toBe(true);
    expect(m('x IS NULL', { x: null })).toBe(true);
    expect(m('x IS NULL', {})).toBe(true);
    expect(m('x IS NOT NULL', { x: 0 })).toBe(true);
  });

  it('three-valued logic: NULL comparisons are unknown, NOT unknown stays unknown', () => {
    expect(m('x = 1', { x: null })).toBe(false);
    expect(m('NOT (x = 1)', { x: null })).toBe(false);
    expect(m('x = 1 OR y = 2', { x: null, y: 2 })).toBe(true);
    expect(m('x NOT IN (1, NULL)', { x: 2 })).toBe(false);
    expect(m('x = NULL', { x: null })).toBe(false);
  });

  it('resolves unquoted names case-insensitively against the columns, quoted names exactly', () => {
    const cols = [{ name: 'UserId', type: 'int4' }];
    expect(compileSqlWhere('userid = 1', cols)({ UserId: 1 })).toBe(true);
    expect(() => compileSqlWhere('"userid" = 1', cols, 'db.s.t')).toThrow(/db\.s\.t.*unknown column 'userid'/s);
    expect(() => compileSqlWhere('nope = 1', cols, 'db.s.t')).toThrow(FilterSyntaxError);
  });

  it('syntax errors name the table and the position', () => {
    const cases: [string, number, RegExp][] = [
      ['id = ', 6, /expected a column or a value but found end of expression/],
      ['id = 1 AND', 11, /expected a column or a value/],
      ["name = 'abc", 8, /unterminated string literal/],
      ['(id = 1', 8, /expected '\)'/],
      ['id = 1 id = 2', 8, /unexpected 'id'/],
      ['id ~ 1', 4, /unexpected character '~'/],
      ['id BETWEEN 1 OR 2', 14, /expected AND/],
      ['', 1, /empty/],
    ];
    for (const [text, position, msg] of cases) {
      let err: unknown;
      try {
        parseSqlWhere(text, 'shop.public.orders');
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(FilterSyntaxError);
      expect(err).toBeInstanceOf(FatalError);
      const fe = err as FilterSyntaxError;
      expect(fe.message).toContain('shop.public.orders');
      expect(fe.message).toMatch(msg);
      expect(fe.position + 1, text).toBe(position);
      expect(fe.message).toContain(`at position ${position}`);
      expect(fe.object).toBe('shop.public.orders');
      expect(fe.code).toBe('FILTER_INVALID');
    }
  });
});
