import { EMPTY, Observable, concatMap, defer, from, merge } from 'rxjs';
import type { FlowControl, Logger, PrecheckItem, SnapshotChunk, SnapshotPlan, Source } from '../../core/contracts.js';
import { FatalError, classifyError } from '../../core/errors.js';
import type { ChangeEvent, TableRef, TableShape } from '../../core/events.js';
import type { Position } from '../../core/position.js';
import { describeTables, listTables, readRegistrations, registrationKey, run, type Db2Table, type Registration } from './catalog.js';
import type { Db2Client, Db2Connector } from './client.js';
import { DB2, Db2Sql, type Rendering, type TableName } from './dialect.js';
import { checkHistory } from './history.js';
import { Db2Position } from './position.js';
import { precheckDb2 } from './precheck.js';
import { planKeyRanges, readKeyRange } from './snapshot.js';
import { readProgress, sequenceWidth, streamChanges } from './stream.js';

export interface Db2SourceOptions {
  taskId: string;
  /** The database name tables are reported under (TableRef.database). */
  database: string;
  /** Opens connections (ibm_db in production; see ibmdb.ts). */
  connect: Db2Connector;
  /** How statements are spelled; Db2 for LUW unless a test emulates the server. */
  rendering?: Rendering;
  /** The SQL Replication Capture schema. Default ASN. */
  captureSchema?: string;
  select: (ref: TableRef) => boolean;
  /** Whether the task runs full synchronization (retention needed: 7 days instead of 24 hours). */
  full: boolean;
  /** Whether names are mapped (then at most 5,000 tables). */
  mapsNames: boolean;
  /**
   * The heartbeat table the task updates every `intervalMs` (created when absent). A null schema
   * means the account's default schema (CURRENT SCHEMA).
   */
  heartbeat: { enabled: boolean; intervalMs: number; table: string; schema: string | null };
  /** Target rows per full-sync chunk. */
  chunkRows: number;
  /** Rows per page of a full-sync chunk. */
  fetchRows?: number;
  /** Changes per page of one change-data table. */
  pageRows?: number;
  /** Wait between rounds that found Capture's progress unchanged. */
  pollIntervalMs?: number;
  logger?: Logger;
}

/**
 * A Db2 identifier as a task config writes it: an ordinary identifier (letters, digits, `_`) is
 * folded to upper case as Db2 folds unquoted names; anything else is taken verbatim.
 */
export function db2Identifier(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name.toUpperCase() : name;
}

/**
 * Db2 for LUW through SQL Replication: Capture (asncap) reads the log into change-data tables;
 * this source reads those tables as an Apply program would (see stream.ts), copies tables in key
 * ranges for full synchronization, and never writes to Capture's control tables.
 */
export class Db2Source implements Source {
  readonly kind = 'db2';
  readonly sql: Db2Sql;
  private selected: Db2Table[] = [];
  private snapshotFrom: Db2Position | null = null;
  private heartbeatName: TableName | null = null;
  private confirmed: Position | null = null;

  constructor(private readonly opts: Db2SourceOptions) {
    this.sql = new Db2Sql(opts.rendering ?? DB2, opts.captureSchema ?? 'ASN');
  }

  private async withClient<T>(fn: (c: Db2Client) => Promise<T>): Promise<T> {
    const client = await this.opts.connect();
    try {
      return await fn(client);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  /** The heartbeat table's name, the default schema resolved. */
  private async heartbeatTable(c: Db2Client): Promise<TableName | null> {
    const hb = this.opts.heartbeat;
    if (!hb.enabled) return null;
    if (this.heartbeatName) return this.heartbeatName;
    const schema = hb.schema ?? String((await run(c, this.sql.serverInfo()))[0]?.SCHEMA ?? '').trim();
    this.heartbeatName = { schema, table: hb.table };
    return this.heartbeatName;
  }

  /** Selected user tables: the task's objects, less change-data tables and the heartbeat table. */
  private async loadSelection(c: Db2Client, regs: Map<string, Registration>): Promise<Db2Table[]> {
    const hb = await this.heartbeatTable(c);
    const cds = new Set([...regs.values()].map((r) => registrationKey(r.cd)));
    const tables = (await listTables(c, this.sql)).filter((t) => {
      const key = registrationKey(t.name);
      if (cds.has(key) || (hb && key === registrationKey(hb))) return false;
      return this.opts.select({ database: this.opts.database, schema: t.name.schema, table: t.name.table });
    });
    return describeTables(c, this.sql, this.opts.database, tables);
  }

  async precheck(): Promise<PrecheckItem[]> {
    let client: Db2Client;
    try {
      client = await this.opts.connect();
      await run(client, this.sql.serverInfo());
    } catch (err) {
      const e = classifyError(err, 'source');
      return [{ id: 'source.connect', group: 'connectivity', title: 'Source reachable and authenticated', status: 'fail', detail: e.message, fix: e.fix ?? 'Check host, port, account and password.' }];
    }
    const connectivity: PrecheckItem = { id: 'source.connect', group: 'connectivity', title: 'Source reachable and authenticated', status: 'pass', detail: this.opts.database };
    try {
      let regs: Map<string, Registration>;
      try {
        regs = await readRegistrations(client, this.sql);
      } catch (err) {
        return [
          connectivity,
          {
            id: 'source.capture_tables',
            group: 'source',
            title: 'SQL Replication control tables present',
            status: 'fail',
            detail: `${this.sql.captureSchema}.IBMSNAP_REGISTER cannot be read: ${(err as Error).message}`,
            fix: `Create the Capture control tables (asnclp: CREATE SQL CAPTURE SCHEMA ... / asnctlw.sql) in schema ${this.sql.captureSchema}, and grant the account SELECT on them.`,
          },
        ];
      }
      const selected = await this.loadSelection(client, regs);
      const items = await precheckDb2({
        client,
        sql: this.sql,
        database: this.opts.database,
        selected,
        registrations: regs,
        full: this.opts.full,
        mapsNames: this.opts.mapsNames,
        heartbeat: await this.heartbeatTable(client),
      });
      if (selected.length === 0) {
        items.push({ id: 'source.objects', group: 'source', title: 'The selection matches tables', status: 'fail', detail: `no table of database ${this.opts.database} matches the task's objects`, fix: 'Check the schema and table names in `objects` (Db2 stores unquoted names in upper case).' });
      }
      return [connectivity, ...items];
    } catch (err) {
      const e = classifyError(err, 'source');
      return [connectivity, { id: 'source.capture_tables', group: 'source', title: 'SQL Replication control tables present', status: 'fail', detail: e.message, fix: e.fix ?? 'Check the Capture control tables.' }];
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  async prepare(opts: { full: boolean }): Promise<SnapshotPlan> {
    const streamFrom = await this.withClient(async (c) => {
      const regs = await readRegistrations(c, this.sql);
      this.selected = await this.loadSelection(c, regs);
      if (this.selected.length === 0) {
        throw new FatalError('NO_TABLES', `No table of database ${this.opts.database} matches the task's objects.`, { object: this.opts.database, field: 'objects', fix: 'Check the schema and table names in `objects`.' });
      }
      await this.ensureHeartbeatTable(c);
      // Capture's progress before anything is copied: the stream starts there, so every change
      // committed while the copy runs is streamed (some twice: at least once).
      const progress = await readProgress(c, this.sql);
      if (progress.upTo === null) {
        throw new FatalError('DB2_CAPTURE_NOT_STARTED', `Capture (schema ${this.sql.captureSchema}) has recorded no progress yet.`, { object: this.sql.captureSchema, fix: `Start Capture: asncap capture_server=<db> capture_schema=${this.sql.captureSchema}.` });
      }
      return Db2Position.endOf(progress.upTo, progress.time);
    });
    this.snapshotFrom = streamFrom;
    const chunks: SnapshotChunk[] = [];
    if (opts.full) for (const t of this.selected) chunks.push(...(await planKeyRanges(this.opts.connect, this.sql, t, this.opts.chunkRows)));
    return { chunks, streamFrom };
  }

  private async ensureHeartbeatTable(c: Db2Client): Promise<void> {
    const hb = await this.heartbeatTable(c);
    if (!hb) return;
    if ((await run(c, this.sql.tableExists(hb))).length > 0) return;
    try {
      await run(c, this.sql.createHeartbeatTable(hb));
      this.opts.logger?.info('db2: created the heartbeat table', { table: `${hb.schema}.${hb.table}` });
    } catch (err) {
      this.opts.logger?.warn('db2: cannot create the heartbeat table', { table: `${hb.schema}.${hb.table}`, error: (err as Error).message });
    }
  }

  private async ensureSelected(): Promise<void> {
    if (this.selected.length > 0) return;
    await this.withClient(async (c) => void (this.selected = await this.loadSelection(c, await readRegistrations(c, this.sql))));
  }

  private tableFor(ref: TableRef): Db2Table {
    const t = this.selected.find((s) => s.ref.schema === ref.schema && s.ref.table === ref.table);
    if (!t) throw new FatalError('UNKNOWN_TABLE', `Full sync chunk names table ${ref.schema}.${ref.table}, which is not selected.`, { object: `${ref.schema}.${ref.table}` });
    return t;
  }

  snapshot(chunk: SnapshotChunk, flow?: FlowControl): Observable<ChangeEvent> {
    return from(this.ensureSelected()).pipe(
      concatMap(() =>
        readKeyRange(chunk, {
          connect: this.opts.connect,
          sql: this.sql,
          table: this.tableFor(chunk.table),
          position: this.snapshotFrom ?? Db2Position.endOf(Buffer.alloc(16)),
          fetchRows: this.opts.fetchRows ?? 2000,
          flow: flow ?? { waitForRoom: () => undefined },
        }),
      ),
    );
  }

  stream(fromPosition: Position, flow: FlowControl): Observable<ChangeEvent> {
    const start = fromPosition as Db2Position;
    return defer(() => this.prepareStream(start)).pipe(
      concatMap((hb) =>
        merge(
          streamChanges({
            connect: this.opts.connect,
            sql: this.sql,
            database: this.opts.database,
            from: start,
            tables: new Map(this.selected.map((t) => [registrationKey(t.name), t])),
            select: (t) => this.opts.select({ database: this.opts.database, schema: t.schema, table: t.table }),
            heartbeat: hb,
            flow,
            pageRows: this.opts.pageRows ?? 1000,
            pollIntervalMs: this.opts.pollIntervalMs ?? 500,
            ...(this.opts.logger ? { logger: this.opts.logger } : {}),
          }),
          hb ? this.heartbeats(hb) : EMPTY,
        ),
      ),
    );
  }

  /** Loads the selection and checks that Capture still holds every change after `start`. */
  private async prepareStream(start: Db2Position): Promise<TableName | null> {
    return this.withClient(async (c) => {
      const regs = await readRegistrations(c, this.sql);
      if (this.selected.length === 0) this.selected = await this.loadSelection(c, regs);
      const followed = this.selected.map((t) => regs.get(registrationKey(t.name)));
      const unregistered = this.selected.filter((_, i) => followed[i]?.state !== 'A');
      if (unregistered.length > 0) {
        const names = unregistered.map((t) => `${t.name.schema}.${t.name.table}`).join(', ');
        throw new FatalError('DB2_NOT_CAPTURED', `Capture is not capturing ${names}: not registered in ${this.sql.captureSchema}.IBMSNAP_REGISTER, or not active.`, {
          object: names,
          fix: 'Register and activate the tables (see the precheck source.registered), or exclude them; then start the task again.',
        });
      }
      const width = sequenceWidth(String((await run(c, this.sql.captureParameters()))[0]?.COMPATIBILITY ?? ''));
      await checkHistory({ client: c, sql: this.sql, from: start, registrations: followed.filter((r): r is Registration => r !== undefined), width });
      return this.heartbeatTable(c);
    });
  }

  /** Writes the heartbeat row every interval on its own connection; a failed beat is logged and retried. */
  private heartbeats(table: TableName): Observable<never> {
    return new Observable<never>(() => {
      let client: Db2Client | null = null;
      let seq = 0;
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        const beat = async () => {
          if (!client) client = await this.opts.connect();
          await run(client, this.sql.beat(table, this.opts.taskId, ++seq));
        };
        beat()
          .catch((err: unknown) => {
            this.opts.logger?.warn('db2: heartbeat failed', { table: `${table.schema}.${table.table}`, error: (err as Error).message });
            void client?.close().catch(() => undefined);
            client = null;
          })
          .finally(() => (busy = false));
      }, this.opts.heartbeat.intervalMs);
      return () => {
        clearInterval(timer);
        void client?.close().catch(() => undefined);
      };
    });
  }

  /**
   * Nothing is confirmed to the server: Capture prunes by its retention limit and by Apply's
   * progress, not by readers like this one. The acknowledged position lives in the task's
   * checkpoint, and a restart checks that Capture still holds what follows it (history.ts).
   */
  async confirm(upTo: Position): Promise<void> {
    this.confirmed = upTo;
  }

  /** The last confirmed position (for status and tests). */
  get confirmedPosition(): Position | null {
    return this.confirmed;
  }

  decodePosition(text: string): Position {
    return Db2Position.decode(text);
  }

  async close(): Promise<void> {
    // Connections belong to the running observables and end with them.
  }

  /** Removes the task's heartbeat row; registrations, CD tables and the heartbeat table stay (they are the DBA's). */
  async release(): Promise<void> {
    if (!this.opts.heartbeat.enabled) return;
    await this.withClient(async (c) => {
      const hb = await this.heartbeatTable(c);
      if (hb) await run(c, this.sql.deleteHeartbeat(hb, this.opts.taskId)).catch(() => undefined);
    });
  }

  async shapes(): Promise<TableShape[]> {
    return this.selected.map((t) => t.shape);
  }
}
