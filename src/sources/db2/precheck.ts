/**
 * The Db2 source's prechecks, as the product document lists them: tables registered for SQL
 * Replication and active; Capture running and its progress moving; Capture's retention covering the
 * task (more than 24 hours for incremental-only tasks, at least 7 days for full + incremental);
 * primary keys or unique constraints; at most 5,000 tables when names are mapped; database
 * administrator authority.
 */
import type { PrecheckItem } from '../../core/contracts.js';
import { cdLayout, readCdColumns, registrationKey, run, type Db2Table, type Registration } from './catalog.js';
import { utcMillis } from './changes.js';
import type { Db2Client } from './client.js';
import type { Db2Sql, TableName } from './dialect.js';
import { readProgress } from './stream.js';

/** Minutes: more than a day for incremental-only tasks, a week for full + incremental. */
export const RETENTION_INCREMENTAL_MINUTES = 1440;
export const RETENTION_FULL_MINUTES = 10_080;
export const MAPPED_TABLE_LIMIT = 5000;

export interface PrecheckInput {
  client: Db2Client;
  sql: Db2Sql;
  database: string;
  selected: readonly Db2Table[];
  registrations: ReadonlyMap<string, Registration>;
  full: boolean;
  mapsNames: boolean;
  heartbeat: TableName | null;
}

const name = (t: TableName) => `${t.schema}.${t.table}`;

function listed(names: string[], max = 10): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

function registerFix(cap: string, tables: string[]): string {
  const example = tables[0] ?? 'SCHEMA.TABLE';
  return `Register ${tables.length === 1 ? 'it' : 'them'} for SQL Replication with Capture schema ${cap} and activate ${tables.length === 1 ? 'it' : 'them'} (asnclp: SET SERVER CAPTURE TO DB <db>; CREATE REGISTRATION (${example}) DIFFERENTIAL REFRESH STAGE CD...; then a CAPSTART signal or an Apply subscription), or exclude ${tables.length === 1 ? 'it' : 'them'} from objects.`;
}

export async function precheckDb2(input: PrecheckInput): Promise<PrecheckItem[]> {
  const { client, sql } = input;
  const cap = sql.captureSchema;
  const items: PrecheckItem[] = [];

  // Tables registered and active.
  const missing: string[] = [];
  const inactive: string[] = [];
  for (const t of input.selected) {
    const reg = input.registrations.get(registrationKey(t.name));
    if (!reg) missing.push(name(t.name));
    else if (reg.state !== 'A') inactive.push(`${name(t.name)} (state ${reg.state}${reg.stateInfo ? ` ${reg.stateInfo}` : ''})`);
  }
  items.push(
    missing.length === 0
      ? { id: 'source.registered', group: 'source', title: 'Tables registered for SQL Replication', status: 'pass', detail: `${input.selected.length} table(s) registered in ${cap}.IBMSNAP_REGISTER` }
      : { id: 'source.registered', group: 'source', title: 'Tables registered for SQL Replication', status: 'fail', detail: `not registered in ${cap}.IBMSNAP_REGISTER: ${listed(missing)}`, fix: registerFix(cap, missing) },
  );
  items.push(
    inactive.length === 0
      ? { id: 'source.registrations_active', group: 'source', title: 'Registrations active', status: 'pass' }
      : {
          id: 'source.registrations_active',
          group: 'source',
          title: 'Registrations active',
          status: 'fail',
          detail: `Capture is not capturing: ${listed(inactive)}`,
          fix: `Activate them: insert a CAPSTART signal into ${cap}.IBMSNAP_SIGNAL (or start an Apply subscription); a registration stopped after an error (state S) needs the cause fixed first (see ${cap}.IBMSNAP_CAPTRACE).`,
        },
  );

  // Capture running, its progress moving.
  const parms = (await run(client, sql.captureParameters()))[0];
  const commitInterval = Number(parms?.COMMIT_INTERVAL ?? 30);
  const retention = Number(parms?.RETENTION_LIMIT ?? 0);
  const progress = await readProgress(client, sql);
  const now = progress.now ?? utcMillis(String((await run(client, sql.serverInfo()))[0]?.NOW_UTC ?? '')) ?? Date.now();
  const staleAfterMs = Math.max(3 * commitInterval, 120) * 1000;
  if (progress.upTo === null || progress.time === null) {
    items.push({ id: 'source.capture_running', group: 'source', title: 'Capture running', status: 'fail', detail: `Capture has recorded no progress in ${cap}.IBMSNAP_REGISTER / IBMSNAP_RESTART`, fix: `Start Capture: asncap capture_server=<db> capture_schema=${cap}.` });
  } else if (now - progress.time > staleAfterMs) {
    items.push({
      id: 'source.capture_running',
      group: 'source',
      title: 'Capture running',
      status: 'fail',
      detail: `Capture last moved its progress at ${new Date(progress.time).toISOString()}, ${Math.round((now - progress.time) / 1000)} s ago (commit interval ${commitInterval} s)`,
      fix: `Start Capture (asncap capture_server=<db> capture_schema=${cap}) or check why it stalled (asnccmd capture_schema=${cap} status; ${cap}.IBMSNAP_CAPTRACE).`,
    });
  } else {
    items.push({ id: 'source.capture_running', group: 'source', title: 'Capture running', status: 'pass', detail: `progress moved ${Math.round((now - progress.time) / 1000)} s ago` });
  }

  // Retention.
  const needed = input.full ? RETENTION_FULL_MINUTES : RETENTION_INCREMENTAL_MINUTES;
  const kind = input.full ? 'full + incremental' : 'incremental-only';
  if (retention > RETENTION_INCREMENTAL_MINUTES && retention >= needed) {
    items.push({ id: 'source.retention', group: 'source', title: 'Capture keeps changes long enough', status: 'pass', detail: `RETENTION_LIMIT ${retention} minutes` });
  } else {
    const tooShort = retention <= RETENTION_INCREMENTAL_MINUTES;
    items.push({
      id: 'source.retention',
      group: 'source',
      title: 'Capture keeps changes long enough',
      status: tooShort ? 'fail' : 'warn',
      detail: `${cap}.IBMSNAP_CAPPARMS.RETENTION_LIMIT is ${retention} minutes; a ${kind} task needs ${input.full ? 'at least 7 days (10,080 minutes)' : 'more than 24 hours (1,440 minutes)'}`,
      fix: `UPDATE ${cap}.IBMSNAP_CAPPARMS SET RETENTION_LIMIT = ${input.full ? RETENTION_FULL_MINUTES : RETENTION_INCREMENTAL_MINUTES + 60}, then reinitialize Capture (asnccmd capture_schema=${cap} reinit).${input.full ? ' After full synchronization it may go back to more than 1,440 minutes.' : ''}`,
    });
  }

  // Keys.
  const keyless = input.selected.filter((t) => t.key.length === 0);
  items.push(
    keyless.length === 0
      ? { id: 'source.primary_keys', group: 'source', title: 'Tables have a primary key or unique constraint', status: 'pass' }
      : {
          id: 'source.primary_keys',
          group: 'source',
          title: 'Tables have a primary key or unique constraint',
          status: 'fail',
          detail: `without a primary key or a unique constraint over NOT NULL columns: ${listed(keyless.map((t) => `${name(t.name)}${t.unusableKeys.length > 0 ? ` (${t.unusableKeys.join('; ')})` : ''}`))}`,
          fix: 'Add a primary key or a unique constraint whose columns are NOT NULL (otherwise the destination may hold duplicate rows), or exclude the tables.',
        },
  );

  // Key changes must be recognizable: updates stored as delete + insert, or before images of the key.
  const registered = input.selected.filter((t) => input.registrations.get(registrationKey(t.name))?.state === 'A' && t.key.length > 0);
  const cdColumns = await readCdColumns(client, sql, registered.map((t) => (input.registrations.get(registrationKey(t.name)) as Registration).cd));
  const blind = registered.filter((t) => {
    const reg = input.registrations.get(registrationKey(t.name)) as Registration;
    if (reg.updatesAsDeleteInsert) return false;
    const layout = cdLayout(t, reg, cdColumns.get(registrationKey(reg.cd)) ?? []);
    return !t.key.every((k) => layout.beforeImages.some((b) => b.column.name === k.name));
  });
  items.push(
    blind.length === 0
      ? { id: 'source.key_changes', group: 'source', title: 'Updates that change a key are recognizable', status: 'pass' }
      : {
          id: 'source.key_changes',
          group: 'source',
          title: 'Updates that change a key are recognizable',
          status: 'warn',
          detail: `registered without CHG_UPD_TO_DEL_INS = 'Y' and without before images of the key: ${listed(blind.map((t) => name(t.name)))}; an update that changes a key would leave the old key in the destination`,
          fix: 'Register the tables with updates captured as delete + insert (asnclp ... UPDATE AS DELETE INSERT ON) or with before-image columns for the key columns; ignore this if their keys never change.',
        },
  );

  // Table count when names are mapped.
  if (input.mapsNames && input.selected.length > MAPPED_TABLE_LIMIT) {
    items.push({
      id: 'source.table_limit',
      group: 'source',
      title: `At most ${MAPPED_TABLE_LIMIT.toLocaleString('en-US')} tables when names are mapped`,
      status: 'fail',
      detail: `${input.selected.length} tables selected with name mapping`,
      fix: 'Split the tables over several tasks, or synchronize whole schemas without renaming.',
    });
  } else {
    items.push({ id: 'source.table_limit', group: 'source', title: `At most ${MAPPED_TABLE_LIMIT.toLocaleString('en-US')} tables when names are mapped`, status: 'pass', detail: `${input.selected.length} table(s)` });
  }

  // Authority.
  const who = String((await run(client, sql.serverInfo()))[0]?.AUTHID ?? '').trim();
  const auth = await run(client, sql.authorities(who));
  const held = (a: string) => auth.some((r) => String(r.AUTHORITY ?? '').trim() === a && ['D_USER', 'D_GROUP', 'D_PUBLIC', 'ROLE_USER', 'ROLE_GROUP', 'ROLE_PUBLIC'].some((k) => String(r[k] ?? '').trim().toUpperCase() === 'Y'));
  items.push(
    held('DBADM') || held('SYSADM')
      ? { id: 'source.authority', group: 'source', title: 'Account has database administrator authority', status: 'pass', detail: `${who} holds ${held('DBADM') ? 'DBADM' : 'SYSADM'}` }
      : { id: 'source.authority', group: 'source', title: 'Account has database administrator authority', status: 'fail', detail: `${who} holds neither DBADM nor SYSADM`, fix: `GRANT DBADM ON DATABASE TO USER ${who || '<account>'}` },
  );

  // Heartbeat table.
  if (input.heartbeat) {
    const reg = input.registrations.get(registrationKey(input.heartbeat));
    items.push(
      reg?.state === 'A'
        ? { id: 'source.heartbeat', group: 'source', title: 'Heartbeat table registered', status: 'pass', detail: name(input.heartbeat) }
        : {
            id: 'source.heartbeat',
            group: 'source',
            title: 'Heartbeat table registered',
            status: 'warn',
            detail: `${name(input.heartbeat)} is ${reg ? `registered but not active (state ${reg.state})` : 'not registered'}: heartbeats then come only from Capture's progress, and latency reads stale while the selected tables are idle`,
            fix: `${registerFix(cap, [name(input.heartbeat)])} Or set source.heartbeat.enabled: false.`,
          },
    );
  }
  return items;
}
