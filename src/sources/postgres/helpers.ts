import type pg from 'pg';
import { qualified } from './catalog.js';

/** Helper table that keeps latency true and the slot moving on an idle database (seed 003). */
export const HEARTBEAT_TABLE = 'dts_postgres_heartbeat';
/** Helper table the DDL event trigger writes into (seed 003). */
export const DDL_TABLE = 'dts_ddl_command';

export async function ensureHeartbeatTable(client: pg.Client, schema: string): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, HEARTBEAT_TABLE)} (slot_name text PRIMARY KEY, beat_time timestamptz NOT NULL, beat_seq bigint NOT NULL)`,
  );
  await client.query(`ALTER TABLE ${qualified(schema, HEARTBEAT_TABLE)} REPLICA IDENTITY FULL`);
}

export async function beat(client: pg.Client, schema: string, slot: string, seq: number): Promise<void> {
  await client.query(
    `INSERT INTO ${qualified(schema, HEARTBEAT_TABLE)} (slot_name, beat_time, beat_seq) VALUES ($1, now(), $2)
     ON CONFLICT (slot_name) DO UPDATE SET beat_time = EXCLUDED.beat_time, beat_seq = EXCLUDED.beat_seq`,
    [slot, seq],
  );
}

/** REPLICA IDENTITY FULL, so updates and deletes carry the whole old row (and unchanged TOAST values). */
export async function setReplicaIdentityFull(client: pg.Client, tables: Array<{ schema: string; table: string }>): Promise<void> {
  for (const t of tables) await client.query(`ALTER TABLE ${qualified(t.schema, t.table)} REPLICA IDENTITY FULL`);
}
