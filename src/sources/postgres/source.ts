import { EMPTY, Observable, catchError, concat, concatMap, defer, finalize, from, ignoreElements, interval, merge } from 'rxjs';
import pg from 'pg';
import type { LogicalReplicationService } from 'pg-logical-replication';
import type { FlowControl, Logger, PrecheckItem, SnapshotChunk, SnapshotPlan, Source } from '../../core/contracts.js';
import { ConnectionError, FatalError, LostHistoryError, classifyError } from '../../core/errors.js';
import { classifyPgError } from './errors.js';
import type { ChangeEvent, TableRef, TableShape } from '../../core/events.js';
import type { Position } from '../../core/position.js';
import { bigIntToLsn, lsnToBigInt } from '../../core/position.js';
import { qualified, readCatalog, type CatalogTable } from './catalog.js';
import { DDL_SKIP_SETTING, ddlDuringFullSync, dropDdlCapture, ensureDdlCapture, readColumns } from './ddl.js';
import { dropSchemaJoin, JOIN_TABLE } from './schemaJoin.js';
import { HEARTBEAT_TABLE, DDL_TABLE, beat, ensureHeartbeatTable, setReplicaIdentityFull } from './helpers.js';
import { PgPosition } from './position.js';
import { precheckPostgres, type PostgresFlavour } from './precheck.js';
import { preparePublication, releasePublication, type HelperTable, type PublicationTarget } from './publication.js';
import {
  SLOT_NAME_PATTERN,
  SLOT_NAME_RULE,
  assertSlotUsable,
  createSlotWithSnapshot,
  defaultReplicationName,
  describeSlot,
  dropSlot,
  legacySlotName,
  readSlot,
  replicationApplicationName,
  slotMismatch,
  type CreatedSlot,
} from './slot.js';
import { planPageRanges, readChunk, type PageRangeBounds } from './snapshot.js';
import { streamChanges } from './stream.js';

export interface PostgresSourceOptions {
  taskId: string;
  /** Replication slot name, used verbatim. Default: `tributary_<task id>` (see `defaultReplicationName`). */
  slotName?: string;
  /**
   * Publication name, used verbatim. Default: `tributary_<task id>`. An existing publication the
   * task did not create is read as it is, never altered or dropped (see publication.ts).
   */
  publication?: string;
  connection: pg.ClientConfig & { database: string };
  flavour: PostgresFlavour;
  /** Which tables the task covers. */
  select: (ref: TableRef) => boolean;
  /** Tables named in `objects` without a wildcard: each must exist. */
  named?: ReadonlyArray<{ schema?: string; table: string }>;
  /** Schemas selected whole: on PostgreSQL 15+ the task's publication covers them, so tables created there later join. */
  wholeSchemas?: readonly string[];
  /** `table`: the heartbeat table's name (default `dts_postgres_heartbeat`). */
  heartbeat: { enabled: boolean; intervalMs: number; schema: string; table?: string };
  /**
   * Capture DDL through an event trigger into `<heartbeat schema>.dts_ddl_command` (PostgreSQL and
   * PolarDB; AnalyticDB does not synchronize DDL). Creating event triggers needs a superuser.
   */
  captureDdl?: boolean;
  /** Target rows per full-sync chunk. */
  chunkRows: number;
  fetchRows?: number;
  exactlyOnce?: boolean;
  /** Seconds between standby status messages carrying the confirmed LSN. */
  statusIntervalMs?: number;
  logger?: Logger;
}

/** PostgreSQL-family source: pgoutput logical replication, exported-snapshot full sync. */
export class PostgresSource implements Source {
  readonly kind = 'postgres';
  readonly slot: string;
  readonly publication: string;
  private readonly database: string;
  private exporter: CreatedSlot | null = null;
  private service: LogicalReplicationService | null = null;
  private confirmed: bigint | null = null;
  private selected: CatalogTable[] = [];
  /** Column definitions of the selected tables when the task was prepared, to detect DDL during full sync. */
  private readonly definitions = new Map<string, string[]>();

  /** The connection with the application_name that marks this task's replication connections. */
  private readonly replicationConnection: pg.ClientConfig;

  constructor(private readonly opts: PostgresSourceOptions) {
    // No connection attempt waits for ever (an endpoint that accepts TCP and never answers), and
    // TCP keepalives find dead peers; a config's own values win.
    this.opts = { ...opts, connection: { connectionTimeoutMillis: 15_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000, ...opts.connection } };
    this.slot = opts.slotName ?? defaultReplicationName(opts.taskId);
    this.publication = opts.publication ?? defaultReplicationName(opts.taskId);
    if (!SLOT_NAME_PATTERN.test(this.slot)) {
      throw new FatalError('INVALID_SLOT_NAME', `'${this.slot}' is not a valid replication slot name: ${SLOT_NAME_RULE}.`, { object: this.slot, field: 'source.slotName', fix: 'Rename it, for example orders_slot.' });
    }
    this.database = opts.connection.database;
    this.replicationConnection = { ...this.opts.connection, application_name: replicationApplicationName(opts.taskId) };
  }

  /** The heartbeat table's name (`source.heartbeat.table`). */
  private get heartbeatTable(): string {
    return this.opts.heartbeat.table ?? HEARTBEAT_TABLE;
  }

  /** The task's helper tables (heartbeat, DDL capture) in the heartbeat schema are never selected. */
  private isHelper(ref: TableRef): boolean {
    const inHelperSchema = ref.schema === this.opts.heartbeat.schema;
    return (inHelperSchema && (ref.table === this.heartbeatTable || ref.table === DDL_TABLE)) || ref.table === HEARTBEAT_TABLE;
  }

  /** The publication as the task needs it: the selected tables plus its helper tables. */
  private publicationTarget(selected: CatalogTable[]): PublicationTarget {
    const helpers: HelperTable[] = [];
    const schema = this.opts.heartbeat.schema;
    if (this.opts.captureDdl) {
      helpers.push({ schema, table: DDL_TABLE, without: 'captured DDL would not be synchronized', option: 'source.captureDdl: false' });
    }
    if (this.opts.heartbeat.enabled) {
      helpers.push({ schema, table: this.heartbeatTable, without: 'heartbeats would not arrive, so latency reads stale and an idle slot pins WAL', option: 'source.heartbeat.enabled: false' });
    }
    return { name: this.publication, taskId: this.opts.taskId, selected, helpers, helperSchema: schema, ...(this.opts.wholeSchemas ? { schemas: this.opts.wholeSchemas } : {}) };
  }

  /** `host:port` of the server, from the host and port or from the connection URI (never its password). */
  private get endpoint(): string {
    const c = this.opts.connection;
    if (c.host !== undefined) return `${c.host}:${c.port ?? 5432}`;
    if (c.connectionString) {
      try {
        const u = new URL(c.connectionString);
        return `${u.hostname || 'localhost'}:${u.port || '5432'}`;
      } catch {
        return '(the configured URI)';
      }
    }
    return 'localhost:5432';
  }

  private async withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(this.opts.connection);
    // A connection the server ends while idle emits 'error': it surfaces through the awaited query
    // (or the next one); unhandled, it would end the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      throw new ConnectionError('SOURCE_UNREACHABLE', `Cannot connect to PostgreSQL database ${this.database} at ${this.endpoint}: ${(err as Error).message}`, {
        object: this.database,
        cause: err,
        fix: 'Check host, port, account and password, and that pg_hba.conf admits this client.',
      });
    }
    try {
      return await fn(client);
    } catch (err) {
      throw classifyPgError(err, `PostgreSQL database ${this.database}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async loadSelection(client: pg.Client): Promise<CatalogTable[]> {
    const all = await readCatalog(client, this.database);
    return all.filter((t) => !this.isHelper(t.ref) && this.opts.select(t.ref));
  }

  async precheck(): Promise<PrecheckItem[]> {
    let connectivity: PrecheckItem;
    try {
      return await this.withClient(async (client) => {
        connectivity = { id: 'source.connect', group: 'connectivity', title: 'Source reachable and authenticated', status: 'pass', detail: `${this.endpoint}/${this.database}` };
        const selected = await this.loadSelection(client);
        this.selected = selected;
        const items = await precheckPostgres({
          client,
          database: this.database,
          flavour: this.opts.flavour,
          selected,
          slot: this.slot,
          ownApplication: replicationApplicationName(this.opts.taskId),
          legacySlots: [legacySlotName(this.opts.taskId), ...(this.opts.slotName ? [legacySlotName(this.opts.slotName)] : [])],
          publication: this.publicationTarget(selected),
          heartbeatSchema: this.opts.heartbeat.enabled ? this.opts.heartbeat.schema : null,
          ...(this.opts.named ? { named: this.opts.named } : {}),
          exactlyOnce: this.opts.exactlyOnce ?? false,
          full: true,
          captureDdl: this.opts.captureDdl ?? false,
        });
        // A table named in `objects` (no wildcard) that does not exist is never skipped silently.
        const missing = (this.opts.named ?? []).filter((n) => !selected.some((t) => t.ref.table === n.table && (n.schema === undefined || t.ref.schema === n.schema)));
        if (missing.length > 0) {
          const names = missing.map((n) => (n.schema ? `${n.schema}.${n.table}` : n.table)).join(', ');
          items.push({ id: 'source.objects', group: 'source', title: 'The selection matches tables', status: 'fail', detail: `database ${this.database} has no table ${names}`, fix: 'Check the schema and table names in `objects` (names are case-sensitive), or create the tables first.' });
        } else if (selected.length === 0) {
          items.push({ id: 'source.objects', group: 'source', title: 'The selection matches tables', status: 'fail', detail: `no table of database ${this.database} matches the task's objects`, fix: 'Check the schema and table names in `objects`.' });
        }
        return [connectivity, ...items];
      });
    } catch (err) {
      const e = classifyError(err, 'source');
      return [{ id: 'source.connect', group: 'connectivity', title: 'Source reachable and authenticated', status: 'fail', detail: e.message, fix: e.fix ?? 'Check host, port, account and password.' }];
    }
  }

  async prepare(opts: { full: boolean }): Promise<SnapshotPlan> {
    return this.withClient(async (client) => {
      this.selected = await this.loadSelection(client);
      if (this.selected.length === 0) {
        throw new FatalError('NO_TABLES', `No table of database ${this.database} matches the task's objects.`, { object: this.database, field: 'objects', fix: 'Check the schema and table names in `objects`.' });
      }
      const heap = this.selected.flatMap((t) =>
        t.kind === 'partitioned' ? t.partitions.map((p) => ({ schema: p.schema, table: p.table })) : [{ schema: t.ref.schema ?? 'public', table: t.ref.table }],
      );
      // A slot of another database or another plugin is never taken over.
      const existing = await describeSlot(client, this.slot);
      const wrong = existing && slotMismatch(existing, this.slot, this.database, null);
      if (wrong) throw new FatalError('SLOT_UNUSABLE', `The replication slot ${this.slot} cannot serve task ${this.opts.taskId}: ${wrong.detail}.`, { object: this.slot, field: 'source.slotName', fix: wrong.fix });
      const target = this.publicationTarget(this.selected);
      const published = [...this.selected.map((t) => ({ schema: t.ref.schema ?? 'public', table: t.ref.table })), ...target.helpers];
      // Tributary's own ALTERs below are not captured as DDL.
      await client.query(`SET ${DDL_SKIP_SETTING} = 'on'`);
      if (this.opts.captureDdl) await ensureDdlCapture(client, this.opts.heartbeat.schema);
      if (this.opts.heartbeat.enabled) await ensureHeartbeatTable(client, this.opts.heartbeat.schema, this.heartbeatTable);
      // Before REPLICA IDENTITY FULL: a user's publication the task cannot use is refused untouched.
      await preparePublication(client, target, this.opts.logger);
      await setReplicaIdentityFull(client, [...published, ...heap.filter((h) => !published.some((p) => p.schema === h.schema && p.table === h.table))]);

      const state = await readSlot(client, this.slot);
      let streamFrom: bigint;
      if (!state.exists) {
        const exporter = await createSlotWithSnapshot(this.replicationConnection, this.slot);
        this.exporter = exporter;
        // The exporting connection ended (a server restart, a terminated backend): its snapshot is
        // gone, so later chunks read without it (at least once, as after a restart of the task).
        const lost = () => {
          if (this.exporter === exporter) this.exporter = null;
        };
        exporter.connection.on('error', lost);
        exporter.connection.on('end', lost);
        streamFrom = exporter.consistentPoint;
        this.opts.logger?.info('created replication slot', { slot: this.slot, consistentPoint: bigIntToLsn(streamFrom) });
      } else {
        assertSlotUsable(state, this.slot, this.database);
        streamFrom = state.confirmedFlush ?? 0n;
      }
      if (opts.full) {
        for (const t of this.selected) {
          const schema = t.ref.schema ?? 'public';
          const cols = await readColumns(client, schema, t.ref.table);
          if (cols) this.definitions.set(`${schema}.${t.ref.table}`, cols);
        }
      }
      const chunks: SnapshotChunk[] = opts.full ? this.planChunks() : [];
      return { chunks, streamFrom: new PgPosition(streamFrom, 0, streamFrom) };
    });
  }

  private planChunks(): SnapshotChunk[] {
    const chunks: SnapshotChunk[] = [];
    for (const t of this.selected) {
      const heaps = t.kind === 'partitioned' ? t.partitions : [{ schema: t.ref.schema ?? 'public', table: t.ref.table, pages: t.pages, estimatedRows: t.estimatedRows, filenode: t.filenode }];
      for (const h of heaps) {
        const rowsPerPage = h.pages > 0 && h.estimatedRows > 0 ? h.estimatedRows / h.pages : 50;
        const chunkPages = Math.max(1, Math.floor(this.opts.chunkRows / rowsPerPage));
        for (const b of planPageRanges(h.schema, h.table, h.pages, chunkPages)) {
          const pages = (b.toPage ?? Math.max(h.pages, b.fromPage + 1)) - b.fromPage;
          chunks.push({ id: `${h.schema}.${h.table}:${b.fromPage}`, table: t.ref, bounds: b, estimatedRows: Math.round(pages * rowsPerPage), generation: `${h.schema}.${h.table}@${h.filenode}` });
        }
      }
    }
    return chunks;
  }

  /** Shapes by `schema.table`, for the snapshot reader. */
  private shapeFor(ref: TableRef): TableShape {
    const t = this.selected.find((s) => s.ref.schema === ref.schema && s.ref.table === ref.table);
    if (!t) throw new FatalError('UNKNOWN_TABLE', `Full sync chunk names table ${ref.schema}.${ref.table}, which is not selected.`, { object: `${ref.schema}.${ref.table}` });
    return t.shape;
  }

  private async ensureSelected(): Promise<void> {
    if (this.selected.length === 0) await this.withClient(async (c) => void (this.selected = await this.loadSelection(c)));
  }

  /** Fails full synchronization when a selected table's definition changed since the task was prepared. */
  private async checkDefinition(ref: TableRef): Promise<void> {
    const schema = ref.schema ?? 'public';
    const before = this.definitions.get(`${schema}.${ref.table}`);
    if (!before) return;
    const now = await this.withClient((c) => readColumns(c, schema, ref.table));
    if (now === null || now.length !== before.length || now.some((c, i) => c !== before[i])) throw ddlDuringFullSync(schema, ref.table, before, now);
  }

  snapshot(chunk: SnapshotChunk, flow?: FlowControl): Observable<ChangeEvent> {
    // A chunk copied for another worker's task is read in that worker's exported snapshot.
    const shared = chunk.snapshot !== undefined ? parseSharedSnapshot(chunk.snapshot) : null;
    const view = shared ?? (this.exporter ? { name: this.exporter.snapshotName, point: this.exporter.consistentPoint } : null);
    const read = (v: { name: string; point: bigint } | null) =>
      defer(() => readChunk(chunk, {
        connection: this.opts.connection,
        shape: this.shapeFor(chunk.table),
        ...(v ? { snapshotName: v.name } : {}),
        consistentPoint: v?.point ?? 0n,
        fetchRows: this.opts.fetchRows ?? 2500,
        flow: flow ?? { waitForRoom: () => undefined },
      }));
    // The exporting connection ended before the chunk began (nothing read yet): read without the
    // snapshot, at least once, as after a restart of the task.
    const withFallback = shared
      ? read(shared).pipe(
          catchError((err: unknown) => {
            if (!snapshotGone(err)) throw err;
            this.opts.logger?.warn('exported snapshot gone; chunk read without it (at least once)', { chunk: chunk.id });
            return read(null);
          }),
        )
      : read(view);
    return from(this.ensureSelected()).pipe(concatMap(() => concat(withFallback, defer(() => this.checkDefinition(chunk.table)).pipe(ignoreElements()))));
  }

  /** The exported snapshot (name and consistent point) while the exporting connection is open. */
  exportedSnapshot(): string | null {
    return this.exporter ? JSON.stringify({ name: this.exporter.snapshotName, lsn: bigIntToLsn(this.exporter.consistentPoint) }) : null;
  }

  stream(from: Position, flow: FlowControl): Observable<ChangeEvent> {
    return defer(() => this.prepareStream(from)).pipe(
      concatMap(({ typeNames, keys, start }) =>
        merge(
          streamChanges({
            connection: this.replicationConnection,
            database: this.database,
            slot: this.slot,
            publication: this.publication,
            from: start,
            keys,
            typeNames,
            flow,
            onService: (s) => (this.service = s),
            ...(this.opts.captureDdl ? { ddl: { schema: this.opts.heartbeat.schema } } : {}),
            heartbeat: { schema: this.opts.heartbeat.schema, table: this.heartbeatTable },
            selects: this.opts.select,
            ...(this.opts.logger ? { logger: this.opts.logger } : {}),
          }),
          // Timers ride along the stream's lifetime and emit nothing.
          interval(this.opts.statusIntervalMs ?? 5000).pipe(concatMap(() => this.sendStatus()), ignoreElements()),
          this.opts.heartbeat.enabled ? this.heartbeats() : EMPTY,
        ).pipe(finalize(() => (this.service = null))),
      ),
    );
  }

  private async prepareStream(from: Position) {
    await this.endSnapshotExport();
    const typeNames = new Map<number, string>();
    const keys = new Map<string, readonly string[]>();
    const start = (from as PgPosition).safeLsn;
    await this.withClient(async (c) => {
      const state = await readSlot(c, this.slot);
      assertSlotUsable(state, this.slot, this.database);
      // A slot confirmed past the checkpoint cannot replay what lies between (typically: the slot was
      // dropped while the runtime was down and prepare() created a new one). Never continue from there.
      // Standby status reports "last byte + 1" (pg-logical-replication adds it), hence the + 1.
      if (state.confirmedFlush !== null && start > 0n && state.confirmedFlush > start + 1n) {
        throw new LostHistoryError(
          `The replication slot ${this.slot} of database ${this.database} starts at ${bigIntToLsn(state.confirmedFlush)}, after the task's checkpoint ${bigIntToLsn(start)}: the changes in between are no longer available (was the slot dropped and created again?).`,
          { object: this.slot, fix: `Release the task (drops ${this.slot} and the checkpoint) and start it again with full synchronization.` },
        );
      }
      for (const r of (await c.query<{ oid: number; typname: string }>('SELECT oid::int AS oid, typname FROM pg_type')).rows) typeNames.set(r.oid, r.typname);
      if (this.selected.length === 0) this.selected = await this.loadSelection(c);
      for (const t of this.selected) keys.set(`${t.ref.schema}.${t.ref.table}`, t.shape.key);
      keys.set(`${this.opts.heartbeat.schema}.${this.heartbeatTable}`, ['slot_name']);
    });
    this.confirmed = start;
    this.opts.logger?.debug('streaming from', { slot: this.slot, start: bigIntToLsn(start) });
    return { typeNames, keys, start };
  }

  /** Updates the heartbeat row every interval on its own connection; a failed beat is logged and retried. */
  private heartbeats(): Observable<never> {
    return new Observable<never>(() => {
      let client: pg.Client | null = null;
      let seq = 0;
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        const run = async () => {
          if (!client) {
            const c = new pg.Client(this.opts.connection);
            c.on('error', () => undefined);
            await c.connect();
            client = c;
          }
          await beat(client, this.opts.heartbeat.schema, this.slot, ++seq, this.heartbeatTable);
        };
        run()
          .catch((err: unknown) => {
            this.opts.logger?.warn('heartbeat failed', { slot: this.slot, error: (err as Error).message });
            void client?.end().catch(() => undefined);
            client = null;
          })
          .finally(() => (busy = false));
      }, this.opts.heartbeat.intervalMs);
      return () => {
        clearInterval(timer);
        void client?.end().catch(() => undefined);
      };
    });
  }

  private async sendStatus(): Promise<void> {
    if (this.service && this.confirmed !== null && this.confirmed > 0n) {
      await this.service.acknowledge(bigIntToLsn(this.confirmed)).catch(() => undefined);
    }
  }

  /** Confirms to the slot the last transaction that ended at or before `upTo` (never part of one). */
  async confirm(upTo: Position): Promise<void> {
    const lsn = (upTo as PgPosition).safeLsn;
    if (this.confirmed === null || lsn > this.confirmed) {
      this.confirmed = lsn;
      await this.sendStatus();
    }
  }

  decodePosition(text: string): Position {
    return PgPosition.decode(text);
  }

  private async endSnapshotExport(): Promise<void> {
    const e = this.exporter;
    this.exporter = null;
    if (e) await e.connection.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.endSnapshotExport();
    await this.sendStatus();
    await this.service?.destroy().catch(() => undefined);
    this.service = null;
  }

  async release(): Promise<void> {
    await this.close();
    await this.withClient(async (c) => {
      const problems: string[] = [];
      await dropSlot(c, this.slot).catch((err: unknown) => problems.push(`SELECT pg_drop_replication_slot('${this.slot}'); -- ${(err as Error).message}`));
      // A publication the task did not create is the user's: it stays.
      const dropped = await releasePublication(c, this.publication, this.opts.taskId).catch((err: unknown) => {
        problems.push(`DROP PUBLICATION ${this.publication}; -- ${(err as Error).message}`);
        return true;
      });
      if (!dropped) this.opts.logger?.info('kept publication the task did not create', { publication: this.publication });
      if (dropped) {
        await dropSchemaJoin(c, this.opts.heartbeat.schema, this.publication).catch((err: unknown) =>
          problems.push(`DELETE FROM ${this.opts.heartbeat.schema}.${JOIN_TABLE} WHERE pubname = '${this.publication}'; -- ${(err as Error).message}`),
        );
      }
      if (this.opts.captureDdl) {
        await dropDdlCapture(c, this.opts.heartbeat.schema, this.publication).catch((err: unknown) =>
          problems.push(`DROP EVENT TRIGGER dts_capture_ddl_end; DROP EVENT TRIGGER dts_capture_ddl_drop; DROP TABLE ${this.opts.heartbeat.schema}.${DDL_TABLE}; -- ${(err as Error).message}`),
        );
      }
      if (this.opts.heartbeat.enabled) {
        await c
          .query(`DELETE FROM ${qualified(this.opts.heartbeat.schema, this.heartbeatTable)} WHERE slot_name = $1`, [this.slot])
          .catch(() => undefined);
      }
      if (problems.length > 0) {
        throw new FatalError('RELEASE_INCOMPLETE', `Releasing task ${this.opts.taskId} left objects in database ${this.database}.`, { object: this.slot, fix: `Run by hand: ${problems.join(' ')}` });
      }
    });
  }

  async shapes(): Promise<TableShape[]> {
    return this.selected.map((t) => t.shape);
  }

  /** Bytes of WAL the slot retains (for metrics). */
  async retainedWalBytes(): Promise<bigint | null> {
    return this.withClient(async (c) => (await readSlot(c, this.slot)).retainedBytes);
  }
}

export type { PageRangeBounds };

/** `exportedSnapshot()`'s token, read back; null when it is not one. */
function parseSharedSnapshot(token: string): { name: string; point: bigint } | null {
  try {
    const t = JSON.parse(token) as { name?: unknown; lsn?: unknown };
    return typeof t.name === 'string' && typeof t.lsn === 'string' ? { name: t.name, point: lsnToBigInt(t.lsn) } : null;
  } catch {
    return null;
  }
}

/** SET TRANSACTION SNAPSHOT refused: the exporting transaction ended (`invalid snapshot identifier`). */
function snapshotGone(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e) return false;
  if ((e.code === '22023' || e.code === '0B000') && /snapshot/i.test(String(e.message))) return true;
  return e.cause !== undefined && e.cause !== err && snapshotGone(e.cause);
}
