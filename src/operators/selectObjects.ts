import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import type { ChangeEvent, Op, TableRef, TableShape } from '../core/events.js';
import { ConfigError } from '../core/errors.js';

/** Operations that can be selected per object. Heartbeats are not selectable: they always pass. */
export type SelectableOp = 'insert' | 'update' | 'delete' | 'truncate' | 'ddl';

/**
 * One object rule. An absent field matches anything; `*` in a field matches any run of
 * characters. `ops` absent means every operation.
 */
export interface ObjectRule {
  database?: string;
  schema?: string;
  table?: string;
  ops?: readonly SelectableOp[];
}

/**
 * Which objects a task copies. An object is selected when an `include` rule matches it; its
 * operations are the union of the matching include rules' `ops`. A matching `exclude` rule
 * without `ops` drops the object; one with `ops` removes only those operations.
 */
export interface SelectionSpec {
  include: readonly ObjectRule[];
  exclude?: readonly ObjectRule[];
}

const OP_BITS: Readonly<Record<Op, number>> = { insert: 1, update: 2, delete: 4, truncate: 8, ddl: 16, heartbeat: 0 };
const ALL_OPS = 31;
const SELECTABLE = new Set<string>(['insert', 'update', 'delete', 'truncate', 'ddl']);

interface CompiledRule {
  database: RegExp | undefined;
  schema: RegExp | undefined;
  table: RegExp | undefined;
  mask: number;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

function compileRule(rule: ObjectRule, path: string, issues: { path: string; message: string; fix?: string }[]): CompiledRule {
  let mask = ALL_OPS;
  if (rule.ops !== undefined) {
    mask = 0;
    rule.ops.forEach((op, i) => {
      if (SELECTABLE.has(op)) mask |= OP_BITS[op];
      else issues.push({ path: `${path}.ops[${i}]`, message: `unknown operation '${String(op)}'`, fix: 'use insert, update, delete, truncate or ddl' });
    });
  }
  return {
    database: rule.database === undefined ? undefined : globToRegExp(rule.database),
    schema: rule.schema === undefined ? undefined : globToRegExp(rule.schema),
    table: rule.table === undefined ? undefined : globToRegExp(rule.table),
    mask,
  };
}

function ruleMatches(rule: CompiledRule, ref: TableRef): boolean {
  if (rule.database !== undefined && !rule.database.test(ref.database)) return false;
  // An object without a schema (a MongoDB collection) matches only a schema pattern that accepts anything.
  if (rule.schema !== undefined && !rule.schema.test(ref.schema ?? '')) return false;
  if (rule.table !== undefined && !rule.table.test(ref.table)) return false;
  return true;
}

/** A selection compiled once; the decision per table is computed once and cached. */
export class ObjectSelector {
  private readonly include: readonly CompiledRule[];
  private readonly exclude: readonly CompiledRule[];
  private readonly byShape = new WeakMap<TableShape, number>();
  private readonly byName = new Map<string, number>();
  /** The last shape asked about and its mask: consecutive events mostly share a table. */
  private lastShape: TableShape | null = null;
  private lastMask = 0;

  constructor(spec: SelectionSpec) {
    const issues: { path: string; message: string; fix?: string }[] = [];
    this.include = spec.include.map((r, i) => compileRule(r, `selection.include[${i}]`, issues));
    this.exclude = (spec.exclude ?? []).map((r, i) => compileRule(r, `selection.exclude[${i}]`, issues));
    if (issues.length > 0) throw new ConfigError(issues, 'object selection');
  }

  /** Bit mask of the selected operations of a table (0: not selected). */
  private maskForRef(ref: TableRef): number {
    const key = ref.schema === undefined ? `${ref.database}\u0000\u0000${ref.table}` : `${ref.database}\u0000${ref.schema}\u0001${ref.table}`;
    let mask = this.byName.get(key);
    if (mask === undefined) {
      mask = 0;
      for (const r of this.include) if (ruleMatches(r, ref)) mask |= r.mask;
      for (const r of this.exclude) if (mask !== 0 && ruleMatches(r, ref)) mask &= ~r.mask;
      this.byName.set(key, mask);
    }
    return mask;
  }

  private maskFor(shape: TableShape): number {
    if (shape === this.lastShape) return this.lastMask;
    let mask = this.byShape.get(shape);
    if (mask === undefined) {
      mask = this.maskForRef(shape.ref);
      this.byShape.set(shape, mask);
    }
    this.lastShape = shape;
    this.lastMask = mask;
    return mask;
  }

  /** Whether the table is selected for at least one operation. */
  selectsTable(ref: TableRef): boolean {
    return this.maskForRef(ref) !== 0;
  }

  /** Whether the table is selected for `op`. Heartbeats are always accepted. */
  selects(ref: TableRef, op: Op): boolean {
    return op === 'heartbeat' || (this.maskForRef(ref) & OP_BITS[op]) !== 0;
  }

  /** Whether an event passes the selection. Heartbeats always pass. */
  accepts(event: ChangeEvent): boolean {
    return event.op === 'heartbeat' || (this.maskFor(event.shape) & OP_BITS[event.op]) !== 0;
  }
}

/** Keeps the events whose table and operation are selected; heartbeats always pass. */
export function selectObjects(selection: SelectionSpec | ObjectSelector): MonoTypeOperatorFunction<ChangeEvent> {
  const selector = selection instanceof ObjectSelector ? selection : new ObjectSelector(selection);
  return filter((event) => selector.accepts(event));
}
