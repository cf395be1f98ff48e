import type pg from 'pg';
import type { Column, TableRef, TableShape } from '../../core/events.js';
import { postgresColumn } from './values.js';

/** A table as the catalog describes it. Partitions are listed under their root. */
export interface CatalogTable {
  oid: number;
  ref: TableRef;
  kind: 'table' | 'partitioned';
  persistence: 'permanent' | 'unlogged' | 'temporary';
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  pages: number;
  estimatedRows: number;
  /** The heap's relfilenode (changes when VACUUM FULL, CLUSTER or TRUNCATE rewrite it). */
  filenode: string;
  shape: TableShape;
  /** Leaf partitions (for partitioned tables), read one by one during full sync. */
  partitions: Array<{ oid: number; schema: string; table: string; pages: number; estimatedRows: number; filenode: string }>;
  /** True when the table has neither a primary key nor a usable unique constraint. */
  keyless: boolean;
  /**
   * Unique indexes that cannot identify rows (on expressions, partial, over nullable columns or
   * deferrable), with why: a keyless table that has some is told so, not just "no primary key".
   */
  unusableKeys: Array<{ index: string; reason: string }>;
}

const IDENTITY: Record<string, CatalogTable['replicaIdentity']> = { d: 'default', n: 'nothing', f: 'full', i: 'index' };
const PERSISTENCE: Record<string, CatalogTable['persistence']> = { p: 'permanent', u: 'unlogged', t: 'temporary' };

export function typmodDetails(typname: string, typmod: number): Pick<Column, 'precision' | 'scale'> {
  if (typmod < 0) return {};
  if (typname === 'numeric') return { precision: ((typmod - 4) >> 16) & 0xffff, scale: (typmod - 4) & 0xffff };
  if (typname === 'varchar' || typname === 'bpchar') return { precision: typmod - 4 };
  if (typname === 'timestamp' || typname === 'timestamptz' || typname === 'time' || typname === 'timetz') return { precision: typmod };
  return {};
}

/**
 * Reads the user tables of the connected database (system schemas, TOAST and temp schemas
 * excluded), with columns, keys and partitions. One round trip per query, whatever the table count.
 */
export async function readCatalog(client: pg.Client, database: string): Promise<CatalogTable[]> {
  const tables = await client.query<{
    oid: number; nspname: string; relname: string; relkind: string; relpersistence: string; relreplident: string;
    relpages: number; reltuples: number; root: number | null; filenode: string;
  }>(`
    SELECT c.oid::int AS oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.relreplident, c.relpages::int AS relpages,
           pg_relation_filenode(c.oid)::text AS filenode,
           GREATEST(c.reltuples, 0)::float8 AS reltuples,
           CASE WHEN c.relispartition THEN (SELECT r.relid::int FROM pg_partition_ancestors(c.oid) r
             JOIN pg_class rc ON rc.oid = r.relid WHERE NOT rc.relispartition LIMIT 1) END AS root
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
     ORDER BY n.nspname, c.relname`);
  const roots = tables.rows.filter((t) => t.root === null);
  const oids = roots.map((t) => t.oid);
  const columns = await client.query<{ attrelid: number; attname: string; atttypid: number; typname: string; atttypmod: number; attnotnull: boolean }>(
    `SELECT a.attrelid::int AS attrelid, a.attname, a.atttypid::int AS atttypid, t.typname, a.atttypmod, a.attnotnull
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  const keys = await client.query<{ indrelid: number; indisprimary: boolean; cols: string[]; usable: boolean; index: string; reason: string | null }>(
    `SELECT i.indrelid::int AS indrelid, i.indisprimary, ic.relname AS index,
            CASE WHEN i.indexprs IS NOT NULL AND i.indpred IS NOT NULL
                   THEN 'on expressions and partial (' || pg_get_expr(i.indpred, i.indrelid) || ')'
                 WHEN i.indexprs IS NOT NULL OR 0 = ANY (i.indkey) THEN 'on expressions'
                 WHEN i.indpred IS NOT NULL THEN 'partial (WHERE ' || pg_get_expr(i.indpred, i.indrelid) || ')'
                 WHEN NOT i.indimmediate THEN 'deferrable'
                 ELSE 'over nullable columns' END AS reason,
            ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS cols,
            (i.indexprs IS NULL AND i.indpred IS NULL AND i.indimmediate
             AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) k(attnum) JOIN pg_attribute a
                             ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE NOT a.attnotnull)
             AND 0 <> ALL (i.indkey)) AS usable
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
      WHERE i.indisunique AND i.indisvalid AND i.indrelid = ANY($1::oid[])
      ORDER BY i.indrelid, i.indisprimary DESC, i.indexrelid`,
    [oids],
  );
  const colsByRel = new Map<number, Column[]>();
  for (const c of columns.rows) {
    const list = colsByRel.get(c.attrelid) ?? [];
    list.push(postgresColumn({ name: c.attname, type: c.typname, typeId: c.atttypid, nullable: !c.attnotnull, ...typmodDetails(c.typname, c.atttypmod) }));
    colsByRel.set(c.attrelid, list);
  }
  const keyByRel = new Map<number, string[]>();
  const unusableByRel = new Map<number, CatalogTable['unusableKeys']>();
  for (const k of keys.rows) {
    if (k.usable) {
      if (!keyByRel.has(k.indrelid)) keyByRel.set(k.indrelid, k.cols);
    } else {
      const list = unusableByRel.get(k.indrelid) ?? [];
      list.push({ index: k.index, reason: k.reason ?? 'not usable' });
      unusableByRel.set(k.indrelid, list);
    }
  }

  return roots.map((t) => {
    const ref: TableRef = { database, schema: t.nspname, table: t.relname };
    const key = keyByRel.get(t.oid);
    const partitions = tables.rows
      .filter((p) => p.root === t.oid && p.relkind === 'r')
      .map((p) => ({ oid: p.oid, schema: p.nspname, table: p.relname, pages: p.relpages, estimatedRows: Math.round(p.reltuples), filenode: p.filenode ?? '' }));
    return {
      oid: t.oid,
      ref,
      kind: t.relkind === 'p' ? 'partitioned' : 'table',
      persistence: PERSISTENCE[t.relpersistence] ?? 'permanent',
      replicaIdentity: IDENTITY[t.relreplident] ?? 'default',
      pages: t.relkind === 'p' ? partitions.reduce((s, p) => s + p.pages, 0) : t.relpages,
      estimatedRows: t.relkind === 'p' ? partitions.reduce((s, p) => s + p.estimatedRows, 0) : Math.round(t.reltuples),
      filenode: t.filenode ?? '',
      shape: { ref, columns: colsByRel.get(t.oid) ?? [], key: key ?? [] },
      partitions,
      keyless: key === undefined,
      unusableKeys: unusableByRel.get(t.oid) ?? [],
    } satisfies CatalogTable;
  });
}

/** Double-quotes an identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(schema: string | undefined, table: string): string {
  return schema === undefined ? ident(table) : `${ident(schema)}.${ident(table)}`;
}
