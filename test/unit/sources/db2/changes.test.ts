import { describe, expect, it } from 'vitest';
import { holdBack, pairRows, parseCdRow, utcMillis, type CdRow } from '../../../../src/sources/db2/changes.js';
import type { CdLayout } from '../../../../src/sources/db2/dialect.js';
import { classify } from '../../../../src/sources/db2/values.js';

const ID = classify({ name: 'ID', typeName: 'INTEGER', length: 4, scale: 0, nullable: false, codepage: 0 });
const V = classify({ name: 'V', typeName: 'VARCHAR', length: 10, scale: 0, nullable: true, codepage: 1208 });
const layout: CdLayout = { cd: { schema: 'S', table: 'CDT' }, values: [ID, V], beforeImages: [{ column: V, cdName: 'XV' }] };
const noBefore: CdLayout = { ...layout, beforeImages: [] };

function row(commit: number, intent: number, op: string, id: number, v: string | null, xv: string | null = null): CdRow {
  const hex = (n: number) => n.toString(16).padStart(32, '0');
  return parseCdRow({ IBMSNAP_COMMITSEQ: hex(commit), IBMSNAP_INTENTSEQ: hex(intent), IBMSNAP_OPERATION: op, IBMSNAP_LOGMARKER: '2024-01-02-03.04.05.678901', ID: id, V: v, XV: xv });
}

describe('change-data rows → changes', () => {
  it('pairs a delete followed by an insert of the same commit into one update with the before image', () => {
    const out = pairRows([row(10, 1, 'D', 1, 'old'), row(10, 1, 'I', 1, 'new')], noBefore, true);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ op: 'update', before: { ID: 1, V: 'old' }, after: { ID: 1, V: 'new' } });
    expect(out[0]?.intent.toString('hex')).toBe((1).toString(16).padStart(32, '0'));
  });

  it('pairs a delete and insert with consecutive intents, and a key change keeps both keys', () => {
    const out = pairRows([row(10, 1, 'D', 1, 'a'), row(10, 2, 'I', 2, 'a')], noBefore, true);
    expect(out).toEqual([expect.objectContaining({ op: 'update', before: { ID: 1, V: 'a' }, after: { ID: 2, V: 'a' } })]);
    expect(out[0]?.intent.readUInt8(15)).toBe(2);
  });

  it('leaves a delete and an insert of different commits, or of a registration without CHG_UPD_TO_DEL_INS, apart', () => {
    expect(pairRows([row(10, 1, 'D', 1, 'a'), row(11, 2, 'I', 1, 'b')], noBefore, true).map((c) => c.op)).toEqual(['delete', 'insert']);
    expect(pairRows([row(10, 1, 'D', 1, 'a'), row(10, 2, 'I', 1, 'b')], noBefore, false).map((c) => c.op)).toEqual(['delete', 'insert']);
    expect(pairRows([row(10, 1, 'I', 1, 'a'), row(10, 2, 'D', 1, 'a'), row(10, 3, 'D', 2, 'b')], noBefore, true).map((c) => c.op)).toEqual(['insert', 'delete', 'delete']);
  });

  it('reads a U row with its before-image columns, or without a before image when the registration has none', () => {
    expect(pairRows([row(10, 1, 'U', 1, 'new', 'old')], layout, false)[0]).toMatchObject({ op: 'update', before: { V: 'old' }, after: { ID: 1, V: 'new' } });
    expect(pairRows([row(10, 1, 'U', 1, 'new')], noBefore, false)[0]).toMatchObject({ op: 'update', before: null, after: { ID: 1, V: 'new' } });
  });

  it('never cuts a page between the two rows of a pair: a full page ending in a delete leaves it for the next one', () => {
    const page = [row(10, 1, 'I', 1, 'a'), row(10, 2, 'D', 1, 'a')];
    expect(holdBack(page, true, true)).toBe(1);
    expect(holdBack(page, false, true)).toBe(2);
    expect(holdBack(page, true, false)).toBe(2);
    expect(holdBack([row(10, 2, 'D', 1, 'a')], true, true)).toBe(1);
  });

  it('reads Capture timestamps in Db2 and ISO form as UTC', () => {
    expect(utcMillis('2024-01-02-03.04.05.678901')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    expect(utcMillis('2024-01-02 03:04:05')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(utcMillis(null)).toBeNull();
    expect(utcMillis('soon')).toBeNull();
  });

  it('refuses an unknown operation', () => {
    expect(() => parseCdRow({ IBMSNAP_COMMITSEQ: '00', IBMSNAP_INTENTSEQ: '00', IBMSNAP_OPERATION: 'X' })).toThrow(/IBMSNAP_OPERATION/);
  });
});
