import type pg from 'pg';
import { TransientError } from '../../core/errors.js';
import { qualified } from './catalog.js';

/** Default name of the helper table that keeps latency true and the slot moving on an idle database (seed 003); `source.heartbeat.table` names another. */
export const HEARTBEAT_TABLE = 'dts_postgres_heartbeat';
/** Helper table the DDL event trigger writes into (seed 003). */
export const DDL_TABLE = 'dts_ddl_command';

export async function ensureHeartbeatTable(client: pg.Client, schema: string, table: string = HEARTBEAT_TABLE): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, table)} (slot_name text PRIMARY KEY, beat_time timestamptz NOT NULL, beat_seq bigint NOT NULL)`,
  );
  await client.query(`ALTER TABLE ${qualified(schema, table)} REPLICA IDENTITY FULL`);
}

export async function beat(client: pg.Client, schema: string, slot: string, seq: number, table: string = HEARTBEAT_TABLE): Promise<void> {
  await client.query(
    `INSERT INTO ${qualified(schema, table)} (slot_name, beat_time, beat_seq) VALUES ($1, now(), $2)
     ON CONFLICT (slot_name) DO UPDATE SET beat_time = EXCLUDED.beat_time, beat_seq = EXCLUDED.beat_seq`,
    [slot, seq],
  );
}

/** REPLICA IDENTITY FULL, so updates and deletes carry the whole old row (and unchanged TOAST values). */
/**
 * Tables that already have it are left alone (no lock taken). The ALTER needs an ACCESS EXCLUSIVE
 * lock, and a lock request that waits blocks every later reader of the table: it waits at most
 * `lockTimeoutMs`, then fails (retried as a transient error) instead of blocking the user's table
 * behind a long transaction.
 */
export async function setReplicaIdentityFull(client: pg.Client, tables: Array<{ schema: string; table: string }>, lockTimeoutMs = 2000): Promise<void> {
  if (tables.length === 0) return;
  const current = await client.query<{ schema: string; table: string; full: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS table, c.relreplident = 'f' AS full
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  const done = new Set(current.rows.filter((r) => r.full).map((r) => `${r.schema}.${r.table}`));
  const todo = tables.filter((t) => !done.has(`${t.schema}.${t.table}`));
  if (todo.length === 0) return;
  await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
  try {
    for (const t of todo) {
      try {
        await client.query(`ALTER TABLE ${qualified(t.schema, t.table)} REPLICA IDENTITY FULL`);
      } catch (err) {
        if ((err as { code?: string }).code !== '55P03') throw err;
        throw new TransientError('LOCK_TIMEOUT', `Setting REPLICA IDENTITY FULL on ${t.schema}.${t.table} waited ${lockTimeoutMs} ms for a lock another transaction holds; Tributary gave up rather than block the table's other users.`, {
          object: `${t.schema}.${t.table}`,
          cause: err,
          fix: `Find the transaction holding it (SELECT pid, state, xact_start, query FROM pg_stat_activity WHERE pid IN (SELECT pid FROM pg_locks WHERE relation = '${t.schema}.${t.table}'::regclass)); the task retries, or run ALTER TABLE ${t.schema}.${t.table} REPLICA IDENTITY FULL yourself.`,
        });
      }
    }
  } finally {
    await client.query('RESET lock_timeout');
  }
}
