import type { Position } from './position.js';
import type { ValueType } from './values.js';

/**
 * What a change did. `truncate` empties a table, `ddl` changes a definition (`ChangeEvent.ddl`), and
 * `heartbeat` carries no data: it moves the position forward and measures latency while nothing changes.
 */
export type Op = 'insert' | 'update' | 'delete' | 'truncate' | 'ddl' | 'heartbeat';

/** A table or collection. For PostgreSQL `schema` is set; for MongoDB `table` is the collection. */
export interface TableRef {
  database: string;
  schema?: string;
  table: string;
}

/**
 * A column as the source describes it: `type` is the source's own type name, `value` its neutral
 * type (core/values.ts), which is all the formats read besides the name.
 */
export interface Column {
  name: string;
  type: string;
  /** The neutral type, from the source's converter. Absent: text. */
  value?: ValueType;
  /** The source's own type number (PostgreSQL OID) where there is one (DTS `dataTypeNumber`). */
  typeId?: number;
  nullable?: boolean;
  /** Numeric precision/scale, character length, where known. */
  precision?: number;
  scale?: number;
}

/** One table version. Shared by all of its events; replaced when the table's definition changes. */
export interface TableShape {
  ref: TableRef;
  columns: readonly Column[];
  /** Key columns: primary key, else a unique constraint, else empty. */
  key: readonly string[];
}

/**
 * A row image. Values keep full precision: int8 and numeric arrive as strings or bigint,
 * never as a lossy JS number; binary as Buffer/Uint8Array; MongoDB documents keep BSON values.
 */
export type Row = Record<string, unknown>;

/**
 * One change (or one row of full synchronization) as it flows from a source through the operators
 * to a sink. `before`/`after` are the row images the source has: an insert has `after`, a delete
 * `before` (the key columns at least), an update `after` and, when the source sends it, `before`.
 *
 * @example
 * ```ts
 * // An ETL function (`runtime.add(config, { etlFunction })`): skip test rows, drop a column.
 * const etlFunction = (e: ChangeEvent): ChangeEvent | null => {
 *   if (e.after?.status === 'test') return null; // null drops the event
 *   if (!e.after) return e;
 *   const { internal_note: _dropped, ...after } = e.after;
 *   return { ...e, after };
 * };
 * ```
 */
export interface ChangeEvent {
  op: Op;
  /** The table and its columns, as the source describes them at this change. */
  shape: TableShape;
  /** True when read by full synchronization. */
  snapshot: boolean;
  before?: Row | null;
  after?: Row | null;
  /** Partial updates (MongoDB oplog / change streams without the full document). */
  patch?: { set?: Row; unset?: readonly string[] };
  /** For `ddl`: the statement text and, where the source has one, its structured command. */
  ddl?: { text?: string; command?: unknown };
  /** Source commit time, Unix ms. */
  commitTime: number;
  /** Where the change is in the source's log; what checkpoints and confirmation record. */
  position: Position;
  /** The transaction: its id, the change's place in it and, where known, its number of changes. */
  tx?: { id: string; seq: number; size?: number };
  /** Size estimate in bytes, for MB/s throttles and limits. */
  bytes: number;
}

/** Qualified name `database.schema.table` (schema omitted when absent). */
export function qualifiedName(ref: TableRef): string {
  return ref.schema === undefined ? `${ref.database}.${ref.table}` : `${ref.database}.${ref.schema}.${ref.table}`;
}
