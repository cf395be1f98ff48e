import { createHash } from 'node:crypto';
import pg from 'pg';
import { LostHistoryError } from '../../core/errors.js';
import { lsnToBigInt } from '../../core/position.js';
import { ident } from './catalog.js';

/**
 * What PostgreSQL accepts as a replication slot name (ReplicationSlotValidateName): 1-63
 * characters, only lowercase letters, digits and underscores. The config validates `slotName`
 * with the same rule.
 */
export const SLOT_NAME_PATTERN = /^[a-z0-9_]{1,63}$/;
export const SLOT_NAME_RULE = '1-63 characters, only lowercase letters, digits and "_"';

/**
 * The default slot and publication name of a task: `tributary_` + the task name with every
 * character a slot name may not hold (the task name's `-`) replaced by `_`. A name that would be
 * longer than 63 characters keeps its first 54 and ends with `_` and 8 hex digits of a hash of the
 * whole task name, so two long task names do not share a slot.
 */
export function defaultReplicationName(taskName: string): string {
  const name = `tributary_${taskName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
  if (name.length <= 63) return name;
  return `${name.slice(0, 54)}_${createHash('sha256').update(taskName).digest('hex').slice(0, 8)}`;
}

/**
 * The slot name earlier versions of Tributary gave a task: `dts_sync_` + its task name, or + its
 * `slotName` when one was configured. Only used to point at such a slot in the precheck.
 */
export function legacySlotName(name: string): string {
  return `dts_sync_${name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

/** The application_name of a task's replication connections, to recognize its own walsender. */
export function replicationApplicationName(taskId: string): string {
  return `tributary/${taskId}`.slice(0, 63);
}

/** An existing slot as pg_replication_slots (and pg_stat_replication for its walsender) describe it. */
export interface SlotInfo {
  slotType: string;
  plugin: string | null;
  database: string | null;
  activePid: number | null;
  /** The walsender's application_name and client address, when the slot is in use. */
  application: string | null;
  clientAddress: string | null;
}

export async function describeSlot(client: pg.Client, slot: string): Promise<SlotInfo | null> {
  const r = await client.query<{ slot_type: string; plugin: string | null; database: string | null; active_pid: number | null; application_name: string | null; client_addr: string | null }>(
    `SELECT s.slot_type, s.plugin::text, s.database::text, s.active_pid, a.application_name, host(a.client_addr) AS client_addr
       FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
      WHERE s.slot_name = $1`,
    [slot],
  );
  const row = r.rows[0];
  if (!row) return null;
  return { slotType: row.slot_type, plugin: row.plugin, database: row.database, activePid: row.active_pid, application: row.application_name, clientAddress: row.client_addr };
}

/**
 * Why an existing slot cannot be this task's, with the fix; null when it can. A slot in use counts
 * against it unless its walsender carries `ownApplication` (this task's own connection); with
 * `ownApplication` null, use is not judged (starting the stream waits for a reader to leave).
 */
export function slotMismatch(info: SlotInfo, slot: string, database: string, ownApplication: string | null): { detail: string; fix: string } | null {
  const elsewhere = `set source.slotName to a name no other slot on this server has (Tributary creates it)`;
  if (info.slotType !== 'logical') {
    return { detail: `replication slot ${slot} exists and is a ${info.slotType} slot, not a logical one`, fix: `Choose another slot name: ${elsewhere}.` };
  }
  if (info.database !== database) {
    return {
      detail: `replication slot ${slot} exists but belongs to database ${info.database ?? '(none)'}, not ${database} (slot names are unique per server)`,
      fix: `Choose another slot name: ${elsewhere}; or, if nothing reads it any more, drop it in database ${info.database ?? '(none)'}: SELECT pg_drop_replication_slot('${slot}');`,
    };
  }
  if (info.plugin !== 'pgoutput') {
    return {
      detail: `replication slot ${slot} exists but decodes with plugin ${info.plugin ?? '(none)'}; Tributary reads pgoutput`,
      fix: `Choose another slot name: ${elsewhere}; or, if nothing reads it any more, drop it: SELECT pg_drop_replication_slot('${slot}');`,
    };
  }
  if (ownApplication !== null && info.activePid !== null && info.application !== ownApplication) {
    const who = [`pid ${info.activePid}`, info.application ? `application_name '${info.application}'` : null, info.clientAddress ? `from ${info.clientAddress}` : null].filter(Boolean).join(', ');
    return {
      detail: `replication slot ${slot} is in use by another connection (${who}); a slot has one reader at a time, and each change is confirmed away by whoever reads it`,
      fix: `Stop the program reading ${slot} (or end it: SELECT pg_terminate_backend(${info.activePid});), or set source.slotName to a slot of this task's own.`,
    };
  }
  return null;
}

export interface SlotState {
  exists: boolean;
  active: boolean;
  confirmedFlush: bigint | null;
  restartLsn: bigint | null;
  walStatus: string | null;
  retainedBytes: bigint | null;
}

export async function readSlot(client: pg.Client, slot: string): Promise<SlotState> {
  const r = await client.query<{ active: boolean; confirmed_flush_lsn: string | null; restart_lsn: string | null; wal_status: string | null; retained: string | null }>(
    `SELECT active, confirmed_flush_lsn::text, restart_lsn::text, wal_status,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = r.rows[0];
  if (!row) return { exists: false, active: false, confirmedFlush: null, restartLsn: null, walStatus: null, retainedBytes: null };
  return {
    exists: true,
    active: row.active,
    confirmedFlush: row.confirmed_flush_lsn ? lsnToBigInt(row.confirmed_flush_lsn) : null,
    restartLsn: row.restart_lsn ? lsnToBigInt(row.restart_lsn) : null,
    walStatus: row.wal_status,
    retainedBytes: row.retained === null ? null : BigInt(row.retained.split('.')[0] ?? '0'),
  };
}

/** Fails when the slot a running task depends on is gone or has lost WAL; never restarts from "now". */
export function assertSlotUsable(state: SlotState, slot: string, database: string): void {
  if (!state.exists) {
    throw new LostHistoryError(
      `The replication slot ${slot} of database ${database} no longer exists, so the changes made since the task's last checkpoint cannot be read.`,
      {
        object: slot,
        fix: 'Start the task again from a full synchronization (it creates a new slot), or reset its offsets; Tributary will not silently continue from the current position.',
      },
    );
  }
  if (state.walStatus === 'lost') {
    throw new LostHistoryError(`The replication slot ${slot} of database ${database} has lost WAL it still needed (wal_status = lost).`, {
      object: slot,
      fix: `Raise max_slot_wal_keep_size, then release the task (drops ${slot}) and start it again with full synchronization.`,
    });
  }
}

export interface CreatedSlot {
  consistentPoint: bigint;
  snapshotName: string;
  /** The replication connection that exported the snapshot: keep it open while snapshot readers import it. */
  connection: pg.Client;
}

/** Creates a pgoutput slot on a replication connection and exports its snapshot for full sync. */
export async function createSlotWithSnapshot(config: pg.ClientConfig, slot: string): Promise<CreatedSlot> {
  const connection = new pg.Client({ ...config, replication: 'database' } as pg.ClientConfig);
  // Kept open while the copy runs; its owner watches 'error' and 'end' (an unhandled 'error' would end the process).
  connection.on('error', () => undefined);
  await connection.connect();
  try {
    const r = await connection.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${ident(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = r.rows[0];
    if (!row) throw new Error(`CREATE_REPLICATION_SLOT ${slot} returned no row`);
    return { consistentPoint: lsnToBigInt(row.consistent_point), snapshotName: row.snapshot_name, connection };
  } catch (err) {
    await connection.end().catch(() => undefined);
    throw err;
  }
}

/** Drops the slot, ending a walsender still attached to it. */
export async function dropSlot(client: pg.Client, slot: string): Promise<void> {
  await client.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [slot]);
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = await client.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (r.rows.length === 0) return;
    if (!r.rows[0]?.active) {
      await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
      return;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`replication slot ${slot} stayed active; drop it by hand with: SELECT pg_drop_replication_slot('${slot}');`);
}
