import pg from 'pg';
import { LostHistoryError } from '../../core/errors.js';
import { lsnToBigInt } from '../../core/position.js';
import { ident } from './catalog.js';

/** The slot (and publication) name of a task: `dts_sync_` + the task id, as seed 003 names it. */
export function slotNameFor(taskId: string): string {
  const safe = taskId.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `dts_sync_${safe}`.slice(0, 63);
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
