/**
 * Db2 for LUW column types and values → Tributary's neutral vocabulary (the forms the formats read,
 * see formats/types/postgres.ts):
 *
 * | Db2 | statement reads it as | row value |
 * | --- | --- | --- |
 * | SMALLINT, INTEGER | itself | JS number (exact) |
 * | BIGINT | `CAST(… AS VARCHAR(20))` | decimal text, every digit (never a JS number) |
 * | DECIMAL(p,s), NUMERIC | `CAST(… AS VARCHAR(33))` | decimal text with its scale (`12.50`), column precision/scale kept |
 * | DECFLOAT(16/34) | `CAST(… AS VARCHAR(42))` | Db2's text (`1.5E+3`, `NaN`, `-Infinity`), precision 16/34 |
 * | REAL, DOUBLE | `CAST(… AS VARCHAR(24))` | JS number (a REAL as its shortest float32 decimal) |
 * | CHAR, VARCHAR, LONG VARCHAR, CLOB, GRAPHIC, VARGRAPHIC, DBCLOB | itself | text (CHAR keeps its padding) |
 * | CHAR/VARCHAR FOR BIT DATA, BINARY, VARBINARY | `HEX(…)` | Buffer |
 * | BLOB | itself | Buffer |
 * | DATE | `CHAR(…, ISO)` | `YYYY-MM-DD` |
 * | TIME | `CHAR(…, JIS)` | `HH:MM:SS` |
 * | TIMESTAMP(p) | `CAST(… AS VARCHAR(32))` | `YYYY-MM-DD HH:MM:SS[.ffffff]`: up to microseconds, what the formats carry; digits 7-12 of a TIMESTAMP(7..12) are cut (truncated, never rounded into the next second) |
 * | XML | `XMLSERIALIZE(… AS CLOB(2G))` | text |
 * | BOOLEAN | itself | boolean |
 *
 * Column `type` is Db2's own name (`DECIMAL`, `VARCHAR FOR BIT DATA`, `TIMESTAMP`), which the
 * formats map to the matching neutral type.
 */
import type { Column } from '../../core/events.js';
import type { ValueType } from '../../core/values.js';
import { FatalError } from '../../core/errors.js';

export type Db2Kind =
  | 'smallint'
  | 'integer'
  | 'bigint'
  | 'decimal'
  | 'decfloat'
  | 'real'
  | 'double'
  | 'char'
  | 'varchar'
  | 'clob'
  | 'graphic'
  | 'bitdata'
  | 'blob'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'xml'
  | 'boolean'
  | 'other';

/** A column as SYSCAT.COLUMNS describes it. */
export interface Db2ColumnInfo {
  name: string;
  typeName: string;
  length: number;
  scale: number;
  nullable: boolean;
  /** 0 for FOR BIT DATA character columns. */
  codepage: number;
}

export interface Db2Column {
  name: string;
  kind: Db2Kind;
  /** Db2's type name, FOR BIT DATA spelled out. */
  type: string;
  length: number;
  scale: number;
  nullable: boolean;
  /** Large objects are not copied into change-data tables (Capture stores a one-character indicator). */
  lob: boolean;
}

/** HEX() of a FOR BIT DATA value longer than this does not fit Db2's VARCHAR result: read raw. */
export const HEX_LIMIT = 16_336;

export function classify(info: Db2ColumnInfo): Db2Column {
  const t = info.typeName.trim().toUpperCase();
  const bitData = info.codepage === 0 && (t === 'CHARACTER' || t === 'CHAR' || t === 'VARCHAR' || t === 'LONG VARCHAR');
  let kind: Db2Kind;
  switch (t) {
    case 'SMALLINT':
      kind = 'smallint';
      break;
    case 'INTEGER':
    case 'INT':
      kind = 'integer';
      break;
    case 'BIGINT':
      kind = 'bigint';
      break;
    case 'DECIMAL':
    case 'NUMERIC':
      kind = 'decimal';
      break;
    case 'DECFLOAT':
      kind = 'decfloat';
      break;
    case 'REAL':
      kind = 'real';
      break;
    case 'DOUBLE':
    case 'FLOAT':
      kind = 'double';
      break;
    case 'CHARACTER':
    case 'CHAR':
      kind = bitData ? 'bitdata' : 'char';
      break;
    case 'VARCHAR':
    case 'LONG VARCHAR':
      kind = bitData ? 'bitdata' : 'varchar';
      break;
    case 'CLOB':
    case 'DBCLOB':
      kind = 'clob';
      break;
    case 'GRAPHIC':
    case 'VARGRAPHIC':
    case 'LONG VARGRAPHIC':
      kind = 'graphic';
      break;
    case 'BINARY':
    case 'VARBINARY':
      kind = 'bitdata';
      break;
    case 'BLOB':
      kind = 'blob';
      break;
    case 'DATE':
      kind = 'date';
      break;
    case 'TIME':
      kind = 'time';
      break;
    case 'TIMESTAMP':
      kind = 'timestamp';
      break;
    case 'XML':
      kind = 'xml';
      break;
    case 'BOOLEAN':
      kind = 'boolean';
      break;
    default:
      kind = 'other';
  }
  return {
    name: info.name,
    kind,
    type: bitData ? `${t === 'CHAR' ? 'CHARACTER' : t} FOR BIT DATA` : t,
    length: info.length,
    scale: info.scale,
    nullable: info.nullable,
    lob: t === 'BLOB' || t === 'CLOB' || t === 'DBCLOB',
  };
}

/** The Db2 converter's neutral type of a column (core/values.ts). */
export function db2ValueType(c: Db2Column): ValueType {
  const t = c.type.toUpperCase();
  switch (c.kind) {
    case 'smallint':
      return { kind: 'integer', bytes: 2 };
    case 'integer':
      return { kind: 'integer', bytes: 4 };
    case 'bigint':
      return { kind: 'integer', bytes: 8 };
    case 'decimal':
      return { kind: 'decimal', precision: c.length, scale: c.scale };
    case 'decfloat':
      return { kind: 'decimal', precision: c.length === 8 ? 16 : 34 };
    case 'real':
      return { kind: 'float', bytes: 4 };
    case 'double':
      return { kind: 'float', bytes: 8 };
    case 'char':
      return { kind: 'text', fixed: true, length: c.length };
    case 'varchar':
      return t.startsWith('LONG ') ? { kind: 'text', large: true } : { kind: 'text', length: c.length };
    case 'clob':
      return { kind: 'text', large: true };
    case 'graphic':
      if (t === 'GRAPHIC') return { kind: 'text', fixed: true, length: c.length };
      return t.startsWith('LONG ') ? { kind: 'text', large: true } : { kind: 'text', length: c.length };
    case 'bitdata':
    case 'blob':
      return { kind: 'bytes' };
    case 'date':
      return { kind: 'date' };
    case 'time':
      return { kind: 'time' };
    case 'timestamp':
      return { kind: 'timestamp' };
    case 'xml':
      return { kind: 'xml' };
    case 'boolean':
      return { kind: 'boolean', bytes: 1 };
    default:
      return { kind: 'text' };
  }
}

/** The neutral column of a shape: Db2's type name, its neutral type, precision/scale where they mean something. */
export function shapeColumn(c: Db2Column): Column {
  const col: Column = { name: c.name, type: c.type, value: db2ValueType(c), nullable: c.nullable };
  switch (c.kind) {
    case 'decimal':
      return { ...col, precision: c.length, scale: c.scale };
    case 'decfloat':
      // SYSCAT.COLUMNS.LENGTH is the storage size: 8 bytes for DECFLOAT(16), 16 for DECFLOAT(34).
      return { ...col, precision: c.length === 8 ? 16 : 34 };
    case 'timestamp':
      return { ...col, precision: c.scale };
    case 'char':
    case 'varchar':
    case 'graphic':
    case 'bitdata':
      return { ...col, precision: c.length };
    default:
      return col;
  }
}

/** Fractional second digits the formats carry. */
const MAX_FRACTION = 6;

function badValue(c: Db2Column, v: unknown, why: string): FatalError {
  const shown = typeof v === 'string' ? `'${v.length > 60 ? `${v.slice(0, 60)}…` : v}'` : typeof v;
  return new FatalError('DB2_VALUE', `Column ${c.name} (${c.type}) returned ${shown}, which ${why}.`, {
    field: c.name,
    fix: 'Report this with the column definition; the value was not written.',
  });
}

function decimalText(c: Db2Column, v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (c.kind === 'bigint' && !Number.isSafeInteger(v)) throw badValue(c, v, 'lost precision in the driver (a BIGINT must be read as text)');
    return String(v);
  }
  if (typeof v !== 'string') throw badValue(c, v, 'is not a number');
  let s = v.trim().replace(',', '.');
  if (s.startsWith('+')) s = s.slice(1);
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  if (!/^\d*\.?\d*$/.test(s) || s === '' || s === '.') throw badValue(c, v, 'is not a decimal number');
  const [whole = '', frac] = s.split('.') as [string, string | undefined];
  let int = whole.replace(/^0+(?=\d)/, '');
  if (int === '') int = '0';
  const out = frac === undefined || frac === '' ? int : `${int}.${frac}`;
  return neg && /[1-9]/.test(out) ? `-${out}` : out;
}

function decfloatText(c: Db2Column, v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') throw badValue(c, v, 'is not a DECFLOAT');
  const s = v.trim().replace(',', '.');
  if (/^[+-]?(?:s?NaN|Infinity|INFINITY|SNAN|NAN)$/i.test(s)) {
    const neg = s.startsWith('-');
    const body = s.replace(/^[+-]/, '').toLowerCase();
    const name = body === 'snan' ? 'sNaN' : body === 'nan' ? 'NaN' : 'Infinity';
    return neg ? `-${name}` : name;
  }
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:E[+-]?\d+)?$/i.test(s)) throw badValue(c, v, 'is not a DECFLOAT');
  return s.replace(/^\+/, '').replace(/e/, 'E');
}

function floatValue(c: Db2Column, v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim().replace(',', '.')) : NaN;
  if (Number.isNaN(n) && !(typeof v === 'string' && /nan/i.test(v))) throw badValue(c, v, 'is not a floating-point number');
  if (c.kind !== 'real' || !Number.isFinite(n)) return n;
  // The shortest decimal that reads back as the same float32.
  const f = Math.fround(n);
  for (let p = 1; p <= 9; p++) {
    const t = Number(f.toPrecision(p));
    if (Math.fround(t) === f) return t;
  }
  return f;
}

function bytes(c: Db2Column, v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string' && /^(?:[0-9a-fA-F]{2})*$/.test(v)) return Buffer.from(v, 'hex');
  throw badValue(c, v, 'is not binary data (bytes, or HEX() text)');
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2})[:.](\d{2})[:.](\d{2})$/;
/** Db2's `2024-01-02-03.04.05.123456789012` and the ISO-like `2024-01-02 03:04:05.123456`. */
const TS_RE = /^(\d{4})-(\d{2})-(\d{2})[- T](\d{2})[.:](\d{2})[.:](\d{2})(?:[.,](\d{1,12}))?$/;

function dateText(c: Db2Column, v: unknown): string {
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  const s = typeof v === 'string' ? v.trim() : '';
  if (!DATE_RE.test(s)) throw badValue(c, v, 'is not an ISO date (YYYY-MM-DD)');
  return s;
}

function timeText(c: Db2Column, v: unknown): string {
  const m = typeof v === 'string' ? TIME_RE.exec(v.trim()) : null;
  if (!m) throw badValue(c, v, 'is not a time (HH:MM:SS)');
  return `${m[1]}:${m[2]}:${m[3]}`;
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]`, the fraction cut to microseconds and its trailing zeros kept to the column's scale (at most 6). */
export function timestampText(v: string, scale = MAX_FRACTION): string | null {
  const m = TS_RE.exec(v.trim());
  if (!m) return null;
  const base = `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}`;
  const digits = Math.min(Math.max(scale, 0), MAX_FRACTION);
  if (digits === 0) return base;
  const frac = (m[7] ?? '').padEnd(12, '0').slice(0, digits);
  return `${base}.${frac}`;
}

function timestamp(c: Db2Column, v: unknown): string {
  if (v instanceof Date) return v.toISOString().replace('T', ' ').replace('Z', '');
  const t = typeof v === 'string' ? timestampText(v, c.scale) : null;
  if (t === null) throw badValue(c, v, 'is not a timestamp');
  return t;
}

function boolean(c: Db2Column, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toUpperCase();
    if (s === '1' || s === 'TRUE' || s === 'T' || s === 'Y') return true;
    if (s === '0' || s === 'FALSE' || s === 'F' || s === 'N') return false;
  }
  throw badValue(c, v, 'is not a boolean');
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

/** One driver value of column `c` → its neutral row value. SQL NULL stays null. */
export function convertValue(c: Db2Column, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (c.kind) {
    case 'smallint':
    case 'integer': {
      const n = typeof v === 'number' ? v : Number(text(v).trim());
      if (!Number.isInteger(n)) throw badValue(c, v, 'is not an integer');
      return n;
    }
    case 'bigint':
    case 'decimal':
      return decimalText(c, v);
    case 'decfloat':
      return decfloatText(c, v);
    case 'real':
    case 'double':
      return floatValue(c, v);
    case 'bitdata':
    case 'blob':
      return bytes(c, v);
    case 'date':
      return dateText(c, v);
    case 'time':
      return timeText(c, v);
    case 'timestamp':
      return timestamp(c, v);
    case 'boolean':
      return boolean(c, v);
    case 'char':
    case 'varchar':
    case 'clob':
    case 'graphic':
    case 'xml':
      return text(v);
    default:
      return Buffer.isBuffer(v) ? v : text(v);
  }
}

/** A converter for a whole row: the columns' values by name (columns absent from `raw` are left out). */
export function convertRow(columns: readonly Db2Column[], raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) {
    if (!(c.name in raw)) continue;
    out[c.name] = convertValue(c, raw[c.name]);
  }
  return out;
}

/** A cheap size estimate for byte throttles: string lengths plus 8 bytes per other value. */
export function estimateBytes(row: Record<string, unknown> | null | undefined): number {
  if (!row) return 0;
  let n = 2;
  for (const k in row) {
    const v = row[k];
    n += k.length + (typeof v === 'string' ? v.length : Buffer.isBuffer(v) ? v.length * 2 : 8);
  }
  return n;
}
