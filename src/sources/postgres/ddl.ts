import type pg from 'pg';
import { FatalError } from '../../core/errors.js';
import type { TableRef, TableShape } from '../../core/events.js';
import { ident, qualified } from './catalog.js';
import { DDL_TABLE } from './helpers.js';

/**
 * DDL capture for PostgreSQL and PolarDB for PostgreSQL (seed 003): an event trigger writes each
 * supported DDL statement into the helper table `dts_ddl_command`, which is part of the task's
 * publication, so its inserts arrive in the replication stream in commit order and become `ddl`
 * events. AnalyticDB for PostgreSQL does not synchronize DDL (seed 002).
 *
 * Not synchronized, as seed 003 lists: statements with CASCADE or RESTRICT, statements containing
 * IF NOT EXISTS, statements that do not name the schema of their object, DDL run inside a function
 * or procedure (the top-level statement is then SELECT/CALL/DO), DDL from a session with
 * session_replication_role = replica (event triggers do not fire there), and transactions that
 * contain both DML and DDL (dropped by the stream reader, see `stream.ts`).
 */

/** Event trigger function and trigger names (one set per database, shared by the tasks on it). */
export const DDL_FUNCTION = 'dts_capture_ddl';
export const DDL_TRIGGER_END = 'dts_capture_ddl_end';
export const DDL_TRIGGER_DROP = 'dts_capture_ddl_drop';
/** Sessions that set this to `on` (Tributary's own setup connections) are not captured. */
export const DDL_SKIP_SETTING = 'dts.skip_ddl';

/** Command tags that are synchronized (seed 003's DDL row; RENAME is an ALTER TABLE tag). */
export const DDL_TAGS = [
  'CREATE TABLE',
  'ALTER TABLE',
  'DROP TABLE',
  'CREATE VIEW',
  'ALTER VIEW',
  'DROP VIEW',
  'CREATE PROCEDURE',
  'ALTER PROCEDURE',
  'DROP PROCEDURE',
  'CREATE FUNCTION',
  'DROP FUNCTION',
  'CREATE INDEX',
  'DROP INDEX',
] as const;

/** One row of `dts_ddl_command` as pgoutput delivers it (text values). */
export interface DdlRow {
  id: string;
  tag: string;
  object_type: string | null;
  schema_name: string | null;
  object_name: string | null;
  ddl: string;
}

function tagList(): string {
  return DDL_TAGS.map((t) => `'${t}'`).join(', ');
}

/**
 * PL/pgSQL body shared by both triggers. For CREATE/ALTER the object comes from
 * pg_event_trigger_ddl_commands(); for DROP (sql_drop) from pg_event_trigger_dropped_objects().
 * An index is reported under its table's name so that table selection applies to it.
 */
function functionSql(schema: string): string {
  const table = qualified(schema, DDL_TABLE);
  return `
CREATE OR REPLACE FUNCTION ${qualified(schema, DDL_FUNCTION)}() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  q text := current_query();
  body text;
  obj record;
  v_type text;
  v_schema text;
  v_name text;
BEGIN
  IF coalesce(current_setting('${DDL_SKIP_SETTING}', true), '') = 'on' THEN RETURN; END IF;
  IF tg_tag NOT IN (${tagList()}) THEN RETURN; END IF;
  IF q IS NULL THEN RETURN; END IF;
  -- Leading comments and blanks off; DDL run from a function has SELECT/CALL/DO at the top.
  body := regexp_replace(q, '^(\\s|--[^\\n]*\\n|/\\*.*?\\*/)*', '');
  IF upper(coalesce(substring(body from '^[A-Za-z]+'), '')) <> split_part(tg_tag, ' ', 1) THEN RETURN; END IF;
  IF body ~* '\\mIF\\s+NOT\\s+EXISTS\\M' OR body ~* '\\m(CASCADE|RESTRICT)\\M' THEN RETURN; END IF;
  IF tg_event = 'sql_drop' THEN
    SELECT d.object_type, d.schema_name, coalesce(d.object_name, d.address_names[array_upper(d.address_names, 1)]) AS name INTO obj
      FROM pg_event_trigger_dropped_objects() d
     WHERE d.original AND d.schema_name IS NOT NULL LIMIT 1;
    IF NOT FOUND THEN RETURN; END IF;
    v_type := obj.object_type; v_schema := obj.schema_name; v_name := obj.name;
  ELSE
    IF tg_tag LIKE 'DROP %' THEN RETURN; END IF; -- reported by the sql_drop trigger
    SELECT c.object_type, c.schema_name, c.objid, c.classid INTO obj
      FROM pg_event_trigger_ddl_commands() c
     WHERE c.command_tag = tg_tag AND c.schema_name IS NOT NULL AND NOT c.in_extension LIMIT 1;
    IF NOT FOUND THEN RETURN; END IF;
    v_type := obj.object_type; v_schema := obj.schema_name;
    IF obj.classid = 'pg_class'::regclass THEN
      IF obj.object_type = 'index' THEN
        SELECT t.relname INTO v_name FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE i.indexrelid = obj.objid;
      ELSE
        SELECT relname INTO v_name FROM pg_class WHERE oid = obj.objid;
      END IF;
    ELSIF obj.classid = 'pg_proc'::regclass THEN
      SELECT proname INTO v_name FROM pg_proc WHERE oid = obj.objid;
    END IF;
  END IF;
  IF v_schema LIKE 'pg\\_temp%' OR v_schema LIKE 'pg\\_toast%' OR v_name LIKE 'dts\\_%' THEN RETURN; END IF;
  -- Statements that do not name the schema are not synchronized (seed 003).
  IF body !~* ('(^|[^a-z0-9_$"])("' || replace(v_schema, '"', '""') || '"|' || v_schema || ')\\s*\\.') THEN RETURN; END IF;
  INSERT INTO ${table} (tag, object_type, schema_name, object_name, ddl)
  VALUES (tg_tag, v_type, v_schema, v_name, q);
END
$fn$`;
}

/** Creates (or refreshes) the helper table, function and event triggers. Needs a superuser (CREATE EVENT TRIGGER). */
export async function ensureDdlCapture(client: pg.Client, schema: string): Promise<void> {
  await client.query(`SET ${DDL_SKIP_SETTING} = 'on'`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, DDL_TABLE)} (
       id bigserial PRIMARY KEY, tag text NOT NULL, object_type text, schema_name text, object_name text,
       ddl text NOT NULL, username text NOT NULL DEFAULT current_user, created timestamptz NOT NULL DEFAULT now())`,
  );
  await client.query(functionSql(schema));
  const existing = new Set(
    (await client.query<{ evtname: string }>('SELECT evtname FROM pg_event_trigger WHERE evtname = ANY($1)', [[DDL_TRIGGER_END, DDL_TRIGGER_DROP]])).rows.map((r) => r.evtname),
  );
  if (!existing.has(DDL_TRIGGER_END)) {
    await client.query(`CREATE EVENT TRIGGER ${ident(DDL_TRIGGER_END)} ON ddl_command_end EXECUTE FUNCTION ${qualified(schema, DDL_FUNCTION)}()`);
  }
  if (!existing.has(DDL_TRIGGER_DROP)) {
    await client.query(`CREATE EVENT TRIGGER ${ident(DDL_TRIGGER_DROP)} ON sql_drop EXECUTE FUNCTION ${qualified(schema, DDL_FUNCTION)}()`);
  }
}

/**
 * Drops the triggers, function and table unless another task's publication still includes the
 * table (the objects are per database, shared by its tasks).
 */
export async function dropDdlCapture(client: pg.Client, schema: string, publication: string): Promise<void> {
  const others = await client.query(
    `SELECT 1 FROM pg_publication_tables WHERE schemaname = $1 AND tablename = $2 AND pubname <> $3`,
    [schema, DDL_TABLE, publication],
  );
  if ((others.rowCount ?? 0) > 0) return;
  await client.query(`SET ${DDL_SKIP_SETTING} = 'on'`);
  await client.query(`DROP EVENT TRIGGER IF EXISTS ${ident(DDL_TRIGGER_END)}`);
  await client.query(`DROP EVENT TRIGGER IF EXISTS ${ident(DDL_TRIGGER_DROP)}`);
  await client.query(`DROP FUNCTION IF EXISTS ${qualified(schema, DDL_FUNCTION)}()`);
  await client.query(`DROP TABLE IF EXISTS ${qualified(schema, DDL_TABLE)}`);
}

/** Turns helper-table rows into DDL events' shapes; one shape per object, so selection caches hold. */
export class DdlShapes {
  private readonly shapes = new Map<string, TableShape>();
  constructor(private readonly database: string) {}

  shapeFor(row: Pick<DdlRow, 'schema_name' | 'object_name'>): TableShape {
    const schema = row.schema_name ?? 'public';
    const table = row.object_name ?? '';
    const key = `${schema}\u0000${table}`;
    let shape = this.shapes.get(key);
    if (!shape) {
      const ref: TableRef = { database: this.database, schema, table };
      shape = { ref, columns: [], key: [] };
      this.shapes.set(key, shape);
    }
    return shape;
  }
}

/** Column name/type pairs of a table, for detecting DDL that ran during full synchronization. */
export async function readColumns(client: pg.Client, schema: string, table: string): Promise<string[] | null> {
  const r = await client.query<{ col: string }>(
    `SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) AS col
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, table],
  );
  if (r.rows.length === 0) {
    const exists = await client.query('SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2', [schema, table]);
    if ((exists.rowCount ?? 0) === 0) return null;
  }
  return r.rows.map((x) => x.col);
}

/** The error a full synchronization fails with when a selected table's definition changed under it. */
export function ddlDuringFullSync(schema: string, table: string, before: readonly string[], after: readonly string[] | null): FatalError {
  const what = after === null ? 'was dropped or renamed' : `changed from (${before.join(', ')}) to (${after.join(', ')})`;
  return new FatalError('DDL_DURING_FULL_SYNC', `Table ${schema}.${table} ${what} while full synchronization was copying it; the copied rows may not match its definition.`, {
    object: `${schema}.${table}`,
    fix: 'Do not run DDL on selected tables during schema or full synchronization. Release the task (drops its slot) and start it again once the DDL is done.',
  });
}
