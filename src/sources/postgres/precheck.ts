import type pg from 'pg';
import type { PrecheckItem } from '../../core/contracts.js';
import type { CatalogTable } from './catalog.js';
import { inspectPublication, publicationItem, type PublicationTarget } from './publication.js';
import { schemaPublishing } from './schemaJoin.js';
import { describeSlot, slotMismatch } from './slot.js';

export type PostgresFlavour = 'postgres' | 'polardb' | 'analyticdb';

/** Table limits per task from the seeds: AnalyticDB 5,000, PolarDB 1,000. */
export const TABLE_LIMITS: Record<PostgresFlavour, number> = { postgres: 5000, analyticdb: 5000, polardb: 1000 };

export interface PrecheckInput {
  client: pg.Client;
  database: string;
  flavour: PostgresFlavour;
  selected: CatalogTable[];
  slot: string;
  /** The application_name of the task's own replication connections: its walsender may hold the slot. */
  ownApplication?: string;
  /** Names earlier versions gave this task's slot, pointed at when the slot itself does not exist. */
  legacySlots?: readonly string[];
  /** The task's publication, checked when given. */
  publication?: PublicationTarget;
  heartbeatSchema: string | null;
  /** Exactly-once writes downgrade "no key" from an error to a warning (seed 003). */
  exactlyOnce: boolean;
  /** Full + incremental tasks need 7 days of WAL retention, incremental-only 24 hours (seeds). */
  full: boolean;
  /** DDL capture needs an event trigger, which only a superuser may create. */
  captureDdl?: boolean;
  /**
   * Tables the objects name one by one (schema default `public`). The table limit counts only
   * these: selecting whole schemas or the whole database is the way past it (seed 003). Absent:
   * every selected table counts.
   */
  named?: ReadonlyArray<{ schema?: string; table: string }>;
}

const pass = (id: string, title: string, detail?: string): PrecheckItem => ({ id, group: 'source', title, status: 'pass', ...(detail ? { detail } : {}) });

/** The source's own precheck items (connectivity is checked by the caller first). */
export async function precheckPostgres(input: PrecheckInput): Promise<PrecheckItem[]> {
  const { client, database, selected } = input;
  const items: PrecheckItem[] = [];
  const settings = new Map(
    (await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('wal_level','max_replication_slots','max_wal_senders','max_slot_wal_keep_size','server_version_num','server_version','hot_standby_feedback','sync_replication_slots')`,
    )).rows.map((r) => [r.name, r.setting]),
  );

  const version = Number(settings.get('server_version_num') ?? 0);
  items.push(
    version >= 100000
      ? pass('source.version', 'Source version supports logical replication', `PostgreSQL ${settings.get('server_version')}`)
      : { id: 'source.version', group: 'source', title: 'Source version supports logical replication', status: 'fail', detail: `PostgreSQL ${settings.get('server_version')} is older than 10`, fix: 'Upgrade the source to PostgreSQL 10 or later.' },
  );

  const walLevel = settings.get('wal_level');
  items.push(
    walLevel === 'logical'
      ? pass('source.wal_level', 'wal_level is logical')
      : { id: 'source.wal_level', group: 'source', title: 'wal_level is logical', status: 'fail', detail: `wal_level is '${walLevel}' on database ${database}'s server`, fix: "Run ALTER SYSTEM SET wal_level = 'logical'; then restart PostgreSQL." },
  );

  items.push(
    database.includes('-')
      ? { id: 'source.database_name', group: 'source', title: 'Database name has no hyphen', status: 'fail', detail: `database name '${database}' contains '-'`, fix: 'Rename the database (ALTER DATABASE ... RENAME TO ...) to a name without a hyphen.' }
      : pass('source.database_name', 'Database name has no hyphen'),
  );

  const role = (await client.query<{ rolname: string; rolsuper: boolean; rolreplication: boolean; can_create: boolean }>(
    `SELECT rolname, rolsuper, rolreplication, has_database_privilege(current_user, current_database(), 'CREATE') AS can_create FROM pg_roles WHERE rolname = current_user`,
  )).rows[0];
  items.push(
    role && (role.rolsuper || role.rolreplication)
      ? pass('source.replication_privilege', 'Account has the REPLICATION privilege')
      : { id: 'source.replication_privilege', group: 'source', title: 'Account has the REPLICATION privilege', status: 'fail', detail: `role ${role?.rolname ?? '(unknown)'} has neither REPLICATION nor SUPERUSER`, fix: `Run ALTER ROLE ${role?.rolname ?? '<account>'} REPLICATION; as a superuser.` },
  );

  const noSelect: string[] = [];
  const notOwner: string[] = [];
  if (selected.length > 0) {
    const r = await client.query<{ name: string; can_select: boolean; is_owner: boolean }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name, has_table_privilege(c.oid, 'SELECT') AS can_select,
              pg_has_role(c.relowner, 'USAGE') AS is_owner
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[])`,
      [selected.map((t) => t.oid)],
    );
    for (const row of r.rows) {
      if (!row.can_select) noSelect.push(row.name);
      if (!row.is_owner && !role?.rolsuper) notOwner.push(row.name);
    }
  }
  items.push(
    noSelect.length === 0
      ? pass('source.select_privilege', 'Account can SELECT every selected table')
      : { id: 'source.select_privilege', group: 'source', title: 'Account can SELECT every selected table', status: 'fail', detail: `no SELECT on ${noSelect.join(', ')}`, fix: `Run GRANT SELECT ON ${noSelect.join(', ')} TO ${role?.rolname ?? '<account>'};` },
  );

  const keyless = selected.filter((t) => t.keyless && t.unusableKeys.length === 0).map((t) => `${t.ref.schema}.${t.ref.table}`);
  const onlyUnusable = selected
    .filter((t) => t.keyless && t.unusableKeys.length > 0)
    .map((t) => `${t.ref.schema}.${t.ref.table} (${t.unusableKeys.map((k) => `unique index ${k.index} is ${k.reason}`).join('; ')})`);
  const keyDetail = [
    ...(keyless.length > 0 ? [`no primary key or usable UNIQUE constraint: ${keyless.join(', ')}`] : []),
    ...(onlyUnusable.length > 0
      ? [`no primary key, and their only unique indexes cannot identify rows (an index on expressions, partial, deferrable or over nullable columns is no key): ${onlyUnusable.join(', ')}`]
      : []),
  ].join('; ');
  items.push(
    keyless.length === 0 && onlyUnusable.length === 0
      ? pass('source.primary_keys', 'Every table has a primary key or a UNIQUE constraint')
      : {
          id: 'source.primary_keys',
          group: 'source',
          title: 'Every table has a primary key or a UNIQUE constraint',
          status: input.exactlyOnce ? 'warn' : 'fail',
          detail: keyDetail,
          fix:
            onlyUnusable.length > 0
              ? 'Add a primary key or a UNIQUE constraint on plain NOT NULL columns (ALTER TABLE ... ADD PRIMARY KEY (...)), exclude these tables, or enable exactly-once writes.'
              : 'Add a primary key (ALTER TABLE ... ADD PRIMARY KEY (...)), exclude these tables, or enable exactly-once writes.',
        },
  );

  const unlogged = selected.filter((t) => t.persistence !== 'permanent').map((t) => `${t.ref.schema}.${t.ref.table} (${t.persistence})`);
  items.push(
    unlogged.length === 0
      ? pass('source.unsupported_objects', 'No temporary or unlogged tables selected')
      : { id: 'source.unsupported_objects', group: 'source', title: 'No temporary or unlogged tables selected', status: 'fail', detail: `these are not written to WAL and cannot be replicated: ${unlogged.join(', ')}`, fix: 'Exclude them, or ALTER TABLE ... SET LOGGED.' },
  );

  items.push(...(await unsyncableObjects(client, selected)));
  items.push(await slotItem(client, database, input));
  if (input.publication) items.push(publicationItem(await inspectPublication(client, input.publication), input.publication));
  items.push(await highAvailability(client, settings, input.slot));

  const limit = TABLE_LIMITS[input.flavour];
  const named = input.named;
  const counted = named === undefined ? selected.length : selected.filter((t) => named.some((n) => n.table === t.ref.table && (n.schema ?? 'public') === t.ref.schema)).length;
  const whole = selected.length - counted;
  const more = whole > 0 ? ` (and ${whole} through whole schemas or the whole database, which the limit does not count)` : '';
  items.push(
    counted <= limit
      ? pass('source.table_limit', `At most ${limit} tables selected one by one per task`, `${counted} selected one by one${more}`)
      : { id: 'source.table_limit', group: 'source', title: `At most ${limit} tables selected one by one per task`, status: 'fail', detail: `${counted} tables selected one by one${more}`, fix: 'Split the objects over several tasks, or select whole schemas (or the whole database) instead of listing tables.' },
  );

  const used = (await client.query<{ slots: number; senders: number; mine: number }>(
    `SELECT (SELECT count(*)::int FROM pg_replication_slots) AS slots,
            (SELECT count(*)::int FROM pg_stat_replication) AS senders,
            (SELECT count(*)::int FROM pg_replication_slots WHERE slot_name = $1) AS mine`,
    [input.slot],
  )).rows[0] ?? { slots: 0, senders: 0, mine: 0 };
  const maxSlots = Number(settings.get('max_replication_slots') ?? 0);
  const maxSenders = Number(settings.get('max_wal_senders') ?? 0);
  items.push(
    used.mine > 0 || used.slots < maxSlots
      ? pass('source.free_slots', 'A replication slot is free', `${used.slots} of ${maxSlots} in use`)
      : { id: 'source.free_slots', group: 'source', title: 'A replication slot is free', status: 'fail', detail: `all ${maxSlots} replication slots are in use`, fix: 'Drop unused slots (SELECT pg_drop_replication_slot(name)) or raise max_replication_slots and restart.' },
  );
  items.push(
    used.senders < maxSenders
      ? pass('source.free_wal_senders', 'A WAL sender is free', `${used.senders} of ${maxSenders} in use`)
      : { id: 'source.free_wal_senders', group: 'source', title: 'A WAL sender is free', status: 'fail', detail: `all ${maxSenders} WAL senders are in use`, fix: 'Raise max_wal_senders and restart PostgreSQL.' },
  );

  const notFull = selected.filter((t) => t.replicaIdentity !== 'full').map((t) => `${t.ref.schema}.${t.ref.table}`);
  items.push(
    notFull.length === 0
      ? pass('source.replica_identity', 'Selected tables have REPLICA IDENTITY FULL')
      : // Seed 003: set automatically during initialization; the alter-privilege item below fails when that is impossible.
        pass('source.replica_identity', 'Selected tables have REPLICA IDENTITY FULL', `will be set to FULL during initialization: ${notFull.join(', ')}`),
  );
  if (notOwner.length > 0 && notFull.length > 0) {
    items.push({ id: 'source.alter_privilege', group: 'source', title: 'Account may ALTER the selected tables', status: 'fail', detail: `not owner of ${notOwner.join(', ')}`, fix: 'Use the tables\' owner (or a superuser), or set REPLICA IDENTITY FULL on them by hand first.' });
  }
  if (input.heartbeatSchema !== null) {
    const can = (await client.query<{ ok: boolean }>(`SELECT has_schema_privilege($1, 'CREATE') AS ok`, [input.heartbeatSchema])).rows[0]?.ok;
    items.push(
      can || role?.rolsuper
        ? pass('source.helper_objects', 'Account may create the heartbeat table')
        : { id: 'source.helper_objects', group: 'source', title: 'Account may create the heartbeat table', status: 'fail', detail: `no CREATE on schema ${input.heartbeatSchema}`, fix: `GRANT CREATE ON SCHEMA ${input.heartbeatSchema} TO ${role?.rolname ?? '<account>'}; or disable the heartbeat.` },
    );
  }

  if (input.captureDdl) {
    items.push(
      role?.rolsuper
        ? pass('source.ddl_capture', 'Account may create the DDL event trigger')
        : {
            id: 'source.ddl_capture',
            group: 'source',
            title: 'Account may create the DDL event trigger',
            status: 'fail',
            detail: `role ${role?.rolname ?? '(unknown)'} is not a superuser, and only a superuser may CREATE EVENT TRIGGER (needed to capture DDL into dts_ddl_command)`,
            fix: `Run the task with a superuser account, or set source.captureDdl: false to synchronize DML only.`,
          },
    );
  }

  const wholeSchemas = input.publication?.schemas ?? [];
  if (wholeSchemas.length > 0) {
    const mode = schemaPublishing(Number(settings.get('server_version_num') ?? 0), role?.rolsuper === true);
    const title = 'Tables created later in the selected schemas are synchronized';
    const list = wholeSchemas.join(', ');
    items.push(
      mode === 'fixed'
        ? {
            id: 'source.new_tables',
            group: 'source',
            title,
            status: 'warn',
            detail: `role ${role?.rolname ?? '(unknown)'} is not a superuser, so the publication cannot follow schema ${list} (FOR TABLES IN SCHEMA and event triggers need one): its table list is fixed when the task starts, and a table created there later is never synchronized`,
            fix: 'Run the task with a superuser account, or synchronize tables created later with a task of their own.',
          }
        : pass('source.new_tables', title, mode === 'inSchema' ? `the publication covers schema ${list} (FOR TABLES IN SCHEMA)` : `an event trigger adds every table created in schema ${list} to the publication in the creating transaction`),
    );
  }

  const keep = Number(settings.get('max_slot_wal_keep_size') ?? -1);
  const need = input.full ? '7 days' : '24 hours';
  items.push(
    keep < 0
      ? pass('source.wal_retention', `WAL retained for the task (${need})`, 'max_slot_wal_keep_size = -1: the slot keeps all WAL it needs')
      : { id: 'source.wal_retention', group: 'source', title: `WAL retained for the task (${need})`, status: 'warn', detail: `max_slot_wal_keep_size = ${keep} MB: if the task falls behind by more, its slot loses WAL and the task fails`, fix: 'Set max_slot_wal_keep_size = -1 or large enough for the WAL written in ' + need + '.' },
  );

  const longTx = (await client.query<{ pid: number; age: string }>(
    `SELECT pid, (now() - xact_start)::text AS age FROM pg_stat_activity
      WHERE xact_start < now() - interval '5 minutes' AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
  )).rows;
  items.push(
    longTx.length === 0
      ? pass('source.long_transactions', 'No long-running open transactions')
      : { id: 'source.long_transactions', group: 'source', title: 'No long-running open transactions', status: 'warn', detail: `open for over 5 minutes: ${longTx.map((t) => `pid ${t.pid} (${t.age})`).join(', ')}; they delay slot creation and pin WAL`, fix: 'Commit or end them (SELECT pg_terminate_backend(pid)).' },
  );
  return items;
}

/**
 * The task's replication slot: absent (created at the start), or a logical pgoutput slot of this
 * database that no other connection reads. A slot left under an earlier version's name is pointed
 * at rather than silently abandoned.
 */
export async function slotItem(client: pg.Client, database: string, input: Pick<PrecheckInput, 'slot' | 'ownApplication' | 'legacySlots'>): Promise<PrecheckItem> {
  const { slot } = input;
  const title = 'The replication slot is usable by the task';
  const info = await describeSlot(client, slot);
  if (info) {
    const wrong = slotMismatch(info, slot, database, input.ownApplication ?? '');
    if (wrong) return { id: 'source.slot', group: 'source', title, status: 'fail', ...wrong };
    return pass('source.slot', title, `replication slot ${slot} exists in database ${database} (pgoutput): the task reads from it`);
  }
  for (const old of input.legacySlots ?? []) {
    if (old === slot) continue;
    const legacy = await describeSlot(client, old);
    if (legacy && legacy.database === database) {
      return {
        id: 'source.slot',
        group: 'source',
        title,
        status: 'fail',
        detail: `replication slot ${slot} does not exist, but ${old} does, in database ${database}: the name an earlier version of Tributary gave this task's slot. A new slot would start from now, and ${old} would keep pinning WAL`,
        fix: `To continue from it, set source.slotName: ${old} and source.publication: ${old}. To start afresh, drop it (SELECT pg_drop_replication_slot('${old}');) and release the task's checkpoint.`,
      };
    }
  }
  return pass('source.slot', title, `replication slot ${slot} does not exist yet: the task creates it (pgoutput, database ${database})`);
}

const name = (t: CatalogTable) => `${t.ref.schema}.${t.ref.table}`;

/**
 * Objects that cannot be synchronized, by name: tables inheriting across schemas, TimescaleDB
 * hypertables, and tables in schemas (or themselves) belonging to an extension.
 */
export async function unsyncableObjects(client: pg.Client, selected: CatalogTable[]): Promise<PrecheckItem[]> {
  const items: PrecheckItem[] = [];
  const oids = selected.map((t) => t.oid);

  // Classic inheritance only: declarative partitions (relispartition) are read through their root.
  const inherits = (await client.query<{ child: string; parent: string }>(
    `SELECT format('%I.%I', cn.nspname, c.relname) AS child, format('%I.%I', pn.nspname, p.relname) AS parent
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
       JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
      WHERE c.relnamespace <> p.relnamespace AND NOT c.relispartition
        AND (i.inhrelid = ANY($1::oid[]) OR i.inhparent = ANY($1::oid[]))
      ORDER BY 1, 2`,
    [oids],
  )).rows;
  items.push(
    inherits.length === 0
      ? pass('source.inheritance', 'No selected table inherits across schemas')
      : {
          id: 'source.inheritance',
          group: 'source',
          title: 'No selected table inherits across schemas',
          status: 'fail',
          detail: `tables inheriting from a table in another schema cannot be synchronized: ${inherits.map((r) => `${r.child} inherits ${r.parent}`).join(', ')}`,
          fix: 'Exclude the parent and child tables from the task, or move them into one schema (ALTER TABLE ... SET SCHEMA ...).',
        },
  );

  // TimescaleDB: only when its catalog exists, so an absent extension is no error.
  const hasTimescale = (await client.query<{ present: boolean }>(
    `SELECT to_regclass('_timescaledb_catalog.hypertable') IS NOT NULL AS present`,
  )).rows[0]?.present;
  let hypertables: string[] = [];
  if (hasTimescale) {
    const selectedNames = new Set(selected.map((t) => `${t.ref.schema}\u0000${t.ref.table}`));
    hypertables = (await client.query<{ schema_name: string; table_name: string }>(
      `SELECT schema_name::text, table_name::text FROM _timescaledb_catalog.hypertable ORDER BY 1, 2`,
    )).rows
      .filter((h) => selectedNames.has(`${h.schema_name}\u0000${h.table_name}`))
      .map((h) => `${h.schema_name}.${h.table_name}`);
  }
  items.push(
    hypertables.length === 0
      ? pass('source.hypertables', 'No TimescaleDB hypertable selected', hasTimescale ? undefined : 'the timescaledb extension is not installed')
      : {
          id: 'source.hypertables',
          group: 'source',
          title: 'No TimescaleDB hypertable selected',
          status: 'fail',
          detail: `TimescaleDB hypertables store rows in chunk tables and cannot be synchronized: ${hypertables.join(', ')}`,
          fix: 'Exclude these hypertables from the task.',
        },
  );

  const members = (await client.query<{ oid: number; schema: string; extension: string; whole_schema: boolean }>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, e.extname AS extension, d.classid = 'pg_namespace'::regclass AS whole_schema
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_depend d ON d.deptype = 'e' AND d.refclassid = 'pg_extension'::regclass
                       AND ((d.classid = 'pg_namespace'::regclass AND d.objid = n.oid) OR (d.classid = 'pg_class'::regclass AND d.objid = c.oid))
       JOIN pg_extension e ON e.oid = d.refobjid
      WHERE c.oid = ANY($1::oid[])
      ORDER BY n.nspname, c.relname`,
    [oids],
  )).rows;
  const byOid = new Map(selected.map((t) => [t.oid, t]));
  const inSchemas = new Map<string, { extension: string; tables: string[] }>();
  const memberTables: string[] = [];
  for (const m of members) {
    const t = byOid.get(m.oid);
    if (!t) continue;
    if (m.whole_schema) {
      const entry = inSchemas.get(m.schema) ?? { extension: m.extension, tables: [] };
      if (!entry.tables.includes(name(t))) entry.tables.push(name(t));
      inSchemas.set(m.schema, entry);
    } else if (!memberTables.some((x) => x.startsWith(`${name(t)} `))) {
      memberTables.push(`${name(t)} (extension ${m.extension})`);
    }
  }
  const parts = [
    ...[...inSchemas].map(([schema, e]) => `schema ${schema} belongs to extension ${e.extension} (selected: ${e.tables.join(', ')})`),
    ...(memberTables.length > 0 ? [`tables belonging to an extension: ${memberTables.join(', ')}`] : []),
  ];
  items.push(
    parts.length === 0
      ? pass('source.extension_objects', 'No schema or table created by an extension selected')
      : {
          id: 'source.extension_objects',
          group: 'source',
          title: 'No schema or table created by an extension selected',
          status: 'fail',
          detail: `objects created by CREATE EXTENSION cannot be synchronized: ${parts.join('; ')}`,
          fix: `Exclude ${[...inSchemas.keys()].map((s) => `schema ${s}`).concat(memberTables.map((t) => t.split(' ')[0] ?? t)).join(', ')} from the task; create the extension on the destination instead.`,
        },
  );
  return items;
}

/**
 * High availability: with physical standbys (or on a standby), a switchover only keeps the task
 * running when the standby has hot_standby_feedback on and, on PostgreSQL 17+, the slot is synced
 * to it (sync_replication_slots on, slot created with failover).
 */
/**
 * Walsenders of physical replication (standbys, pg_receivewal, pg_basebackup): connected to no
 * database. A logical replication client (another task, Debezium) is connected to one, whether or
 * not it holds its slot yet, and is not a standby.
 */
const PHYSICAL_WALSENDERS = `SELECT a.pid FROM pg_stat_activity a WHERE a.backend_type = 'walsender' AND a.datid IS NULL`;

export async function highAvailability(client: pg.Client, settings: Map<string, string>, slot: string): Promise<PrecheckItem> {
  const title = 'Replication slot survives a switchover to a standby';
  const version = Number(settings.get('server_version_num') ?? 0);
  const r = (await client.query<{ in_recovery: boolean; standbys: string[]; without_feedback: string[]; physical_slots: string[] }>(
    `SELECT pg_is_in_recovery() AS in_recovery,
            ARRAY(SELECT coalesce(nullif(r.application_name, ''), 'pid ' || r.pid) || coalesce(' at ' || host(r.client_addr), '')
                    FROM pg_stat_replication r
                   WHERE r.pid IN (${PHYSICAL_WALSENDERS})
                   ORDER BY 1) AS standbys,
            ARRAY(SELECT coalesce(nullif(r.application_name, ''), 'pid ' || r.pid)
                    FROM pg_stat_replication r
                   WHERE r.backend_xmin IS NULL
                     AND r.pid IN (${PHYSICAL_WALSENDERS})
                     AND NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.active_pid = r.pid AND s.xmin IS NOT NULL)
                  UNION ALL
                  SELECT 'slot ' || slot_name FROM pg_replication_slots WHERE slot_type = 'physical' AND NOT active AND xmin IS NULL
                   ORDER BY 1) AS without_feedback,
            ARRAY(SELECT slot_name::text FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY 1) AS physical_slots`,
  )).rows[0] ?? { in_recovery: false, standbys: [], without_feedback: [], physical_slots: [] };
  if (!r.in_recovery && r.standbys.length === 0 && r.physical_slots.length === 0) {
    return pass('source.high_availability', title, 'no standby attached');
  }
  const where = r.in_recovery
    ? 'this server is a standby'
    : r.standbys.length > 0
      ? `physical standbys attached: ${r.standbys.join(', ')}`
      : `physical replication slots (a standby that is not connected now): ${r.physical_slots.join(', ')}`;
  const problems: string[] = [];
  const fixes: string[] = [];
  if (r.in_recovery ? settings.get('hot_standby_feedback') !== 'on' : r.without_feedback.length > 0) {
    problems.push(r.in_recovery ? 'hot_standby_feedback is off' : `hot_standby_feedback is off (no feedback reported) for ${r.without_feedback.join(', ')}`);
    fixes.push('set hot_standby_feedback = on on every standby (ALTER SYSTEM SET hot_standby_feedback = on; SELECT pg_reload_conf();)');
  }
  if (version >= 170000) {
    if (settings.get('sync_replication_slots') !== 'on') {
      problems.push('sync_replication_slots is off');
      fixes.push('set sync_replication_slots = on on the standbys (with primary_slot_name and hot_standby_feedback)');
    }
    const failover = (await client.query<{ failover: boolean }>(`SELECT failover FROM pg_replication_slots WHERE slot_name = $1`, [slot])).rows[0]?.failover;
    if (failover !== true) {
      problems.push(failover === undefined ? `slot ${slot} does not exist yet and is created without failover` : `slot ${slot} has failover disabled`);
      fixes.push(`enable failover on slot ${slot} (ALTER_REPLICATION_SLOT ${slot} (FAILOVER true) on a replication connection) once it exists`);
    }
  }
  if (problems.length === 0) {
    return pass('source.high_availability', title, `${where}; ${version >= 170000 ? 'hot_standby_feedback, sync_replication_slots and slot failover are set' : 'hot_standby_feedback is on'}`);
  }
  return {
    id: 'source.high_availability',
    group: 'source',
    title,
    status: 'warn',
    detail: `${where}, but ${problems.join(', ')}: without ${version >= 170000 ? 'these settings' : 'it'} a switchover to a standby fails the task (its replication slot is missing or unusable there)`,
    fix: `${fixes.map((f, i) => (i === 0 ? f[0]?.toUpperCase() + f.slice(1) : f)).join('; ')}.`,
  };
}
