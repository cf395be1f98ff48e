import { Observable } from 'rxjs';
import type pg from 'pg';
import type { LogicalReplicationService } from 'pg-logical-replication';
import type { FlowControl, Logger } from '../../core/contracts.js';
import { ConnectionError, FatalError, LostHistoryError, classifyError } from '../../core/errors.js';
import type { ChangeEvent, Column, Row, TableRef, TableShape } from '../../core/events.js';
import { bigIntToLsn, lsnToBigInt } from '../../core/position.js';
import { classifyPgError, protocolError } from './errors.js';
import { typmodDetails } from './catalog.js';
import { postgresColumn } from './values.js';
import { DdlShapes, type DdlRow } from './ddl.js';
import { DDL_TABLE, HEARTBEAT_TABLE } from './helpers.js';
import { LosslessPgoutputPlugin, UNCHANGED_TOAST, type Relation, type Tuple } from './pgoutput.js';
import { PgPosition } from './position.js';
import { FastReplicationService } from './replication.js';

/** A single change larger than this fails the task rather than exhausting memory. */
export const MAX_CHANGE_BYTES = 256 * 1024 * 1024;

export interface StreamOptions {
  connection: pg.ClientConfig;
  database: string;
  slot: string;
  publication: string;
  /** Start after this LSN (the slot's confirmed flush, or the full sync's consistent point). */
  from: bigint;
  /** Key columns per `schema.table` from the catalog (pgoutput flags every column as key under REPLICA IDENTITY FULL). */
  keys: ReadonlyMap<string, readonly string[]>;
  /** Type names per OID (pg_type.typname); TYPE messages add user types. */
  typeNames: Map<number, string>;
  flow: FlowControl;
  /** Called with the replication service so the source can send standby status (confirmed LSN). */
  onService?: (service: LogicalReplicationService) => void;
  /**
   * A replication connection that shows no traffic for this long (ms) is dead (a half-open
   * connection: no RST, no data) and fails with a connection error. The stream asks the server for
   * a keepalive whenever it has been quiet for a few seconds, so a live connection always answers.
   * Default 30 s.
   */
  silenceTimeoutMs?: number;
  /** DDL capture: inserts into `<schema>.dts_ddl_command` become `ddl` events (see ddl.ts). */
  ddl?: { schema: string };
  /**
   * Which tables the task selects: a transaction whose DDL touches selected and unselected tables
   * (table commands; an index or a view is not a selected object) is not synchronized at all (seed 003). Absent: every DDL is emitted (selection happens later).
   */
  selects?: (ref: TableRef) => boolean;
  /** The heartbeat table (`source.heartbeat`): its changes become `heartbeat` events. Default: any table named `dts_postgres_heartbeat`. */
  heartbeat?: { schema: string; table: string };
  logger?: Logger;
}

interface TxState {
  finalLsn: bigint;
  commitTime: number;
  xid: number;
  /** String(xid), once per transaction. */
  id: string;
  seq: number;
  /** Whether the transaction changed rows of published tables (DDL in it is then not synchronized). */
  dml: boolean;
  /** DDL statements captured in this transaction, emitted at its commit. */
  ddl: DdlRow[];
}

/**
 * Incremental synchronization: pgoutput changes as ChangeEvents, in commit order, one transaction
 * after another, never buffering a whole transaction. Heartbeat-table changes become `heartbeat`
 * events. Pauses reading while the in-flight window is full.
 */
export function streamChanges(opts: StreamOptions): Observable<ChangeEvent> {
  return new Observable<ChangeEvent>((subscriber) => {
    const plugin = new LosslessPgoutputPlugin({ publicationNames: [opts.publication] });
    const decoder = plugin.decoder;
    const shapes = new Map<number, TableShape>();
    let tx: TxState | null = null;
    let safeLsn = opts.from;
    let failed = false;
    const ddlShapes = new DdlShapes(opts.database);
    const isDdlTable = (rel: Relation) => opts.ddl !== undefined && rel.name === DDL_TABLE && rel.schema === opts.ddl.schema;

    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      subscriber.error(err);
    };

    const shapeOf = (rel: Relation): TableShape => {
      let shape = shapes.get(rel.oid);
      if (!shape) {
        const columns: Column[] = rel.columns.map((c) => {
          const type = opts.typeNames.get(c.typeOid) ?? `oid:${c.typeOid}`;
          return postgresColumn({ name: c.name, type, typeId: c.typeOid, ...typmodDetails(type, c.typeMod) });
        });
        const key = opts.keys.get(`${rel.schema}.${rel.name}`) ?? (rel.replicaIdentity === 'full' ? [] : rel.keyColumns);
        shape = { ref: { database: opts.database, schema: rel.schema, table: rel.name }, columns, key };
        shapes.set(rel.oid, shape);
      }
      return shape;
    };

    const checkToast = (rel: Relation, row: Tuple) => {
      for (const c of rel.columns) {
        if (row[c.name] === UNCHANGED_TOAST) {
          throw new FatalError('UNCHANGED_TOAST', `An update of ${rel.schema}.${rel.name} did not carry the unchanged TOASTed value of column ${c.name}, and Tributary will not write a placeholder.`, {
            object: `${rel.schema}.${rel.name}`,
            field: c.name,
            fix: `Run ALTER TABLE ${rel.schema}.${rel.name} REPLICA IDENTITY FULL (Tributary sets it during initialization unless that step was skipped), then restart the task.`,
          });
        }
      }
    };

    const emit = (op: ChangeEvent['op'], rel: Relation, before: Row | null, after: Row | null, bytes: number) => {
      if (!tx) throw protocolError(`${op} of ${rel.schema}.${rel.name} outside a transaction`);
      tx.seq += 1;
      const isHeartbeat = opts.heartbeat ? rel.name === opts.heartbeat.table && rel.schema === opts.heartbeat.schema : rel.name === HEARTBEAT_TABLE;
      if (!isHeartbeat && op !== 'truncate') tx.dml = true;
      subscriber.next({
        op: isHeartbeat ? 'heartbeat' : op,
        shape: shapeOf(rel),
        snapshot: false,
        before,
        after,
        commitTime: tx.commitTime,
        position: new PgPosition(tx.finalLsn, tx.seq, safeLsn),
        tx: { id: tx.id, seq: tx.seq },
        bytes,
      });
    };

    const emitDdl = (t: TxState, d: DdlRow) => {
      t.seq += 1;
      const text = String(d.ddl);
      subscriber.next({
        op: 'ddl',
        shape: ddlShapes.shapeFor(d),
        snapshot: false,
        before: null,
        after: null,
        ddl: { text, command: { tag: d.tag, objectType: d.object_type, schema: d.schema_name, name: d.object_name } },
        commitTime: t.commitTime,
        position: new PgPosition(t.finalLsn, t.seq, safeLsn),
        tx: { id: t.id, seq: t.seq },
        bytes: text.length + 64,
      });
    };

    // Every XLogData message, in order; a returned promise holds the next ones back (the socket pauses).
    const onMessage = (payload: Buffer): Promise<void> | undefined => {
      if (failed) return undefined;
      try {
        const bytes = payload.length;
        if (bytes > MAX_CHANGE_BYTES) {
          throw new FatalError('CHANGE_TOO_LARGE', `A single change of ${bytes} bytes arrived from slot ${opts.slot}; the limit is 256 MB.`, {
            object: opts.slot,
            fix: 'Exclude the large column from the task (column selection) or split the change at the source.',
          });
        }
        const m = decoder.decode(payload);
        switch (m.tag) {
          case 'begin':
            tx = { finalLsn: m.finalLsn, commitTime: m.commitTime, xid: m.xid, id: String(m.xid), seq: 0, dml: false, ddl: [] };
            return undefined;
          case 'commit': {
            const done = tx;
            const ddl = done?.ddl ?? [];
            if (done && ddl.length > 0 && done.dml) {
              // Seed 003: DDL in a transaction that also changes rows is not synchronized.
              opts.logger?.warn('DDL in a transaction that also changed rows is not synchronized', {
                slot: opts.slot,
                xid: done.xid,
                ddl: ddl.map((d) => d.ddl).join('; '),
              });
            } else if (done && opts.selects && partlySelected(ddl.filter((d) => d.object_type === 'table').map((d) => opts.selects?.(ddlShapes.shapeFor(d).ref) ?? true))) {
              // Seed 003: a DDL transaction only partly selected is not synchronized at all.
              opts.logger?.warn('DDL in a transaction that also changed objects the task does not select is not synchronized', {
                slot: opts.slot,
                xid: done.xid,
                ddl: ddl.map((d) => d.ddl).join('; '),
              });
            } else if (done) {
              for (const d of ddl) emitDdl(done, d);
            }
            if (tx) safeLsn = tx.finalLsn;
            tx = null;
            return ddl.length > 0 ? opts.flow.waitForRoom() : undefined;
          }
          case 'relation':
            shapes.delete(m.relation.oid); // a changed definition applies from this point on
            return undefined;
          case 'type':
            opts.typeNames.set(m.typeOid, m.name);
            return undefined;
          case 'insert':
            if (isDdlTable(m.relation)) {
              if (!tx) throw protocolError('DDL capture row outside a transaction');
              tx.ddl.push(m.new as unknown as DdlRow);
              return undefined;
            }
            if (decoder.unchangedToast) checkToast(m.relation, m.new);
            emit('insert', m.relation, null, m.new, bytes);
            break;
          case 'update':
            if (isDdlTable(m.relation)) return undefined;
            if (decoder.unchangedToast) checkToast(m.relation, m.new);
            emit('update', m.relation, m.old ?? m.key, m.new, bytes);
            break;
          case 'delete':
            if (isDdlTable(m.relation)) return undefined;
            emit('delete', m.relation, m.old ?? m.key, null, bytes);
            break;
          case 'truncate':
            for (const rel of m.relations) if (!isDdlTable(rel)) emit('truncate', rel, null, null, bytes);
            break;
          default:
            return undefined;
        }
        return opts.flow.waitForRoom();
      } catch (err) {
        fail(err);
        return undefined;
      }
    };
    const service = new FastReplicationService(opts.connection, onMessage);
    service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
      // Received up to the keepalive's WAL end; confirming stays with the source's timer.
      if (shouldRespond) service.replyKeepalive(lsnToBigInt(lsn));
    });
    service.on('error', (err: Error) => fail(translateReplicationError(err, opts.slot, opts.database)));
    opts.onService?.(service);
    const silenceLimit = opts.silenceTimeoutMs ?? 30_000;
    const watchdog = setInterval(() => {
      const silent = service.silentForMs();
      if (silent >= silenceLimit) {
        fail(new ConnectionError('REPLICATION_TIMEOUT', `The replication connection of slot ${opts.slot} (database ${opts.database}) showed no traffic for ${Math.round(silent / 1000)} s, though a keepalive was asked for: the connection is dead.`, {
          object: opts.slot,
          fix: 'Check the network between Tributary and PostgreSQL; the task reconnects and resumes from its checkpoint.',
        }));
      } else if (silent >= Math.min(5_000, silenceLimit / 3)) {
        service.ping();
      }
    }, Math.max(100, Math.min(2_500, silenceLimit / 6)));
    service
      .subscribe(plugin as never, opts.slot, bigIntToLsn(opts.from))
      .then(() => {
        if (!failed && !subscriber.closed) fail(classifyError(new Error('replication connection closed'), `slot ${opts.slot}`));
      })
      .catch((err: unknown) => fail(translateReplicationError(err, opts.slot, opts.database)));

    return () => {
      failed = true;
      clearInterval(watchdog);
      void service.destroy().catch(() => undefined);
    };
  });
}

/** Replication errors that mean lost history become LostHistoryError; the rest are classified. */
export function translateReplicationError(err: unknown, slot: string, database: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/replication slot .* does not exist/i.test(message)) {
    return new LostHistoryError(`The replication slot ${slot} of database ${database} no longer exists.`, {
      object: slot,
      cause: err,
      fix: 'Start the task again with full synchronization (a new slot is created); Tributary will not continue from the current position.',
    });
  }
  if (/has already been removed|can no longer get changes from replication slot|invalidated/i.test(message)) {
    return new LostHistoryError(`The WAL that replication slot ${slot} needs has been removed: ${message}`, {
      object: slot,
      cause: err,
      fix: `Raise max_slot_wal_keep_size (or wal_keep_size), release the task (drops ${slot}) and start it again with full synchronization.`,
    });
  }
  return classifyPgError(err, `replication slot ${slot}`);
}

/** Some, but not all, of a transaction's DDL commands are on selected objects. */
export function partlySelected(selected: readonly boolean[]): boolean {
  return selected.some(Boolean) && !selected.every(Boolean);
}
