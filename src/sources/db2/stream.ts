/**
 * Incremental synchronization: reads SQL Replication's change-data tables the way Apply does.
 *
 * Each round:
 * 1. reads Capture's progress `U` (the register's global SYNCHPOINT, and IBMSNAP_RESTART's
 *    MAX_COMMITSEQ): every change committed at or before `U` is in the CD tables;
 * 2. then reads the registrations, so that any registration Capture activated at or before `U` is
 *    seen (Capture commits the activation no later than the progress past it): a table registered
 *    while the task runs joins the stream from the first round that can hold its changes;
 * 3. reads every active CD table that may hold changes after the position (`CD_NEW_SYNCHPOINT`
 *    past it) in pages, between the position and `U`, and merges them in commit order
 *    (commit sequence, then intent sequence) across tables;
 * 4. ends with a heartbeat at `U` with Capture's SYNCHTIME, so the position and latency keep
 *    moving when the database is idle.
 *
 * Every change carries (commit, intent) as its position: a restart inside a partly delivered
 * commit resumes after the last acknowledged change, never skipping the rest of that commit.
 */
import { Observable } from 'rxjs';
import type { FlowControl, Logger } from '../../core/contracts.js';
import { FatalError, LostHistoryError, classifyError } from '../../core/errors.js';
import type { ChangeEvent, Row, TableShape } from '../../core/events.js';
import { cdLayout, describeTables, listTables, readCdColumns, readRegistrations, registrationKey, run, seqOrNull, type Db2Table, type Registration } from './catalog.js';
import { holdBack, pairRows, parseCdRow, utcMillis, type CdRow, type RawChange } from './changes.js';
import type { Db2Client, Db2Connector, SqlRow } from './client.js';
import type { CdLayout, Db2Sql, KeyValue, TableName } from './dialect.js';
import { Db2Position, atWidth, compareSeq, seqHex } from './position.js';
import { convertRow, estimateBytes, type Db2Column } from './values.js';

export interface StreamOptions {
  connect: Db2Connector;
  sql: Db2Sql;
  database: string;
  from: Db2Position;
  /** The selected tables the task starts with (registered, active), by registration key. */
  tables: ReadonlyMap<string, Db2Table>;
  /** Whether a table (registered later) belongs to the task. */
  select: (t: TableName) => boolean;
  /** The heartbeat table: its changes become heartbeat events. */
  heartbeat: TableName | null;
  flow: FlowControl;
  /** Changes read per page of one CD table. */
  pageRows: number;
  /** Wait between rounds that found Capture's progress unchanged. */
  pollIntervalMs: number;
  logger?: Logger;
}

/** One registration as the reader follows it. */
interface Followed {
  table: Db2Table;
  reg: Registration;
  layout: CdLayout;
  /** Source columns the CD table does not hold (LOBs): read from the source table by key. */
  fetched: Db2Column[];
  heartbeat: boolean;
}

/** Capture's progress as one round reads it. */
interface Progress {
  upTo: Buffer | null;
  /** When Capture last moved it (UTC ms). */
  time: number | null;
  now: number | null;
}

const HEARTBEAT_SHAPE_TABLE = 'IBMSNAP_REGISTER';

/** Reads the CD pages of one followed table between a position and Capture's progress. */
class TableCursor {
  private buffer: RawChange[] = [];
  private index = 0;
  private done = false;
  private after: { commit: Buffer; intent: Buffer | null };

  constructor(
    readonly followed: Followed,
    from: Db2Position,
    private readonly upTo: Buffer,
    private readonly width: number,
    private readonly client: Db2Client,
    private readonly sql: Db2Sql,
    private readonly pageRows: number,
  ) {
    this.after = { commit: from.commit, intent: from.intent };
  }

  /** The next change, or null at the end of the range. */
  async peek(): Promise<RawChange | null> {
    while (this.index >= this.buffer.length) {
      if (this.done) return null;
      await this.fetch();
    }
    return this.buffer[this.index] ?? null;
  }

  shift(): void {
    this.index++;
  }

  private async fetch(): Promise<void> {
    const f = this.followed;
    const limit = Math.max(2, this.pageRows);
    const after = { commit: atWidth(this.after.commit, this.width), intent: this.after.intent === null ? null : atWidth(this.after.intent, this.width) };
    const rows: CdRow[] = (await run(this.client, this.sql.changes(f.layout, after, atWidth(this.upTo, this.width), limit))).map(parseCdRow);
    const full = rows.length >= limit;
    const keep = rows.slice(0, holdBack(rows, full, f.reg.updatesAsDeleteInsert));
    this.done = !full;
    const last = keep[keep.length - 1];
    if (last) this.after = { commit: last.commit, intent: last.intent };
    this.buffer = pairRows(keep, f.layout, f.reg.updatesAsDeleteInsert);
    this.index = 0;
  }
}

function cmpChange(a: RawChange, b: RawChange): number {
  const c = compareSeq(a.commit, b.commit);
  return c !== 0 ? c : compareSeq(a.intent, b.intent);
}

/** A min-heap of cursors by their next change. */
class CursorHeap {
  private readonly items: Array<{ cursor: TableCursor; head: RawChange }> = [];
  get size(): number {
    return this.items.length;
  }
  push(cursor: TableCursor, head: RawChange): void {
    const a = this.items;
    a.push({ cursor, head });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (cmpChange((a[i] as { head: RawChange }).head, (a[p] as { head: RawChange }).head) >= 0) break;
      [a[i], a[p]] = [a[p] as (typeof a)[number], a[i] as (typeof a)[number]];
      i = p;
    }
  }
  pop(): { cursor: TableCursor; head: RawChange } | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && cmpChange((a[l] as { head: RawChange }).head, (a[m] as { head: RawChange }).head) < 0) m = l;
        if (r < a.length && cmpChange((a[r] as { head: RawChange }).head, (a[m] as { head: RawChange }).head) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as (typeof a)[number], a[i] as (typeof a)[number]];
        i = m;
      }
    }
    return top;
  }
}

/** Capture's sequence width from IBMSNAP_CAPPARMS.COMPATIBILITY ('0801': 10 bytes, '1001' and later: 16). */
export function sequenceWidth(compatibility: string | null | undefined): number {
  const c = Number((compatibility ?? '').trim());
  return Number.isFinite(c) && c > 0 && c < 1001 ? 10 : 16;
}

export async function readProgress(client: Db2Client, sql: Db2Sql): Promise<Progress> {
  const g = (await run(client, sql.globalProgress()))[0];
  const r = (await run(client, sql.restartProgress()))[0];
  const candidates: Array<{ seq: Buffer; time: number | null }> = [];
  const gs = seqOrNull(g?.SYNCHPOINT);
  if (gs) candidates.push({ seq: gs, time: utcMillis(String(g?.SYNCHTIME ?? '')) });
  const rs = seqOrNull(r?.MAX_COMMITSEQ);
  if (rs) candidates.push({ seq: rs, time: utcMillis(String(r?.MAX_COMMIT_TIME ?? '')) });
  candidates.sort((a, b) => compareSeq(b.seq, a.seq));
  const best = candidates[0];
  const times = [utcMillis(String(g?.SYNCHTIME ?? '')), utcMillis(String(r?.CURR_COMMIT_TIME ?? ''))].filter((t): t is number => t !== null);
  return { upTo: best?.seq ?? null, time: times.length > 0 ? Math.max(...times) : (best?.time ?? null), now: utcMillis(String(g?.NOW_UTC ?? '')) };
}

function keyValues(key: readonly Db2Column[], raw: SqlRow): KeyValue[] | null {
  const out: KeyValue[] = [];
  for (const k of key) {
    const v = raw[k.name];
    if (v === null || v === undefined) return null;
    if (k.kind === 'bitdata' || k.kind === 'blob') out.push({ bytes: Buffer.isBuffer(v) ? v.toString('hex') : String(v) });
    else if (typeof v === 'number' || typeof v === 'boolean') out.push(v);
    else out.push(String(v));
  }
  return out;
}

/** The stream of changes after `opts.from`. */
export function streamChanges(opts: StreamOptions): Observable<ChangeEvent> {
  return new Observable<ChangeEvent>((subscriber) => {
    let closed = false;
    let client: Db2Client | null = null;
    let wake: (() => void) | null = null;
    const followed = new Map<string, Followed>();
    const heartbeatShape: TableShape = { ref: { database: opts.database, schema: opts.sql.captureSchema, table: HEARTBEAT_SHAPE_TABLE }, columns: [], key: [] };
    let position = opts.from;
    let width = 16;

    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          wake = null;
          resolve();
        }, ms);
        wake = () => {
          clearTimeout(t);
          wake = null;
          resolve();
        };
      });

    const follow = async (c: Db2Client, entries: Array<{ table: Db2Table; reg: Registration; heartbeat: boolean }>) => {
      if (entries.length === 0) return;
      const cdCols = await readCdColumns(c, opts.sql, entries.map((e) => e.reg.cd));
      for (const e of entries) {
        const cols = cdCols.get(registrationKey(e.reg.cd));
        if (!cols) {
          throw new FatalError('DB2_CD_TABLE_MISSING', `The change-data table ${e.reg.cd.schema}.${e.reg.cd.table} registered for ${e.reg.source.schema}.${e.reg.source.table} does not exist.`, {
            object: `${e.reg.source.schema}.${e.reg.source.table}`,
            fix: 'Drop and create the registration again (asnclp DROP REGISTRATION / CREATE REGISTRATION), then start the task with full synchronization.',
          });
        }
        const layout = cdLayout(e.table, e.reg, cols);
        followed.set(registrationKey(e.reg.source), { table: e.table, reg: e.reg, layout, fetched: layout.fetched, heartbeat: e.heartbeat });
      }
    };

    /** Fails on registrations that stopped capturing; follows selected tables registered since. */
    const refreshRegistrations = async (c: Db2Client, regs: Map<string, Registration>) => {
      const added: Array<{ table: Db2Table; reg: Registration; heartbeat: boolean }> = [];
      const candidates: Array<{ reg: Registration; heartbeat: boolean }> = [];
      for (const [key, reg] of regs) {
        const f = followed.get(key);
        if (f) {
          if (reg.state !== 'A') {
            throw new LostHistoryError(`Capture stopped capturing ${reg.source.schema}.${reg.source.table} (registration state ${reg.state}${reg.stateInfo ? `, ${reg.stateInfo}` : ''}): its changes from then on are not in ${reg.cd.schema}.${reg.cd.table}.`, {
              object: `${reg.source.schema}.${reg.source.table}`,
              fix: 'Look up the reason in Capture\'s log (IBMSNAP_CAPTRACE), activate the registration again, then start the task again with full synchronization.',
            });
          }
          f.reg = reg;
          continue;
        }
        if (reg.state !== 'A') continue;
        const hb = opts.heartbeat !== null && reg.source.schema === opts.heartbeat.schema && reg.source.table === opts.heartbeat.table;
        if (hb || opts.select(reg.source)) candidates.push({ reg, heartbeat: hb });
      }
      if (candidates.length === 0) return;
      const existing = new Map((await listTables(c, opts.sql)).map((t) => [registrationKey(t.name), t]));
      const present = candidates.filter((x) => existing.has(registrationKey(x.reg.source)));
      const described = await describeTables(c, opts.sql, opts.database, present.map((x) => existing.get(registrationKey(x.reg.source)) as { name: TableName; cardinality: number; createTime: string }));
      for (const [i, x] of present.entries()) {
        const table = described[i] as Db2Table;
        added.push({ table, reg: x.reg, heartbeat: x.heartbeat });
        if (x.heartbeat) continue;
        // Capture activates a registration no later than its progress passes the activation, and
        // every round reads the progress before the registrations: a table first seen now has no
        // change at or before the position. Should one be there, it is never skipped silently.
        if ((await run(c, opts.sql.retainedAtOrBefore(x.reg.cd, atWidth(position.commit, width)))).length > 0) {
          throw new LostHistoryError(`${x.reg.cd.schema}.${x.reg.cd.table}, registered for ${x.reg.source.schema}.${x.reg.source.table} while the task ran, holds changes at or before the task's position ${position.encode()}, which the task has not read.`, {
            object: `${x.reg.source.schema}.${x.reg.source.table}`,
            fix: 'Start the task again with full synchronization (release it first), so that the table is copied and streamed from a consistent point.',
          });
        }
        opts.logger?.info('db2: following a table registered while the task runs', { table: `${x.reg.source.schema}.${x.reg.source.table}`, cdOld: x.reg.cdOld ? seqHex(x.reg.cdOld) : null });
      }
      await follow(c, added);
    };

    /** The source row of `raw`'s key, for the columns the CD table does not hold. */
    const fetchMissing = async (c: Db2Client, f: Followed, raw: SqlRow): Promise<SqlRow | null> => {
      const values = keyValues(f.table.key, raw);
      if (values === null || f.table.key.length === 0) return null;
      const rows = await run(c, opts.sql.rowByKey(f.table.name, f.fetched, f.table.key, values));
      return rows[0] ?? null;
    };

    const toEvent = async (c: Db2Client, f: Followed, ch: RawChange, fallbackTime: number, seqInCommit: number): Promise<ChangeEvent> => {
      const cols = f.table.columns;
      let before: Row | null = ch.before ? convertRow(f.layout.values, ch.before) : null;
      let after: Row | null = ch.after ? convertRow(f.layout.values, ch.after) : null;
      if (f.fetched.length > 0 && after && ch.after) {
        const current = await fetchMissing(c, f, ch.after);
        if (current) after = { ...after, ...convertRow(f.fetched, current) };
      }
      // Keep the table's column order in images.
      const order = (row: Row | null): Row | null => {
        if (row === null) return null;
        const out: Row = {};
        for (const col of cols) if (col.name in row) out[col.name] = row[col.name];
        return out;
      };
      before = order(before);
      after = order(after);
      const time = utcMillis(ch.logmarker) ?? fallbackTime;
      return {
        op: f.heartbeat ? 'heartbeat' : ch.op,
        shape: f.table.shape,
        snapshot: false,
        before,
        after,
        commitTime: time,
        position: new Db2Position(ch.commit, ch.intent, time),
        tx: { id: seqHex(ch.commit), seq: seqInCommit },
        bytes: estimateBytes(before) + estimateBytes(after) + 48,
      };
    };

    const round = async (c: Db2Client): Promise<boolean> => {
      const progress = await readProgress(c, opts.sql);
      const regs = await readRegistrations(c, opts.sql);
      await refreshRegistrations(c, regs);
      if (progress.upTo === null) return false;
      const cmp = compareSeq(progress.upTo, position.commit);
      if (cmp < 0) {
        throw new FatalError('DB2_CAPTURE_BEHIND', `Capture's progress ${seqHex(progress.upTo)} is behind the task's position ${position.encode()}: the database went back in its log (a switchover to a standby that was behind, or a restore).`, {
          object: opts.database,
          fix: 'Check which server the task is connected to; if the database was switched over or restored, start the task again with full synchronization.',
        });
      }
      if (cmp === 0 && position.intent === null) return false;
      const upTo = progress.upTo;
      const fallbackTime = progress.time ?? Date.now();
      const heap = new CursorHeap();
      for (const f of followed.values()) {
        if (f.reg.cdNew !== null && compareSeq(f.reg.cdNew, position.commit) < 0) continue;
        const cursor = new TableCursor(f, position, upTo, width, c, opts.sql, opts.pageRows);
        const head = await cursor.peek();
        if (head) heap.push(cursor, head);
      }
      let commit: Buffer | null = null;
      let seqInCommit = 0;
      let sinceWait = 0;
      while (heap.size > 0 && !closed) {
        const top = heap.pop() as { cursor: TableCursor; head: RawChange };
        top.cursor.shift();
        const ch = top.head;
        if (commit === null || !commit.equals(ch.commit)) {
          commit = ch.commit;
          seqInCommit = 0;
        }
        const event = await toEvent(c, top.cursor.followed, ch, fallbackTime, ++seqInCommit);
        if (closed) return true;
        subscriber.next(event);
        position = event.position as Db2Position;
        const next = await top.cursor.peek();
        if (next) heap.push(top.cursor, next);
        if (++sinceWait >= 256) {
          sinceWait = 0;
          await opts.flow.waitForRoom();
        }
      }
      if (closed) return true;
      // The whole range up to Capture's progress is delivered: a heartbeat at the end of it.
      const end = Db2Position.endOf(upTo, fallbackTime);
      subscriber.next({ op: 'heartbeat', shape: heartbeatShape, snapshot: false, before: null, after: null, commitTime: fallbackTime, position: end, bytes: 16 });
      position = end;
      await opts.flow.waitForRoom();
      return true;
    };

    const loop = async () => {
      client = await opts.connect();
      const parms = (await run(client, opts.sql.captureParameters()))[0];
      width = sequenceWidth(parms?.COMPATIBILITY === undefined ? null : String(parms.COMPATIBILITY));
      const regs = await readRegistrations(client, opts.sql);
      const initial: Array<{ table: Db2Table; reg: Registration; heartbeat: boolean }> = [];
      for (const [key, table] of opts.tables) {
        const reg = regs.get(key);
        if (reg) initial.push({ table, reg, heartbeat: false });
      }
      const hbReg = opts.heartbeat ? regs.get(registrationKey(opts.heartbeat)) : undefined;
      if (hbReg?.state === 'A') {
        const described = await describeTables(client, opts.sql, opts.database, [{ name: hbReg.source, cardinality: -1, createTime: '' }]);
        if (described[0]) initial.push({ table: described[0], reg: hbReg, heartbeat: true });
      }
      await follow(client, initial);
      while (!closed) {
        const moved = await round(client);
        if (!moved && !closed) await sleep(opts.pollIntervalMs);
      }
    };

    loop()
      .then(() => subscriber.complete())
      .catch((err: unknown) => {
        if (!closed) subscriber.error(classifyError(err, `reading Db2 change-data tables of ${opts.database}`));
      })
      .finally(() => {
        const c = client;
        client = null;
        void c?.close().catch(() => undefined);
      });

    return () => {
      closed = true;
      wake?.();
    };
  });
}
