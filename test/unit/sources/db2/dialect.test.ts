/**
 * Golden test of every statement the Db2 source sends, as Db2 for LUW receives it. The golden file
 * (test/fixtures/db2/dialect.golden.sql) is the reviewable record of the dialect: a change to any
 * statement shows up there. Regenerate it with UPDATE_GOLDEN=1 after checking the difference.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DB2, Db2Sql, type CdLayout, type Statement } from '../../../../src/sources/db2/dialect.js';
import { classify, type Db2Column } from '../../../../src/sources/db2/values.js';

const GOLDEN = fileURLToPath(new URL('../../../fixtures/db2/dialect.golden.sql', import.meta.url));

const col = (name: string, typeName: string, length = 0, scale = 0, codepage = 1208, nullable = true): Db2Column =>
  classify({ name, typeName, length, scale, nullable, codepage });

/** One column of every kind the value expressions distinguish. */
const columns: Db2Column[] = [
  col('ID', 'BIGINT', 8, 0, 0, false),
  col('QTY', 'INTEGER', 4),
  col('PRICE', 'DECIMAL', 31, 8),
  col('RATE', 'DECFLOAT', 16),
  col('RATIO', 'DOUBLE', 8),
  col('NAME', 'VARCHAR', 100),
  col('CODE', 'CHARACTER', 4),
  col('TAG', 'VARCHAR', 16, 0, 0),
  col('DOC', 'BLOB', 1048576),
  col('NOTE', 'CLOB', 1048576),
  col('TITLE', 'VARGRAPHIC', 50),
  col('DAY', 'DATE', 4),
  col('AT', 'TIME', 3),
  col('STAMP', 'TIMESTAMP', 13, 12),
  col('SPEC', 'XML', 0),
  col('OK', 'BOOLEAN', 1),
];
const byName = (n: string) => columns.find((c) => c.name === n) as Db2Column;
const layout: CdLayout = {
  cd: { schema: 'DB2INST1', table: 'CDORDERS' },
  values: columns.filter((c) => !c.lob),
  beforeImages: [{ column: byName('PRICE'), cdName: 'XPRICE' }, { column: byName('NAME'), cdName: 'XNAME' }],
};
const seq = (hex: string) => Buffer.from(hex, 'hex');
const table = { schema: 'DB2INST1', table: 'ORDERS' };
const key = [byName('ID')];
const binKey = [byName('CODE'), byName('TAG')];

function statements(): Array<[string, Statement]> {
  const sql = new Db2Sql(DB2, 'ASN');
  return [
    ['serverInfo', sql.serverInfo()],
    ['captureParameters', sql.captureParameters()],
    ['globalProgress', sql.globalProgress()],
    ['restartProgress', sql.restartProgress()],
    ['registrations', sql.registrations()],
    ['pruningControl', sql.pruningControl()],
    ['retainedAtOrBefore', sql.retainedAtOrBefore(layout.cd, seq('0000000000000000000000000000a1b2'))],
    ['authorities', sql.authorities('DB2INST1')],
    ['tables', sql.tables()],
    ['columns', sql.columns('DB2INST1')],
    ['uniqueKeys', sql.uniqueKeys('DB2INST1')],
    ['changes (after a whole commit)', sql.changes(layout, { commit: seq('0000000000000000000000000000a1b2'), intent: null }, seq('0000000000000000000000000000ffee'), 1000)],
    ['changes (inside a commit)', sql.changes(layout, { commit: seq('00000000000000000a1b'), intent: seq('00000000000000000a10') }, seq('0000000000000000ffee'), 500)],
    ['changes (no before images, LOB columns fetched)', sql.changes({ ...layout, values: [byName('ID'), byName('NAME')], beforeImages: [] }, { commit: seq('00'.repeat(16)), intent: null }, seq('ff'.repeat(16)), 2)],
    ['rowByKey', sql.rowByKey(table, [byName('DOC'), byName('NOTE')], key, ['42'])],
    ['rowByKey (binary key)', sql.rowByKey(table, [byName('DOC')], binKey, ['AB  ', { bytes: '00ff10' }])],
    ['keyBoundaries', sql.keyBoundaries(table, key, 50000)],
    ['keyBoundaries (composite key)', sql.keyBoundaries(table, binKey, 50000)],
    ['rangePage (first chunk)', sql.rangePage(table, columns, key, null, ['50000'], 2000)],
    ['rangePage (middle, composite key)', sql.rangePage(table, columns, binKey, ['AB  ', { bytes: '00ff10' }], ['CD  ', { bytes: '01' }], 2000)],
    ['rangePage (last chunk, whole table)', sql.rangePage(table, [byName('ID')], key, null, null, 2000)],
    ['tableExists', sql.tableExists({ schema: 'DB2INST1', table: 'DTS_DB2_HEARTBEAT' })],
    ['createHeartbeatTable', sql.createHeartbeatTable({ schema: 'DB2INST1', table: 'DTS_DB2_HEARTBEAT' })],
    ['beat', sql.beat({ schema: 'DB2INST1', table: 'DTS_DB2_HEARTBEAT' }, 'orders-task', 7)],
    ['deleteHeartbeat', sql.deleteHeartbeat({ schema: 'DB2INST1', table: 'DTS_DB2_HEARTBEAT' }, 'orders-task')],
  ];
}

function render(list: Array<[string, Statement]>): string {
  return `${list.map(([name, s]) => `-- ${name}${s.params.length > 0 ? `\n-- params: ${JSON.stringify(s.params)}` : ''}\n${s.sql};\n`).join('\n')}`;
}

describe('Db2 dialect', () => {
  it('sends exactly the statements of the golden file', () => {
    const text = render(statements());
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('binds one parameter per ? marker, and never binds a sequence value', () => {
    for (const [name, s] of statements()) {
      const markers = (s.sql.replace(/'[^']*'/g, '').match(/\?/g) ?? []).length;
      expect(markers, name).toBe(s.params.length);
      for (const p of s.params) expect(Buffer.isBuffer(p), name).toBe(false);
    }
  });

  it('writes sequence values as binary literals at their own width', () => {
    const s = statements().find(([n]) => n === 'changes (inside a commit)')?.[1].sql ?? '';
    expect(s).toContain(`CD."IBMSNAP_COMMITSEQ" > X'00000000000000000A1B'`);
    expect(s).toContain(`CD."IBMSNAP_INTENTSEQ" > X'00000000000000000A10'`);
    expect(s).toContain(`CD."IBMSNAP_COMMITSEQ" <= X'0000000000000000FFEE'`);
    expect(s).toContain('ORDER BY CD."IBMSNAP_COMMITSEQ", CD."IBMSNAP_INTENTSEQ", CD."IBMSNAP_OPERATION" FETCH FIRST 500 ROWS ONLY');
  });

  it('quotes identifiers, doubling embedded quotes', () => {
    const sql = new Db2Sql(DB2, 'AS"N');
    expect(sql.captureParameters().sql).toContain('"AS""N"."IBMSNAP_CAPPARMS"');
  });
});
