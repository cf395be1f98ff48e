import { describe, expect, it } from 'vitest';
import { createShareplexJson } from '../../../src/formats/shareplex-json.js';
import { golden } from './golden.js';
import { mongoCases, mongoCtx, pgCases, pgCtx } from './cases.js';

const fmt = createShareplexJson();

describe('shareplex-json golden', () => {
  for (const [name, e] of Object.entries(pgCases)) {
    it(`postgres ${name}`, () => {
      golden(`shareplex-json/postgres-${name}.json`, `${fmt.encode(e, pgCtx()).value.toString('utf8')}\n`);
    });
  }
  for (const [name, e] of Object.entries(mongoCases)) {
    it(`mongodb ${name}`, () => {
      golden(`shareplex-json/mongodb-${name}.json`, `${fmt.encode(e, mongoCtx()).value.toString('utf8')}\n`);
    });
  }
});

describe('shareplex-json semantics', () => {
  it('meta fields, changed columns and before key for updates', () => {
    const r = fmt.encode(pgCases['update-changed']!, pgCtx());
    const m = JSON.parse(r.value.toString());
    expect(m.meta).toEqual({
      time: '2024-05-06T07:08:07', userid: null, op: 'upd', scn: '0/16B3800', rowid: '["1001"]', trans: '746',
      seq: 2, size: 3, table: 'public.orders', idx: '2/3', posttime: '2024-05-06T07:08:09',
    });
    expect(m.data).toEqual({ status: 'paid', note: 'card "visa"' });
    expect(m.key).toEqual({ id: '1001' });
    expect(r.key?.toString()).toBe('["1001"]');
  });

  it('inserts carry the new row, deletes the deleted row, no key member', () => {
    const ins = JSON.parse(fmt.encode(pgCases.insert!, pgCtx()).value.toString());
    expect(ins.meta.op).toBe('ins');
    expect(ins.data).toEqual({ id: '1001', status: 'new', amount: '19.99', note: null });
    expect(ins.key).toBeUndefined();
    const del = JSON.parse(fmt.encode(pgCases.delete!, pgCtx()).value.toString());
    expect(del.meta.op).toBe('del');
    expect(del.data).toEqual({ id: '1002' });
  });
});
