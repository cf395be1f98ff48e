/**
 * What the Db2 catalog and SQL Replication's register say about the tables a task reads: columns
 * and keys (SYSCAT), registrations (IBMSNAP_REGISTER) and each change-data table's layout.
 */
import type { TableRef, TableShape } from '../../core/events.js';
import type { Db2Client, SqlRow } from './client.js';
import type { CdLayout, Db2Sql, Statement, TableName } from './dialect.js';
import { seqFromHex } from './position.js';
import { classify, shapeColumn, type Db2Column } from './values.js';

export async function run<R extends SqlRow>(client: Db2Client, s: Statement): Promise<R[]> {
  return client.query<R>(s.sql, s.params);
}

function str(v: unknown): string {
  return v === null || v === undefined ? '' : String(v).trim();
}

function num(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(str(v));
  return Number.isFinite(n) ? n : 0;
}

/** A hex column that may be NULL → bytes or null. */
export function seqOrNull(v: unknown): Buffer | null {
  const s = str(v);
  return s === '' ? null : seqFromHex(s);
}

export interface Registration {
  source: TableName;
  cd: TableName;
  /** 'A' active, 'I' inactive (Capture not capturing yet), 'S' stopped after an error. */
  state: string;
  stateInfo: string;
  beforeImagePrefix: string | null;
  /** Updates are stored as a delete and an insert. */
  updatesAsDeleteInsert: boolean;
  /** Where capturing started (the CAPSTART signal): nothing before it is in the CD table. */
  cdOld: Buffer | null;
  /** The newest commit Capture wrote into the CD table. */
  cdNew: Buffer | null;
}

export function registrationKey(t: TableName): string {
  return `${t.schema}\u0000${t.table}`;
}

export async function readRegistrations(client: Db2Client, sql: Db2Sql): Promise<Map<string, Registration>> {
  const rows = await run(client, sql.registrations());
  const out = new Map<string, Registration>();
  for (const r of rows) {
    const reg: Registration = {
      source: { schema: str(r.SOURCE_OWNER), table: str(r.SOURCE_TABLE) },
      cd: { schema: str(r.CD_OWNER), table: str(r.CD_TABLE) },
      state: str(r.STATE).toUpperCase() || 'I',
      stateInfo: str(r.STATE_INFO),
      beforeImagePrefix: str(r.BEFORE_IMG_PREFIX) || null,
      updatesAsDeleteInsert: str(r.CHG_UPD_TO_DEL_INS).toUpperCase() === 'Y',
      cdOld: seqOrNull(r.CD_OLD_SYNCHPOINT),
      cdNew: seqOrNull(r.CD_NEW_SYNCHPOINT),
    };
    out.set(registrationKey(reg.source), reg);
  }
  return out;
}

export interface Db2Table {
  name: TableName;
  ref: TableRef;
  columns: Db2Column[];
  /** Primary key, else a unique index over NOT NULL columns; empty when neither exists. */
  key: Db2Column[];
  /** Unique indexes that cannot serve as a key (nullable columns), for the precheck's message. */
  unusableKeys: string[];
  shape: TableShape;
  /** SYSCAT.TABLES.CARD: -1 when statistics were never collected. */
  cardinality: number;
  createTime: string;
}

interface TableRow extends SqlRow {
  TABSCHEMA: unknown;
  TABNAME: unknown;
  CARD: unknown;
  CREATE_TIME: unknown;
}

/** Columns of every table in `schemas`, by table key. */
async function readColumns(client: Db2Client, sql: Db2Sql, schemas: Iterable<string>): Promise<Map<string, Db2Column[]>> {
  const out = new Map<string, Db2Column[]>();
  for (const schema of schemas) {
    for (const c of await run(client, sql.columns(schema))) {
      const key = registrationKey({ schema, table: str(c.TABNAME) });
      const list = out.get(key) ?? [];
      list.push(classify({ name: str(c.COLNAME), typeName: str(c.TYPENAME), length: num(c.LENGTH), scale: num(c.SCALE), nullable: str(c.NULLS).toUpperCase() === 'Y', codepage: num(c.CODEPAGE) }));
      out.set(key, list);
    }
  }
  return out;
}

/** The user tables of the database (the Capture schema left out). */
export async function listTables(client: Db2Client, sql: Db2Sql): Promise<Array<{ name: TableName; cardinality: number; createTime: string }>> {
  const rows = await run<TableRow>(client, sql.tables());
  return rows
    .map((r) => ({ name: { schema: str(r.TABSCHEMA), table: str(r.TABNAME) }, cardinality: num(r.CARD), createTime: str(r.CREATE_TIME) }))
    .filter((t) => t.name.schema !== sql.captureSchema);
}

/** Columns, keys and shapes of `tables`. */
export async function describeTables(
  client: Db2Client,
  sql: Db2Sql,
  database: string,
  tables: ReadonlyArray<{ name: TableName; cardinality: number; createTime: string }>,
): Promise<Db2Table[]> {
  const schemas = new Set(tables.map((t) => t.name.schema));
  const columns = await readColumns(client, sql, schemas);
  const keys = new Map<string, Array<{ index: string; rule: string; cols: string[] }>>();
  for (const schema of schemas) {
    for (const k of await run(client, sql.uniqueKeys(schema))) {
      const tkey = registrationKey({ schema, table: str(k.TABNAME) });
      const list = keys.get(tkey) ?? [];
      const index = str(k.INDNAME);
      let entry = list.find((e) => e.index === index);
      if (!entry) list.push((entry = { index, rule: str(k.UNIQUERULE).toUpperCase(), cols: [] }));
      entry.cols.push(str(k.COLNAME));
      keys.set(tkey, list);
    }
  }
  return tables.map((t) => {
    const tkey = registrationKey(t.name);
    const cols = columns.get(tkey) ?? [];
    const byName = new Map(cols.map((c) => [c.name, c]));
    const candidates = (keys.get(tkey) ?? []).sort((a, b) => (a.rule === b.rule ? 0 : a.rule === 'P' ? -1 : 1));
    let key: Db2Column[] = [];
    const unusable: string[] = [];
    for (const k of candidates) {
      const kc = k.cols.map((n) => byName.get(n)).filter((c): c is Db2Column => c !== undefined);
      if (kc.length !== k.cols.length) continue;
      if (k.rule === 'P' || kc.every((c) => !c.nullable)) {
        if (key.length === 0) key = kc;
      } else unusable.push(`${k.index} (unique over nullable columns ${k.cols.filter((n) => byName.get(n)?.nullable).join(', ')})`);
    }
    const ref: TableRef = { database, schema: t.name.schema, table: t.name.table };
    return {
      name: t.name,
      ref,
      columns: cols,
      key,
      unusableKeys: unusable,
      shape: { ref, columns: cols.map(shapeColumn), key: key.map((k) => k.name) },
      cardinality: t.cardinality,
      createTime: t.createTime,
    };
  });
}

/** Columns of change-data tables, by table key (CD tables are described like any other). */
export async function readCdColumns(client: Db2Client, sql: Db2Sql, cds: readonly TableName[]): Promise<Map<string, Db2Column[]>> {
  const wanted = new Set(cds.map(registrationKey));
  const all = await readColumns(client, sql, new Set(cds.map((c) => c.schema)));
  return new Map([...all].filter(([k]) => wanted.has(k)));
}

/**
 * Which source columns a change-data table holds (same name, and not the one-character indicator
 * Capture keeps for a LOB), and their before-image columns (`BEFORE_IMG_PREFIX` + name). Source
 * columns it does not hold are read from the source table by key, as Apply does for LOBs.
 */
export function cdLayout(table: Db2Table, reg: Registration, cdColumns: readonly Db2Column[]): CdLayout & { fetched: Db2Column[] } {
  const cdByName = new Map(cdColumns.map((c) => [c.name, c]));
  const values: Db2Column[] = [];
  const fetched: Db2Column[] = [];
  const beforeImages: Array<{ column: Db2Column; cdName: string }> = [];
  for (const c of table.columns) {
    const inCd = cdByName.get(c.name);
    if (inCd && !(c.lob && !inCd.lob)) values.push(c);
    else fetched.push(c);
    if (reg.beforeImagePrefix && !c.lob) {
      const b = cdByName.get(`${reg.beforeImagePrefix}${c.name}`);
      if (b) beforeImages.push({ column: c, cdName: b.name });
    }
  }
  return { cd: reg.cd, values, beforeImages, fetched };
}
