import type { PrecheckItem } from '../core/contracts.js';
import type { TableShape } from '../core/events.js';
import { qualifiedName } from '../core/events.js';
import { FilterSyntaxError } from '../operators/filters/FilterSyntaxError.js';
import { bindSqlWhere, parseSqlWhere } from '../operators/filters/sqlWhere.js';
import type { ObjectPlan } from './objects.js';

/**
 * Checks the columns the task's objects name (row filters, `columns`, `columnRename`) against
 * the selected tables' definitions, before anything runs: an unknown column is a precheck failure
 * naming the table and the column, not an error at the first row. Schemaless sources (no declared
 * columns) are not checked. Pure.
 */
export function checkObjectColumns(shapes: readonly TableShape[], plan: Pick<ObjectPlan, 'filters' | 'mapping'>): PrecheckItem {
  const problems: string[] = [];
  for (const shape of shapes) {
    if (shape.columns.length === 0) continue;
    const name = qualifiedName(shape.ref);
    const names = new Set(shape.columns.map((c) => c.name));
    const cm = Object.prototype.hasOwnProperty.call(plan.mapping.columns ?? {}, name) ? plan.mapping.columns?.[name] : undefined;
    for (const c of cm?.select ?? []) if (!names.has(c)) problems.push(`${name}: columns names '${c}', which the table does not have`);
    for (const k of shape.key) if (cm?.select !== undefined && !cm.select.includes(k)) problems.push(`${name}: columns leaves out key column '${k}'`);
    for (const c of Object.keys(cm?.rename ?? {})) if (!names.has(c)) problems.push(`${name}: columnRename names '${c}', which the table does not have`);
    for (const f of plan.filters) {
      if (f.where === undefined || f.database !== shape.ref.database || (f.schema ?? 'public') !== shape.ref.schema || f.table !== shape.ref.table) continue;
      try {
        bindSqlWhere(parseSqlWhere(f.where, name), shape.columns, name, f.where);
      } catch (err) {
        if (!(err instanceof FilterSyntaxError)) throw err;
        problems.push(`${name}: filter ${(err.message.split('\n')[0] ?? err.message).replace(/^Filter condition for .*? is invalid: /, '')}`);
      }
    }
  }
  const title = 'Columns named by the objects exist';
  return problems.length === 0
    ? { id: 'source.columns', group: 'source', title, status: 'pass' }
    : { id: 'source.columns', group: 'source', title, status: 'fail', detail: problems.join('; '), fix: 'Correct the column names in the objects\' filter, columns and columnRename (names are case-sensitive when quoted).' };
}
