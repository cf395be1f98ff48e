import type pg from 'pg';
import { ident, qualified } from './catalog.js';

/**
 * Tables created later in a schema the task selects whole must be published from their creation
 * on. How depends on the server and the account:
 *
 * - `inSchema`: PostgreSQL 15 and later with a superuser: the publication names the schema
 *   (`FOR TABLES IN SCHEMA`), so the server itself publishes every table created there.
 * - `joinTrigger`: older servers with a superuser: the publication is a table list, and an event
 *   trigger adds every table created in a registered schema to the publications registered for it,
 *   in the creating transaction, so no change made to the new table is missed (rows written by the
 *   creating statement itself, `CREATE TABLE ... AS` and `SELECT INTO`, come before the table joins).
 * - `fixed`: without a superuser neither is allowed: the table list is fixed when the task starts,
 *   and the precheck warns.
 */
export type SchemaPublishing = 'inSchema' | 'joinTrigger' | 'fixed';

export function schemaPublishing(serverVersionNum: number, superuser: boolean): SchemaPublishing {
  if (!superuser) return 'fixed';
  return serverVersionNum >= 150000 ? 'inSchema' : 'joinTrigger';
}

/** Reads what `schemaPublishing` needs from the server. */
export async function readSchemaPublishing(client: pg.Client): Promise<SchemaPublishing> {
  const r = await client.query<{ v: number; su: boolean | null }>(
    `SELECT current_setting('server_version_num')::int AS v, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su`,
  );
  const row = r.rows[0];
  return schemaPublishing(row?.v ?? 0, row?.su === true);
}

export const JOIN_TABLE = 'dts_publication_schemas';
export const JOIN_FUNCTION = 'dts_publication_join';
export const JOIN_TRIGGER = 'dts_publication_join';
const JOIN_TAGS = ['CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO'] as const;

/**
 * The trigger function. SECURITY DEFINER so that a table created by any account joins (ALTER
 * PUBLICATION needs the publication's owner). A table already in the publication is left as it
 * is; any other failure fails the CREATE, since a table that cannot join would lose its changes.
 * Partitions are published through their root (`publish_via_partition_root`) and never join alone.
 */
function functionSql(schema: string): string {
  const table = qualified(schema, JOIN_TABLE);
  return `
CREATE OR REPLACE FUNCTION ${qualified(schema, JOIN_FUNCTION)}() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  cmd record;
  pub record;
BEGIN
  FOR cmd IN
    SELECT c.schema_name, cl.relname
      FROM pg_event_trigger_ddl_commands() c JOIN pg_class cl ON cl.oid = c.objid
     WHERE c.classid = 'pg_class'::regclass AND c.object_type = 'table' AND NOT c.in_extension
       AND cl.relkind IN ('r', 'p') AND cl.relpersistence = 'p' AND NOT cl.relispartition
  LOOP
    FOR pub IN
      SELECT j.pubname FROM ${table} j JOIN pg_publication p ON p.pubname = j.pubname
       WHERE j.schema_name = cmd.schema_name AND NOT p.puballtables
    LOOP
      BEGIN
        EXECUTE format('ALTER PUBLICATION %I ADD TABLE %I.%I', pub.pubname, cmd.schema_name, cmd.relname);
      EXCEPTION WHEN duplicate_object THEN NULL;
      END;
    END LOOP;
  END LOOP;
END
$fn$`;
}

/**
 * Registers the publication's whole schemas (replacing what it had) and makes sure the table,
 * function and trigger exist. Needs a superuser (CREATE EVENT TRIGGER).
 */
export async function ensureSchemaJoin(client: pg.Client, helperSchema: string, publication: string, schemas: readonly string[]): Promise<void> {
  const table = qualified(helperSchema, JOIN_TABLE);
  await client.query(`CREATE TABLE IF NOT EXISTS ${table} (pubname name NOT NULL, schema_name name NOT NULL, PRIMARY KEY (pubname, schema_name))`);
  await client.query(functionSql(helperSchema));
  const exists = await client.query('SELECT 1 FROM pg_event_trigger WHERE evtname = $1', [JOIN_TRIGGER]);
  if ((exists.rowCount ?? 0) === 0) {
    await client.query(
      `CREATE EVENT TRIGGER ${ident(JOIN_TRIGGER)} ON ddl_command_end WHEN TAG IN (${JOIN_TAGS.map((t) => `'${t}'`).join(', ')}) EXECUTE FUNCTION ${qualified(helperSchema, JOIN_FUNCTION)}()`,
    );
  }
  await client.query(`DELETE FROM ${table} WHERE pubname = $1 AND NOT (schema_name = ANY($2::name[]))`, [publication, schemas]);
  await client.query(`INSERT INTO ${table} (pubname, schema_name) SELECT $1, unnest($2::name[]) ON CONFLICT DO NOTHING`, [publication, schemas]);
}

/**
 * Adds the tables of the schemas that are not in the publication yet: those created between the
 * task reading the catalog and setting the publication's table list, which the trigger could not
 * add to a list that was then replaced.
 */
export async function joinExistingTables(client: pg.Client, publication: string, schemas: readonly string[]): Promise<void> {
  const missing = await client.query<{ nspname: string; relname: string }>(
    `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($2::name[]) AND c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND NOT c.relispartition
        AND NOT EXISTS (SELECT 1 FROM pg_publication_tables t WHERE t.pubname = $1 AND t.schemaname = n.nspname AND t.tablename = c.relname)`,
    [publication, schemas],
  );
  for (const r of missing.rows) await client.query(`ALTER PUBLICATION ${ident(publication)} ADD TABLE ${qualified(r.nspname, r.relname)}`);
}

/** Forgets the publication's schemas; drops the trigger, function and table when no publication is left. */
export async function dropSchemaJoin(client: pg.Client, helperSchema: string, publication: string): Promise<void> {
  const table = qualified(helperSchema, JOIN_TABLE);
  const present = await client.query('SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2', [helperSchema, JOIN_TABLE]);
  if ((present.rowCount ?? 0) === 0) return;
  await client.query(`DELETE FROM ${table} WHERE pubname = $1`, [publication]);
  const left = await client.query(`SELECT 1 FROM ${table} LIMIT 1`);
  if ((left.rowCount ?? 0) > 0) return;
  await client.query(`DROP EVENT TRIGGER IF EXISTS ${ident(JOIN_TRIGGER)}`);
  await client.query(`DROP FUNCTION IF EXISTS ${qualified(helperSchema, JOIN_FUNCTION)}()`);
  await client.query(`DROP TABLE IF EXISTS ${table}`);
}
