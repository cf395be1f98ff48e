import { map, type MonoTypeOperatorFunction } from 'rxjs';
import type { ChangeEvent, Column, Row, TableRef, TableShape } from '../core/events.js';
import { qualifiedName } from '../core/events.js';
import { FatalError } from '../core/errors.js';

/**
 * Case policy for destination names. 'default' is the destination's default policy; for the
 * destinations Tributary writes (Kafka topics and envelopes, MongoDB) that keeps the source
 * spelling, so it behaves as 'same'.
 */
export type Capitalization = 'default' | 'same' | 'upper' | 'lower';

export interface ColumnMapping {
  /** Source column name → destination column name. */
  rename?: Readonly<Record<string, string>>;
  /** Source columns to keep; absent means all. Key columns cannot be dropped. */
  select?: readonly string[];
}

/**
 * Destination names. Explicit renames are used verbatim; the capitalization policy applies to
 * every name that is not explicitly renamed.
 */
export interface NameMapping {
  /** Source database → destination database. */
  databases?: Readonly<Record<string, string>>;
  /** `database.schema` → destination schema. */
  schemas?: Readonly<Record<string, string>>;
  /** Qualified source table (`database.schema.table`, or `database.table`) → destination table. */
  tables?: Readonly<Record<string, string>>;
  /** Qualified source table → its column mapping. */
  columns?: Readonly<Record<string, ColumnMapping>>;
  capitalization?: Capitalization;
}

/** What mapNames decided for one source table version, computed once. */
interface Plan {
  shape: TableShape;
  /** True when rows need no change. */
  rowsUnchanged: boolean;
  /** Source key → destination key, null when dropped. Extended lazily for schemaless documents. */
  names: Map<string, string | null>;
  rename: Readonly<Record<string, string>> | undefined;
  keep: ReadonlySet<string> | undefined;
  /** Schemaless (no declared columns): unknown keys are resolved on first sight. */
  open: boolean;
}

function caseFn(policy: Capitalization): (s: string) => string {
  if (policy === 'upper') return (s) => s.toUpperCase();
  if (policy === 'lower') return (s) => s.toLowerCase();
  return (s) => s;
}

function own<T>(rec: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return rec !== undefined && Object.prototype.hasOwnProperty.call(rec, key) ? rec[key] : undefined;
}

/** Maps database/schema/table/column names and drops unselected columns. */
export class NameMapper {
  private readonly plans = new WeakMap<TableShape, Plan>();
  private readonly caseOf: (s: string) => string;

  constructor(private readonly mapping: NameMapping) {
    this.caseOf = caseFn(mapping.capitalization ?? 'default');
  }

  /** The destination name of a table. */
  mapRef(ref: TableRef): TableRef {
    const m = this.mapping;
    const c = this.caseOf;
    const database = own(m.databases, ref.database) ?? c(ref.database);
    const table = own(m.tables, qualifiedName(ref)) ?? c(ref.table);
    if (ref.schema === undefined) return { database, table };
    return { database, schema: own(m.schemas, `${ref.database}.${ref.schema}`) ?? c(ref.schema), table };
  }

  private destColumn(plan: Pick<Plan, 'rename' | 'keep'>, name: string): string | null {
    if (plan.keep !== undefined && !plan.keep.has(name)) return null;
    return own(plan.rename, name) ?? this.caseOf(name);
  }

  private plan(shape: TableShape): Plan {
    let plan = this.plans.get(shape);
    if (plan !== undefined) return plan;
    const object = qualifiedName(shape.ref);
    const cm = own(this.mapping.columns, object);
    const base = { rename: cm?.rename, keep: cm?.select === undefined ? undefined : new Set(cm.select) };
    const names = new Map<string, string | null>();
    const columns: Column[] = [];
    for (const col of shape.columns) {
      const dest = this.destColumn(base, col.name);
      names.set(col.name, dest);
      if (dest !== null) columns.push(dest === col.name ? col : { ...col, name: dest });
    }
    if (base.keep !== undefined && shape.columns.length > 0) {
      for (const s of base.keep) {
        if (!names.has(s)) throw new FatalError('MAPPING_INVALID', `Column selection for ${object} names '${s}', which the table does not have.`, { object, field: 'columns.select', fix: `remove '${s}' from the selected columns` });
      }
    }
    const key: string[] = [];
    for (const k of shape.key) {
      const dest = base.keep !== undefined && !base.keep.has(k) ? null : this.destColumn(base, k);
      if (dest === null) {
        throw new FatalError('MAPPING_INVALID', `Column selection for ${object} drops key column '${k}'.`, { object, field: 'columns.select', fix: `add '${k}' to the selected columns` });
      }
      key.push(dest);
    }
    const ref = this.mapRef(shape.ref);
    const refSame = ref.database === shape.ref.database && ref.schema === shape.ref.schema && ref.table === shape.ref.table;
    const colsSame = columns.length === shape.columns.length && columns.every((c, i) => c === shape.columns[i]);
    const keySame = key.every((k, i) => k === shape.key[i]);
    const open = shape.columns.length === 0;
    const rowsUnchanged = open ? base.keep === undefined && base.rename === undefined && this.mapping.capitalization !== 'upper' && this.mapping.capitalization !== 'lower' : colsSame;
    plan = {
      shape: refSame && colsSame && keySame ? shape : { ref: refSame ? shape.ref : ref, columns: colsSame ? shape.columns : columns, key: keySame ? shape.key : key },
      rowsUnchanged,
      names,
      rename: base.rename,
      keep: base.keep,
      open,
    };
    this.plans.set(shape, plan);
    return plan;
  }

  private dest(plan: Plan, name: string): string | null {
    const d = plan.names.get(name);
    if (d !== undefined) return d;
    if (!plan.open) return name; // a column the shape did not declare: keep as is
    const computed = this.destColumn(plan, name);
    if (plan.names.size < 10_000) plan.names.set(name, computed);
    return computed;
  }

  private mapRow(plan: Plan, row: Row): Row {
    const out: Row = {};
    for (const k in row) {
      const d = this.dest(plan, k);
      if (d !== null) out[d] = row[k];
    }
    return out;
  }

  /** Maps a dotted patch path by its first segment; null when that field is dropped. */
  private mapPath(plan: Plan, path: string): string | null {
    const dot = path.indexOf('.');
    if (dot < 0) return this.dest(plan, path);
    const head = this.dest(plan, path.slice(0, dot));
    return head === null ? null : head + path.slice(dot);
  }

  /** The event with destination names; the same object when nothing changes. */
  map(event: ChangeEvent): ChangeEvent {
    const plan = this.plan(event.shape);
    if (plan.shape === event.shape && plan.rowsUnchanged) return event;
    const out: ChangeEvent = { ...event, shape: plan.shape };
    if (!plan.rowsUnchanged) {
      if (event.before) out.before = this.mapRow(plan, event.before);
      if (event.after) out.after = this.mapRow(plan, event.after);
      if (event.patch) {
        const patch: { set?: Row; unset?: readonly string[] } = {};
        if (event.patch.set) {
          const set: Row = {};
          for (const k in event.patch.set) {
            const d = this.mapPath(plan, k);
            if (d !== null) set[d] = event.patch.set[k];
          }
          patch.set = set;
        }
        if (event.patch.unset) {
          const unset: string[] = [];
          for (const k of event.patch.unset) {
            const d = this.mapPath(plan, k);
            if (d !== null) unset.push(d);
          }
          patch.unset = unset;
        }
        out.patch = patch;
      }
    }
    return out;
  }

  /** The destination shape of a source shape (the same object every time). */
  shapeOf(shape: TableShape): TableShape {
    return this.plan(shape).shape;
  }
}

/**
 * Renames databases, schemas, tables and columns, drops unselected columns and applies the case
 * policy. The destination TableShape is built once per source shape and shared by its events.
 */
export function mapNames(mapping: NameMapping | NameMapper): MonoTypeOperatorFunction<ChangeEvent> {
  const mapper = mapping instanceof NameMapper ? mapping : new NameMapper(mapping);
  return map((event) => mapper.map(event));
}
