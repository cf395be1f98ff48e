import type { TableRef } from '../core/events.js';
import type { TaskConfig } from '../config/schema.js';
import type { NameMapping, ObjectRule, RowFilterRule, SelectableOp, SelectionSpec } from '../operators/index.js';
import { NameMapper } from '../operators/index.js';
import type { TableRoute } from '../core/contracts.js';

/** The task's `objects` and `exclude`, translated once into what the operators and sinks take. */
export interface ObjectPlan {
  selection: SelectionSpec;
  mapping: NameMapping;
  filters: RowFilterRule[];
  /** Per destination table: Kafka topic and partition key. */
  routes: Map<string, TableRoute>;
  /** Partition counts for topics the task may create. */
  partitions: Map<string, number>;
  /** Destination names of the tables named one by one in `objects`. */
  tables: TableRef[];
}

/** The database every relational object belongs to (PostgreSQL and Db2 tasks read one database). */
function taskDatabase(cfg: TaskConfig): string | undefined {
  return cfg.source.type === 'mongodb' ? undefined : cfg.source.database;
}

function opsOf(ops: readonly string[] | undefined): SelectableOp[] | undefined {
  if (!ops) return undefined;
  const out = new Set<SelectableOp>(ops as SelectableOp[]);
  // TRUNCATE removes rows: it travels with deletes.
  if (out.has('delete')) out.add('truncate');
  return [...out];
}

export function refKey(ref: TableRef): string {
  return ref.schema === undefined ? `${ref.database}.${ref.table}` : `${ref.database}.${ref.schema}.${ref.table}`;
}

export function planObjects(cfg: TaskConfig): ObjectPlan {
  const db = taskDatabase(cfg);
  const mongo = cfg.source.type === 'mongodb';
  const include: ObjectRule[] = [];
  const exclude: ObjectRule[] = [];
  const mapping: { databases: Record<string, string>; schemas: Record<string, string>; tables: Record<string, string>; columns: Record<string, { select?: readonly string[]; rename?: Readonly<Record<string, string>> }> } = {
    databases: {},
    schemas: {},
    tables: {},
    columns: {},
  };
  const filters: RowFilterRule[] = [];
  const routes = new Map<string, TableRoute>();
  const partitions = new Map<string, number>();
  const tableRefs: Array<{ ref: TableRef; route: TableRoute }> = [];

  for (const o of cfg.objects) {
    const database = o.database ?? db;
    const table = mongo ? o.collection : o.table;
    const rule: ObjectRule = {};
    if (database !== undefined) rule.database = database;
    if (!mongo) rule.schema = o.schema ?? (table !== undefined ? 'public' : '*');
    if (table !== undefined) rule.table = table;
    const ops = opsOf(o.ops);
    if (ops) rule.ops = ops;
    include.push(rule);

    if (database !== undefined && o.rename?.database) mapping.databases[database] = o.rename.database;
    if (!mongo && database !== undefined && o.schema && o.rename?.schema && table === undefined) mapping.schemas[`${database}.${o.schema}`] = o.rename.schema;
    if (table !== undefined && database !== undefined) {
      const ref: TableRef = mongo ? { database, table } : { database, schema: o.schema ?? 'public', table };
      const key = refKey(ref);
      const newName = mongo ? o.rename?.collection : o.rename?.table;
      if (newName) mapping.tables[key] = newName;
      if (!mongo && o.rename?.schema) mapping.schemas[`${database}.${ref.schema}`] = o.rename.schema;
      if (o.columns || o.columnRename) mapping.columns[key] = { ...(o.columns ? { select: o.columns } : {}), ...(o.columnRename ? { rename: o.columnRename } : {}) };
      if (o.filter) {
        filters.push(mongo ? { database, table, query: JSON.parse(o.filter) as RowFilterRule['query'] } : { database, schema: ref.schema ?? 'public', table, where: o.filter });
      }
      const route: TableRoute = {};
      if (o.topic) route.topic = o.topic;
      if (o.partitionKey) route.partitionKey = o.partitionKey;
      tableRefs.push({ ref, route });
      if (o.topic && o.partitions) partitions.set(o.topic, o.partitions);
    }
  }
  for (const x of cfg.exclude) {
    const rule: ObjectRule = {};
    const database = x.database ?? db;
    if (database !== undefined) rule.database = database;
    if (!mongo && x.schema) rule.schema = x.schema;
    const table = mongo ? x.collection : x.table;
    if (table) rule.table = table;
    exclude.push(rule);
  }
  const nameMapping: NameMapping = { ...mapping, capitalization: cfg.nameCase };
  // Routes are looked up by the destination name the sink sees.
  const mapper = new NameMapper(nameMapping);
  const tables: TableRef[] = [];
  for (const { ref, route } of tableRefs) {
    const dest = mapper.mapRef(ref);
    routes.set(refKey(dest), route);
    tables.push(dest);
  }
  return { selection: { include, exclude }, mapping: nameMapping, filters, routes, partitions, tables };
}
