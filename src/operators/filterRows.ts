import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import type { ChangeEvent, TableRef, TableShape } from '../core/events.js';
import { qualifiedName } from '../core/events.js';
import { ConfigError } from '../core/errors.js';
import { compileMongoQuery, type MongoQuery } from './filters/mongoQuery.js';
import { bindSqlWhere, parseSqlWhere, type RowPredicate, type SqlNode } from './filters/sqlWhere.js';

/**
 * A row filter for one table or collection: `where` (SQL WHERE subset, relational sources) or
 * `query` (MongoDB query document), not both.
 */
export interface RowFilterRule {
  database: string;
  schema?: string;
  table: string;
  where?: string;
  query?: MongoQuery;
}

type Compiled = { kind: 'sql'; node: SqlNode; text: string; name: string } | { kind: 'mongo'; predicate: RowPredicate };

function refKey(ref: TableRef): string {
  return ref.schema === undefined ? `${ref.database}\u0000\u0000${ref.table}` : `${ref.database}\u0000${ref.schema}\u0001${ref.table}`;
}

/**
 * Keeps the rows that match their table's filter condition; tables without a rule pass unchanged,
 * as do heartbeats, DDL and truncates. Inserts and updates are tested on `after`, deletes on
 * `before`. An event whose image is absent (a partial MongoDB update with only `patch`, a delete
 * with only the key) is kept: it cannot be decided, and dropping it could lose a change.
 * An update that moves a row out of the filter (before matched, after does not) is dropped, so
 * the destination keeps the old row: the same semantics as a WHERE-filtered copy.
 *
 * Conditions are parsed when the operator is created (a syntax error throws FilterSyntaxError
 * naming the table and the position) and bound once per table version (column names resolved).
 */
export function filterRows(rules: readonly RowFilterRule[]): MonoTypeOperatorFunction<ChangeEvent> {
  const byName = new Map<string, Compiled>();
  const issues: { path: string; message: string; fix?: string }[] = [];
  rules.forEach((rule, i) => {
    const name = qualifiedName(rule);
    if ((rule.where === undefined) === (rule.query === undefined)) {
      issues.push({ path: `filters[${i}]`, message: `${name} needs exactly one of 'where' or 'query'`, fix: "use 'where' for relational tables and 'query' for MongoDB collections" });
      return;
    }
    const key = refKey(rule);
    if (byName.has(key)) {
      issues.push({ path: `filters[${i}]`, message: `${name} has more than one filter`, fix: 'combine the conditions with AND into one filter' });
      return;
    }
    if (rule.where !== undefined) byName.set(key, { kind: 'sql', node: parseSqlWhere(rule.where, name), text: rule.where, name });
    else byName.set(key, { kind: 'mongo', predicate: compileMongoQuery(rule.query as MongoQuery, name) });
  });
  if (issues.length > 0) throw new ConfigError(issues, 'row filters');

  const byShape = new WeakMap<TableShape, RowPredicate | null>();
  const predicateFor = (shape: TableShape): RowPredicate | null => {
    let p = byShape.get(shape);
    if (p === undefined) {
      const c = byName.get(refKey(shape.ref));
      p = c === undefined ? null : c.kind === 'mongo' ? c.predicate : bindSqlWhere(c.node, shape.columns, c.name, c.text);
      byShape.set(shape, p);
    }
    return p;
  };

  return filter((event) => {
    const op = event.op;
    if (op !== 'insert' && op !== 'update' && op !== 'delete') return true;
    const predicate = predicateFor(event.shape);
    if (predicate === null) return true;
    const row = op === 'delete' ? event.before : event.after;
    if (row === null || row === undefined) return true;
    return predicate(row);
  });
}
