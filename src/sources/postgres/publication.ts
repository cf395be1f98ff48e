import type pg from 'pg';
import type { Logger, PrecheckItem } from '../../core/contracts.js';
import { FatalError } from '../../core/errors.js';
import { ident, qualified, type CatalogTable } from './catalog.js';
import { dropSchemaJoin, ensureSchemaJoin, joinExistingTables, readSchemaPublishing, type SchemaPublishing } from './schemaJoin.js';

/**
 * The task's publication. Tributary tells its own publications from a user's by a comment:
 *
 * - absent: the task creates it over the selected tables and its helper tables, and marks it;
 * - marked for this task: its table list follows the selection (set again on every start), and
 *   releasing the task drops it;
 * - marked for another task: refused, since both tasks would rewrite its table list;
 * - anything else is the user's (publication.autocreate.mode = disabled in Debezium's terms):
 *   read as it is, never altered or dropped; the precheck says what it lacks for the task.
 */

const MARK_PREFIX = 'Created by Tributary for task ';

/** The comment on a publication Tributary created for a task. */
export function publicationMark(taskId: string): string {
  return `${MARK_PREFIX}${taskId}. Its tables follow the task's selection; releasing the task drops it.`;
}

/** The task a publication's comment names, or null when Tributary did not create it. */
export function markedTask(comment: string | null): string | null {
  if (comment === null || !comment.startsWith(MARK_PREFIX)) return null;
  const rest = comment.slice(MARK_PREFIX.length);
  const end = rest.indexOf('. ');
  return end > 0 ? rest.slice(0, end) : null;
}

/** A table the task needs in its publication besides the selected ones (heartbeat, DDL capture). */
export interface HelperTable {
  schema: string;
  table: string;
  /** What is lost when its changes do not arrive. */
  without: string;
  /** The option that turns it off. */
  option: string;
}

export interface PublicationTarget {
  name: string;
  taskId: string;
  selected: readonly CatalogTable[];
  helpers: readonly HelperTable[];
  /**
   * Schemas the task selects whole. Tables created there later are published (and streamed) from
   * their creation on: by `FOR TABLES IN SCHEMA` on PostgreSQL 15 and later, by an event trigger
   * on older servers (both need a superuser; see `schemaJoin.ts`); otherwise the table list is fixed.
   */
  schemas?: readonly string[];
  /** Where the event trigger's registration table lives (the heartbeat schema). */
  helperSchema?: string;
}

/** The publication's members: `TABLES IN SCHEMA ...` for whole schemas where the server and account allow it, then the tables outside them. */
async function membersOf(client: pg.Client, target: PublicationTarget, mode: SchemaPublishing): Promise<string> {
  const schemas = mode === 'inSchema' ? (target.schemas ?? []) : [];
  const inSchema = new Set(schemas);
  const tables = [
    ...target.selected.filter((t) => !inSchema.has(t.ref.schema ?? 'public')).map((t) => qualified(t.ref.schema ?? 'public', t.ref.table)),
    ...target.helpers.filter((h) => !inSchema.has(h.schema)).map((h) => qualified(h.schema, h.table)),
  ];
  const parts = [...(schemas.length > 0 ? [`TABLES IN SCHEMA ${schemas.map((s) => ident(s)).join(', ')}`] : []), ...(tables.length > 0 ? [`TABLE ${tables.join(', ')}`] : [])];
  return parts.join(', ');
}

interface Problem {
  level: 'fail' | 'warn';
  detail: string;
  fix: string;
}

export type PublicationState =
  | { kind: 'absent' }
  | { kind: 'task' }
  | { kind: 'otherTask'; task: string }
  | { kind: 'user'; allTables: boolean; problems: Problem[] };

const tableName = (t: CatalogTable) => `${t.ref.schema ?? 'public'}.${t.ref.table}`;
const keyOf = (schema: string, table: string) => `${schema}\u0000${table}`;

/** Reads the publication and, when it is the user's, what it lacks for the task. */
export async function inspectPublication(client: pg.Client, target: PublicationTarget): Promise<PublicationState> {
  const version = Number((await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
  const pub = (await client.query<{ oid: number; puballtables: boolean; pubinsert: boolean; pubupdate: boolean; pubdelete: boolean; pubtruncate: boolean; pubviaroot: boolean; note: string | null }>(
    `SELECT p.oid::int AS oid, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete,
            ${version >= 110000 ? 'p.pubtruncate' : 'false AS pubtruncate'}, ${version >= 130000 ? 'p.pubviaroot' : 'false AS pubviaroot'},
            obj_description(p.oid, 'pg_publication') AS note
       FROM pg_publication p WHERE p.pubname = $1`,
    [target.name],
  )).rows[0];
  if (!pub) return { kind: 'absent' };
  const owner = markedTask(pub.note);
  if (owner !== null && owner !== target.taskId) return { kind: 'otherTask', task: owner };
  // A FOR ALL TABLES publication cannot take a table list: read it as it is, whoever created it.
  if (owner === target.taskId && !pub.puballtables) return { kind: 'task' };

  const p = ident(target.name);
  const problems: Problem[] = [];
  const listed = new Set(
    (await client.query<{ schemaname: string; tablename: string }>('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [target.name])).rows.map((r) =>
      keyOf(r.schemaname, r.tablename),
    ),
  );
  const schemas =
    version >= 150000
      ? new Set((await client.query<{ nspname: string }>('SELECT n.nspname FROM pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid WHERE pn.pnpubid = $1', [pub.oid])).rows.map((r) => r.nspname))
      : new Set<string>();

  const actions = [pub.pubinsert ? null : 'INSERT', pub.pubupdate ? null : 'UPDATE', pub.pubdelete ? null : 'DELETE'].filter((a): a is string => a !== null);
  if (actions.length > 0 || !pub.pubtruncate) {
    const lost = pub.pubtruncate ? actions : [...actions, 'TRUNCATE'];
    problems.push({
      level: actions.length > 0 ? 'fail' : 'warn',
      detail: `it does not publish ${lost.join(', ')}, so those changes never reach the destination`,
      fix: `Publish every operation: ALTER PUBLICATION ${p} SET (publish = 'insert, update, delete, truncate');`,
    });
  }

  const missing: CatalogTable[] = [];
  const notViaRoot: CatalogTable[] = [];
  for (const t of target.selected) {
    const schema = t.ref.schema ?? 'public';
    if (t.kind === 'partitioned' && !pub.pubviaroot) {
      notViaRoot.push(t);
      const partitionsListed = t.partitions.length > 0 && t.partitions.every((x) => listed.has(keyOf(x.schema, x.table)));
      if (!pub.puballtables && !partitionsListed) missing.push(t);
    } else if (!pub.puballtables && !listed.has(keyOf(schema, t.ref.table))) {
      missing.push(t);
    }
  }
  if (missing.length > 0) {
    problems.push({
      level: 'fail',
      detail: `it does not include the selected table${missing.length === 1 ? '' : 's'} ${missing.map(tableName).join(', ')}, whose changes would never arrive`,
      fix: `Add ${missing.length === 1 ? 'it' : 'them'}: ALTER PUBLICATION ${p} ADD TABLE ${missing.map((t) => qualified(t.ref.schema ?? 'public', t.ref.table)).join(', ')}; or take ${missing.length === 1 ? 'it' : 'them'} out of the task's objects.`,
    });
  }
  if (notViaRoot.length > 0) {
    problems.push({
      level: 'fail',
      detail: `it publishes the changes of partitioned table${notViaRoot.length === 1 ? '' : 's'} ${notViaRoot.map(tableName).join(', ')} under the partitions' own names (publish_via_partition_root is off), which the task does not select`,
      fix: `Publish partitions under their root: ALTER PUBLICATION ${p} SET (publish_via_partition_root = true);`,
    });
  }

  if (version >= 150000 && target.selected.length > 0) {
    const rels = (await client.query<{ name: string; filtered: boolean; partial: boolean }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name, pr.prqual IS NOT NULL AS filtered,
              pr.prattrs IS NOT NULL AND cardinality(pr.prattrs::int2[]) <
                (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS partial
         FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE pr.prpubid = $1 AND pr.prrelid = ANY($2::oid[]) AND (pr.prqual IS NOT NULL OR pr.prattrs IS NOT NULL)
        ORDER BY 1`,
      [pub.oid, target.selected.flatMap((t) => [t.oid, ...t.partitions.map((x) => x.oid)])],
    )).rows;
    const partial = rels.filter((r) => r.partial).map((r) => r.name);
    const filtered = rels.filter((r) => r.filtered).map((r) => r.name);
    if (partial.length > 0) {
      problems.push({
        level: 'fail',
        detail: `it publishes only some columns of ${partial.join(', ')}: the destination would miss the others, and once the task sets REPLICA IDENTITY FULL PostgreSQL rejects every UPDATE and DELETE on ${partial.length === 1 ? 'that table' : 'those tables'} ("column list used by the publication does not cover the replica identity")`,
        fix: `Publish the whole table${partial.length === 1 ? '' : 's'}: ALTER PUBLICATION ${p} SET TABLE ... without a column list for ${partial.join(', ')}; or take ${partial.length === 1 ? 'it' : 'them'} out of the task's objects.`,
      });
    }
    if (filtered.length > 0) {
      problems.push({
        level: 'warn',
        detail: `it publishes only the rows of ${filtered.join(', ')} that match its row filter (WHERE), so the destination receives only those changes`,
        fix: `If the destination must hold the whole table${filtered.length === 1 ? '' : 's'}, remove the row filter (ALTER PUBLICATION ${p} SET TABLE ... without WHERE).`,
      });
    }
  }

  const helpers = target.helpers.filter((h) => !pub.puballtables && !schemas.has(h.schema) && !listed.has(keyOf(h.schema, h.table)));
  if (helpers.length > 0) {
    problems.push({
      level: 'warn',
      detail: `it does not include Tributary's helper table${helpers.length === 1 ? '' : 's'} ${helpers.map((h) => `${h.schema}.${h.table}`).join(', ')}: ${helpers.map((h) => h.without).join('; ')}`,
      fix: `After the task's first start has created ${helpers.length === 1 ? 'it' : 'them'}: ALTER PUBLICATION ${p} ADD TABLE ${helpers.map((h) => qualified(h.schema, h.table)).join(', ')}; or turn ${helpers.length === 1 ? 'it' : 'them'} off (${helpers.map((h) => h.option).join(', ')}).`,
    });
  }
  return { kind: 'user', allTables: pub.puballtables, problems };
}

/** The precheck item `source.publication` for a state read by `inspectPublication`. */
export function publicationItem(state: PublicationState, target: PublicationTarget): PrecheckItem {
  const base = { id: 'source.publication', group: 'source' as const, title: 'The publication is usable by the task' };
  const n = target.selected.length;
  switch (state.kind) {
    case 'absent':
      return { ...base, status: 'pass', detail: `publication ${target.name} does not exist yet: the task creates it over the ${n} selected table${n === 1 ? '' : 's'}${target.helpers.length > 0 ? ' and its helper tables' : ''}` };
    case 'task':
      return { ...base, status: 'pass', detail: `publication ${target.name} was created by Tributary for this task; its tables are set to the selection when the task starts` };
    case 'otherTask':
      return {
        ...base,
        status: 'fail',
        detail: `publication ${target.name} was created by Tributary for task ${state.task}, which sets its tables to its own selection whenever it starts`,
        fix: `Give this task a publication of its own: set source.publication to a name no publication has (or leave it out for the default tributary_<task name>); or release task ${state.task} first.`,
      };
    case 'user': {
      const own = `publication ${target.name} exists and was not created by this task, so Tributary reads through it as it is and never alters or drops it`;
      if (state.problems.length === 0) {
        return { ...base, status: 'pass', detail: `${own}; it covers ${state.allTables ? 'all tables' : `the ${n} selected table${n === 1 ? '' : 's'}`}` };
      }
      return {
        ...base,
        status: state.problems.some((x) => x.level === 'fail') ? 'fail' : 'warn',
        detail: `${own}, but ${state.problems.map((x) => x.detail).join('; and ')}`,
        fix: `${state.problems.map((x) => x.fix).join(' ')} Or set source.publication to a name no publication has, and the task creates one over its tables.`,
      };
    }
  }
}

/**
 * Makes the publication ready for the task (see the module comment): creates and marks it when
 * absent, sets its tables when it is this task's, leaves a user's alone (and refuses it when it
 * lacks what the task needs).
 */
export async function preparePublication(client: pg.Client, target: PublicationTarget, logger?: Logger): Promise<void> {
  const state = await inspectPublication(client, target);
  const p = ident(target.name);
  const mode = await readSchemaPublishing(client);
  const wholeSchemas = target.schemas ?? [];
  // Registered before the table list is set, so a table created in between joins too.
  if (state.kind !== 'otherTask' && state.kind !== 'user' && target.helperSchema !== undefined) {
    if (mode === 'joinTrigger' && wholeSchemas.length > 0) await ensureSchemaJoin(client, target.helperSchema, target.name, wholeSchemas);
    else if (mode !== 'fixed') await dropSchemaJoin(client, target.helperSchema, target.name);
  }
  switch (state.kind) {
    case 'absent':
      await client.query('BEGIN');
      try {
        await client.query(`CREATE PUBLICATION ${p} FOR ${await membersOf(client, target, mode)} WITH (publish_via_partition_root = true)`);
        await client.query(`COMMENT ON PUBLICATION ${p} IS ${literal(publicationMark(target.taskId))}`);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      if (mode === 'joinTrigger' && wholeSchemas.length > 0) await joinExistingTables(client, target.name, wholeSchemas);
      logger?.info('created publication', { publication: target.name });
      return;
    case 'task':
      await client.query(`ALTER PUBLICATION ${p} SET ${await membersOf(client, target, mode)}`);
      if (mode === 'joinTrigger' && wholeSchemas.length > 0) await joinExistingTables(client, target.name, wholeSchemas);
      return;
    case 'otherTask':
    case 'user': {
      const item = publicationItem(state, target);
      if (item.status === 'fail') {
        throw new FatalError('PUBLICATION_UNUSABLE', `The publication ${target.name} cannot serve task ${target.taskId}: ${item.detail}.`, { object: target.name, field: 'source.publication', ...(item.fix ? { fix: item.fix } : {}) });
      }
      if (item.status === 'warn') logger?.warn('the publication lacks something the task uses', { publication: target.name, detail: item.detail, fix: item.fix });
      return;
    }
  }
}

/** Drops the publication when Tributary created it for this task; returns whether it did. */
export async function releasePublication(client: pg.Client, name: string, taskId: string): Promise<boolean> {
  const note = (await client.query<{ note: string | null }>(`SELECT obj_description(oid, 'pg_publication') AS note FROM pg_publication WHERE pubname = $1`, [name])).rows[0];
  if (!note || markedTask(note.note) !== taskId) return false;
  await client.query(`DROP PUBLICATION IF EXISTS ${ident(name)}`);
  return true;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
