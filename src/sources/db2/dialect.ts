/**
 * Every SQL statement the Db2 source sends, in one place. `DB2` renders them for Db2 for LUW (the
 * golden file test/fixtures/db2/dialect.golden.sql holds each one as sent); the tests render the
 * same statements for the PostgreSQL database that emulates SQL Replication's tables, by swapping
 * only the few spellings in `Rendering` (functions whose names differ between the two). Columns,
 * predicates, ordering and paging are the same text for both.
 *
 * Identifiers are always double-quoted (Db2 folds unquoted names to upper case; catalog names are
 * stored as written). Sequence values are written as binary literals, never bound, so that the
 * comparison is between two `FOR BIT DATA` values whatever the driver does with buffers.
 */
import type { SqlParam } from './client.js';
import type { Db2Column } from './values.js';
import { HEX_LIMIT } from './values.js';

export interface Statement {
  sql: string;
  params: SqlParam[];
}

/** The spellings that differ between Db2 and the PostgreSQL emulation. */
export interface Rendering {
  readonly name: string;
  /** The current time in UTC, as a TIMESTAMP. */
  readonly utcNow: string;
  /** A TIMESTAMP of the server's local time (as Capture writes them) converted to UTC. */
  utc(expr: string): string;
  /** A DATE as `YYYY-MM-DD`. */
  dateText(expr: string): string;
  /** A TIME as `HH:MM:SS`. */
  timeText(expr: string): string;
  /** An XML value serialized to text. */
  xmlText(expr: string): string;
  /** Binary data as upper- or lower-case hex text. */
  hex(expr: string): string;
  /** A binary literal. */
  bytes(value: Buffer): string;
  readonly currentUser: string;
  readonly currentSchema: string;
  /** A table function call in a FROM clause. */
  tableFunction(call: string, alias: string): string;
  /** What follows a CREATE TABLE so that Capture can read its changes from the log. */
  readonly dataCaptureChanges: string;
}

/** Db2 for LUW. */
export const DB2: Rendering = {
  name: 'db2',
  utcNow: 'CURRENT TIMESTAMP - CURRENT TIMEZONE',
  utc: (e) => `${e} - CURRENT TIMEZONE`,
  dateText: (e) => `CHAR(${e}, ISO)`,
  timeText: (e) => `CHAR(${e}, JIS)`,
  xmlText: (e) => `XMLSERIALIZE(${e} AS CLOB(2G))`,
  hex: (e) => `HEX(${e})`,
  bytes: (b) => `X'${b.toString('hex').toUpperCase()}'`,
  currentUser: 'CURRENT USER',
  currentSchema: 'CURRENT SCHEMA',
  tableFunction: (call, alias) => `TABLE (${call}) AS ${alias}`,
  dataCaptureChanges: ' DATA CAPTURE CHANGES',
};

/** A double-quoted identifier. */
export function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(schema: string, table: string): string {
  return `${q(schema)}.${q(table)}`;
}

/** A table by owner and name. */
export interface TableName {
  schema: string;
  table: string;
}

/** What a change-data table holds for one registration. */
export interface CdLayout {
  cd: TableName;
  /** Source columns whose values the CD table holds, under the same name. */
  values: readonly Db2Column[];
  /** Before-image columns: the CD column name (prefix + name) for source columns that have one. */
  beforeImages: ReadonlyArray<{ column: Db2Column; cdName: string }>;
}

/** A bound value of a key column for range and row look-ups: text or number, or bytes (a literal). */
export type KeyValue = string | number | boolean | { bytes: string };

function literalOrParam(r: Rendering, v: KeyValue, params: SqlParam[]): string {
  if (typeof v === 'object') return r.bytes(Buffer.from(v.bytes, 'hex'));
  params.push(v);
  return '?';
}

/**
 * `(k1, k2, …) > (v1, v2, …)` written out (Db2 LUW has no row-value comparison):
 * `k1 > v1 OR (k1 = v1 AND (k2 > v2 OR …))`.
 */
function rowGreater(r: Rendering, prefix: string, keys: readonly string[], values: readonly KeyValue[], params: SqlParam[]): string {
  const build = (i: number): string => {
    const k = `${prefix}${q(keys[i] as string)}`;
    const v = values[i] as KeyValue;
    if (i === keys.length - 1) return `${k} > ${literalOrParam(r, v, params)}`;
    const gt = `${k} > ${literalOrParam(r, v, params)}`;
    const eq = `${k} = ${literalOrParam(r, v, params)}`;
    return `(${gt} OR (${eq} AND ${build(i + 1)}))`;
  };
  return build(0);
}

export class Db2Sql {
  constructor(
    readonly r: Rendering,
    /** The Capture schema (ASN by default): where IBMSNAP_REGISTER and its siblings live. */
    readonly captureSchema: string,
  ) {}

  private asn(table: string): string {
    return qualified(this.captureSchema, table);
  }

  /** The expression that reads a column in the form values.ts converts (see its table). */
  value(expr: string, c: Db2Column): string {
    switch (c.kind) {
      case 'bigint':
        return `CAST(${expr} AS VARCHAR(20))`;
      case 'decimal':
        return `CAST(${expr} AS VARCHAR(33))`;
      case 'decfloat':
        return `CAST(${expr} AS VARCHAR(42))`;
      case 'real':
      case 'double':
        return `CAST(${expr} AS VARCHAR(24))`;
      case 'date':
        return this.r.dateText(expr);
      case 'time':
        return this.r.timeText(expr);
      case 'timestamp':
        return `CAST(${expr} AS VARCHAR(32))`;
      case 'xml':
        return this.r.xmlText(expr);
      case 'bitdata':
        return c.length <= HEX_LIMIT ? this.r.hex(expr) : expr;
      default:
        return expr;
    }
  }

  private selectList(prefix: string, columns: readonly Db2Column[], as: (c: Db2Column) => string = (c) => c.name): string {
    return columns.map((c) => `${this.value(`${prefix}${q(c.name)}`, c)} AS ${q(as(c))}`).join(', ');
  }

  // ---- server and Capture ----------------------------------------------------------------------

  /** Who is connected, the default schema, and the server's clock in UTC. */
  serverInfo(): Statement {
    return {
      sql: `SELECT ${this.r.currentUser} AS "AUTHID", ${this.r.currentSchema} AS "SCHEMA", CAST(${this.r.utcNow} AS VARCHAR(32)) AS "NOW_UTC" FROM "SYSIBM"."SYSDUMMY1"`,
      params: [],
    };
  }

  /** Capture's parameters: retention (minutes), commit interval (seconds), pruning, sequence width. */
  captureParameters(): Statement {
    return {
      sql: `SELECT "RETENTION_LIMIT", "COMMIT_INTERVAL", "PRUNE_INTERVAL", "AUTOPRUNE", "COMPATIBILITY" FROM ${this.asn('IBMSNAP_CAPPARMS')}`,
      params: [],
    };
  }

  /**
   * Capture's progress from the register's global record: every change committed at or before
   * SYNCHPOINT is in the change-data tables (Capture moves it in the same commit as the rows), and
   * SYNCHTIME is when Capture last moved it (every commit interval, also when idle).
   */
  globalProgress(): Statement {
    return {
      sql: `SELECT ${this.r.hex('G."SYNCHPOINT"')} AS "SYNCHPOINT", CAST(${this.r.utc('G."SYNCHTIME"')} AS VARCHAR(32)) AS "SYNCHTIME", CAST(${this.r.utcNow} AS VARCHAR(32)) AS "NOW_UTC" FROM ${this.asn('IBMSNAP_REGISTER')} G WHERE G."GLOBAL_RECORD" = 'Y'`,
      params: [],
    };
  }

  /** Capture's restart record: the newest commit it has written out, and when. */
  restartProgress(): Statement {
    return {
      sql: `SELECT ${this.r.hex('"MAX_COMMITSEQ"')} AS "MAX_COMMITSEQ", CAST(${this.r.utc('"MAX_COMMIT_TIME"')} AS VARCHAR(32)) AS "MAX_COMMIT_TIME", CAST(${this.r.utc('"CURR_COMMIT_TIME"')} AS VARCHAR(32)) AS "CURR_COMMIT_TIME" FROM ${this.asn('IBMSNAP_RESTART')}`,
      params: [],
    };
  }

  /** Every registered source table (views and the global record left out). */
  registrations(): Statement {
    return {
      sql:
        `SELECT "SOURCE_OWNER", "SOURCE_TABLE", "CD_OWNER", "CD_TABLE", "STATE", "STATE_INFO", "BEFORE_IMG_PREFIX", "CHG_UPD_TO_DEL_INS", ` +
        `${this.r.hex('"CD_OLD_SYNCHPOINT"')} AS "CD_OLD_SYNCHPOINT", ${this.r.hex('"CD_NEW_SYNCHPOINT"')} AS "CD_NEW_SYNCHPOINT" ` +
        `FROM ${this.asn('IBMSNAP_REGISTER')} WHERE "GLOBAL_RECORD" = 'N' AND "SOURCE_VIEW_QUAL" = 0 ORDER BY "SOURCE_OWNER", "SOURCE_TABLE"`,
      params: [],
    };
  }

  /**
   * The Apply programs' progress per registration: Capture prunes a change-data table up to the
   * lowest synchpoint of the subscriptions that read it (PRUNCNTL, and PRUNE_SET per set).
   */
  pruningControl(): Statement {
    return {
      sql:
        `SELECT C."SOURCE_OWNER", C."SOURCE_TABLE", ${this.r.hex('C."SYNCHPOINT"')} AS "MEMBER_SYNCHPOINT", ${this.r.hex('S."SYNCHPOINT"')} AS "SET_SYNCHPOINT" ` +
        `FROM ${this.asn('IBMSNAP_PRUNCNTL')} C LEFT JOIN ${this.asn('IBMSNAP_PRUNE_SET')} S ` +
        `ON S."APPLY_QUAL" = C."APPLY_QUAL" AND S."SET_NAME" = C."SET_NAME" AND S."TARGET_SERVER" = C."TARGET_SERVER"`,
      params: [],
    };
  }

  /** Whether a change-data table still holds a change at or before `commit` (pruning removes a prefix). */
  retainedAtOrBefore(cd: TableName, commit: Buffer): Statement {
    return {
      sql: `SELECT 1 AS "FOUND" FROM ${qualified(cd.schema, cd.table)} WHERE "IBMSNAP_COMMITSEQ" <= ${this.r.bytes(commit)} FETCH FIRST 1 ROWS ONLY`,
      params: [],
    };
  }

  /** Authorities the account holds (directly, through a group, a role or PUBLIC). */
  authorities(authid: string): Statement {
    return {
      sql: `SELECT "AUTHORITY", "D_USER", "D_GROUP", "D_PUBLIC", "ROLE_USER", "ROLE_GROUP", "ROLE_PUBLIC" FROM ${this.r.tableFunction(`"SYSPROC"."AUTH_LIST_AUTHORITIES_FOR_AUTHID"(?, 'U')`, 'A')} WHERE "AUTHORITY" IN ('DBADM', 'SYSADM')`,
      params: [authid],
    };
  }

  // ---- catalog -----------------------------------------------------------------------------------

  /** User tables (system schemas left out). */
  tables(): Statement {
    return {
      sql: `SELECT "TABSCHEMA", "TABNAME", "CARD", CAST("CREATE_TIME" AS VARCHAR(32)) AS "CREATE_TIME" FROM "SYSCAT"."TABLES" WHERE "TYPE" = 'T' AND "TABSCHEMA" NOT LIKE 'SYS%' ORDER BY "TABSCHEMA", "TABNAME"`,
      params: [],
    };
  }

  /** Columns of the tables of one schema, in column order. */
  columns(schema: string): Statement {
    return {
      sql: `SELECT "TABNAME", "COLNAME", "COLNO", "TYPENAME", "LENGTH", "SCALE", "NULLS", "CODEPAGE" FROM "SYSCAT"."COLUMNS" WHERE "TABSCHEMA" = ? ORDER BY "TABNAME", "COLNO"`,
      params: [schema],
    };
  }

  /** Primary keys and unique indexes of the tables of one schema, columns in key order. */
  uniqueKeys(schema: string): Statement {
    return {
      sql:
        `SELECT I."TABNAME", I."INDNAME", I."UNIQUERULE", C."COLNAME", C."COLSEQ" FROM "SYSCAT"."INDEXES" I ` +
        `JOIN "SYSCAT"."INDEXCOLUSE" C ON C."INDSCHEMA" = I."INDSCHEMA" AND C."INDNAME" = I."INDNAME" ` +
        `WHERE I."TABSCHEMA" = ? AND I."UNIQUERULE" IN ('P', 'U') ORDER BY I."TABNAME", I."UNIQUERULE", I."INDNAME", C."COLSEQ"`,
      params: [schema],
    };
  }

  // ---- change data -------------------------------------------------------------------------------

  /**
   * One page of a change-data table: the changes after `after` (commit, then intent) up to and
   * including commit `upTo`, in Capture's order, with the commit time from the unit-of-work table.
   * Seq values come back as hex text. A delete and an insert that share an intent sequence (an
   * update Capture split in two) come delete first.
   */
  changes(layout: CdLayout, after: { commit: Buffer; intent: Buffer | null }, upTo: Buffer, limit: number): Statement {
    const cd = 'CD.';
    const seq = `${cd}"IBMSNAP_COMMITSEQ"`;
    const intent = `${cd}"IBMSNAP_INTENTSEQ"`;
    const lower =
      after.intent === null
        ? `${seq} > ${this.r.bytes(after.commit)}`
        : `(${seq} > ${this.r.bytes(after.commit)} OR (${seq} = ${this.r.bytes(after.commit)} AND ${intent} > ${this.r.bytes(after.intent)}))`;
    const cols = [
      `${this.r.hex(seq)} AS "IBMSNAP_COMMITSEQ"`,
      `${this.r.hex(intent)} AS "IBMSNAP_INTENTSEQ"`,
      `${cd}"IBMSNAP_OPERATION" AS "IBMSNAP_OPERATION"`,
      `(SELECT CAST(${this.r.utc('MAX(U."IBMSNAP_LOGMARKER")')} AS VARCHAR(32)) FROM ${this.asn('IBMSNAP_UOW')} U WHERE U."IBMSNAP_COMMITSEQ" = ${seq}) AS "IBMSNAP_LOGMARKER"`,
    ];
    if (layout.values.length > 0) cols.push(this.selectList(cd, layout.values));
    for (const b of layout.beforeImages) cols.push(`${this.value(`${cd}${q(b.cdName)}`, b.column)} AS ${q(b.cdName)}`);
    return {
      sql:
        `SELECT ${cols.join(', ')} FROM ${qualified(layout.cd.schema, layout.cd.table)} CD ` +
        `WHERE ${lower} AND ${seq} <= ${this.r.bytes(upTo)} ` +
        `ORDER BY ${seq}, ${intent}, ${cd}"IBMSNAP_OPERATION" FETCH FIRST ${Math.max(2, Math.trunc(limit))} ROWS ONLY`,
      params: [],
    };
  }

  /** The current row of a source table by key, for the columns Capture does not copy (LOBs). */
  rowByKey(table: TableName, columns: readonly Db2Column[], key: readonly Db2Column[], values: readonly KeyValue[]): Statement {
    const params: SqlParam[] = [];
    const where = key.map((k, i) => `${q(k.name)} = ${literalOrParam(this.r, values[i] as KeyValue, params)}`).join(' AND ');
    return { sql: `SELECT ${this.selectList('', columns)} FROM ${qualified(table.schema, table.table)} WHERE ${where}`, params };
  }

  // ---- full synchronization ------------------------------------------------------------------------

  /** Every `every`-th key in key order: the boundaries of key-range chunks. */
  keyBoundaries(table: TableName, key: readonly Db2Column[], every: number): Statement {
    const keys = key.map((k) => q(k.name)).join(', ');
    return {
      sql:
        `SELECT ${this.selectList('K.', key)} FROM (SELECT ${keys}, ROW_NUMBER() OVER (ORDER BY ${keys}) AS "TRIBUTARY_RN" FROM ${qualified(table.schema, table.table)}) AS K ` +
        `WHERE MOD(K."TRIBUTARY_RN", ?) = 0 ORDER BY K."TRIBUTARY_RN"`,
      params: [Math.max(1, Math.trunc(every))],
    };
  }

  /**
   * One page of a key range: rows with key > `after` (exclusive; null from the start) and key <=
   * `upTo` (inclusive; null to the end), in key order.
   */
  rangePage(table: TableName, columns: readonly Db2Column[], key: readonly Db2Column[], after: readonly KeyValue[] | null, upTo: readonly KeyValue[] | null, limit: number): Statement {
    const params: SqlParam[] = [];
    const names = key.map((k) => k.name);
    const where: string[] = [];
    if (after !== null) where.push(rowGreater(this.r, '', names, after, params));
    if (upTo !== null) where.push(`NOT ${rowGreater(this.r, '', names, upTo, params)}`);
    return {
      sql:
        `SELECT ${this.selectList('', columns)} FROM ${qualified(table.schema, table.table)}` +
        `${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${names.map(q).join(', ')} FETCH FIRST ${Math.max(1, Math.trunc(limit))} ROWS ONLY`,
      params,
    };
  }

  // ---- heartbeat ---------------------------------------------------------------------------------

  tableExists(table: TableName): Statement {
    return { sql: `SELECT "TABNAME" FROM "SYSCAT"."TABLES" WHERE "TABSCHEMA" = ? AND "TABNAME" = ?`, params: [table.schema, table.table] };
  }

  createHeartbeatTable(table: TableName): Statement {
    return {
      sql: `CREATE TABLE ${qualified(table.schema, table.table)} ("TASK_NAME" VARCHAR(128) NOT NULL PRIMARY KEY, "BEAT_TIME" TIMESTAMP NOT NULL, "BEAT_SEQ" BIGINT NOT NULL)${this.r.dataCaptureChanges}`,
      params: [],
    };
  }

  /** Writes the task's heartbeat row (a change Capture reads from the log, so its progress moves). */
  beat(table: TableName, task: string, seq: number): Statement {
    return {
      sql:
        `MERGE INTO ${qualified(table.schema, table.table)} AS T USING (VALUES (CAST(? AS VARCHAR(128)), CAST(? AS BIGINT))) AS S ("TASK_NAME", "BEAT_SEQ") ON T."TASK_NAME" = S."TASK_NAME" ` +
        `WHEN MATCHED THEN UPDATE SET "BEAT_TIME" = CURRENT_TIMESTAMP, "BEAT_SEQ" = S."BEAT_SEQ" ` +
        `WHEN NOT MATCHED THEN INSERT ("TASK_NAME", "BEAT_TIME", "BEAT_SEQ") VALUES (S."TASK_NAME", CURRENT_TIMESTAMP, S."BEAT_SEQ")`,
      params: [task, String(seq)],
    };
  }

  deleteHeartbeat(table: TableName, task: string): Statement {
    return { sql: `DELETE FROM ${qualified(table.schema, table.table)} WHERE "TASK_NAME" = ?`, params: [task] };
  }
}
