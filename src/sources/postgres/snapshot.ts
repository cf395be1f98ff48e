import { Observable } from 'rxjs';
import pg from 'pg';
import type { FlowControl, SnapshotChunk } from '../../core/contracts.js';
import type { ChangeEvent, TableShape } from '../../core/events.js';
import { classifyPgError } from './errors.js';
import { qualified } from './catalog.js';
import { PgPosition } from './position.js';
import { losslessTypes } from './values.js';
import { copyLine, copyOut, parseCopyText } from './copyOut.js';

/** Bounds of a full-sync chunk: a page range of one heap (a table, or one leaf partition). */
export interface PageRangeBounds {
  schema: string;
  table: string;
  fromPage: number;
  /** Exclusive; null for the last chunk (reads to the end, including pages added since planning). */
  toPage: number | null;
}

/** Splits a heap of `pages` pages into chunks of about `chunkPages` pages. */
export function planPageRanges(schema: string, table: string, pages: number, chunkPages: number): PageRangeBounds[] {
  const out: PageRangeBounds[] = [];
  const step = Math.max(1, chunkPages);
  for (let from = 0; from < Math.max(pages, 1); from += step) {
    const to = from + step >= pages ? null : from + step;
    out.push({ schema, table, fromPage: from, toPage: to });
    if (to === null) break;
  }
  return out;
}

export interface ChunkReadOptions {
  connection: pg.ClientConfig;
  shape: TableShape;
  /** The snapshot exported with the slot; absent when resuming after the exporter is gone. */
  snapshotName?: string;
  consistentPoint: bigint;
  /** Rows handed on at once: per FETCH (cursor reader), per burst (COPY reader). */
  fetchRows: number;
  /** How the chunk is read (default `snapshotReader.method`). */
  method?: SnapshotReadMethod;
  /** Waited on between fetches, so a slow destination pauses the read instead of buffering. */
  flow: FlowControl;
}

/**
 * `copy` (default): one `COPY (SELECT ...) TO STDOUT` per chunk, streamed and paused by TCP
 * backpressure, its rows handed on in bursts of `fetchRows`; `cursor`: a server-side cursor read
 * `fetchRows` rows per FETCH. Same snapshot, same rows, same values (both read PostgreSQL's text
 * output and convert it with the same parsers). Measured side by side (`npm run bench`, pg-full,
 * 1M rows, alternating): once the sink encoded rows as they arrived (Sink.openBatch), the whole
 * task used 7.3 µs of CPU per row with COPY against 9.0 with the cursor, so COPY is the default.
 */
export type SnapshotReadMethod = 'copy' | 'cursor';

/** The reader the PostgreSQL source uses when a read does not name one (the benchmark compares both). */
export const snapshotReader: { method: SnapshotReadMethod } = { method: 'copy' };

/**
 * Reads one chunk inside the slot's exported snapshot (REPEATABLE READ + SET TRANSACTION SNAPSHOT)
 * with a TID range scan, fetched through a server-side cursor (or streamed by COPY) so memory stays
 * bounded: the reader waits for room in the task's in-flight window between FETCHes (cursor) or
 * between bursts (COPY: the socket pauses).
 */
export function readChunk(chunk: SnapshotChunk, opts: ChunkReadOptions): Observable<ChangeEvent> {
  const b = chunk.bounds as PageRangeBounds;
  const method = opts.method ?? snapshotReader.method;
  return new Observable<ChangeEvent>((subscriber) => {
    const client = new pg.Client({ ...opts.connection, types: losslessTypes } as pg.ClientConfig);
    // Errors surface through the awaited queries; an unhandled 'error' event would end the process.
    client.on('error', () => undefined);
    let closed = false;
    const position = new PgPosition(opts.consistentPoint, 0, opts.consistentPoint);
    const cols = opts.shape.columns.map((c) => `"${c.name.replace(/"/g, '""')}"`).join(', ');
    const where = [`ctid >= '(${b.fromPage},0)'::tid`];
    if (b.toPage !== null) where.push(`ctid < '(${b.toPage},0)'::tid`);
    const sql = `SELECT ${cols} FROM ONLY ${qualified(b.schema, b.table)} WHERE ${where.join(' AND ')}`;
    const emit = (row: Record<string, unknown>, now: number, bytes: number) =>
      subscriber.next({ op: 'insert', shape: opts.shape, snapshot: true, before: null, after: row, commitTime: now, position, bytes });
    const readByCursor = async () => {
      await client.query(`DECLARE tributary_chunk NO SCROLL CURSOR FOR ${sql}`);
      const now = Date.now();
      for (;;) {
        // Every FETCH is a query to the source: `throttle.full.sourceQps` spaces them across chunks.
        await opts.flow.beforeQuery?.();
        if (closed) return;
        const r = await client.query<Record<string, unknown>>(`FETCH ${opts.fetchRows} FROM tributary_chunk`);
        for (const row of r.rows) {
          if (closed) return;
          emit(row, now, estimateBytes(row));
        }
        if (r.rows.length < opts.fetchRows) break;
        await opts.flow.waitForRoom();
      }
    };
    const readByCopy = async () => {
      // The result columns' types as a query reports them (a domain as its base type), for the
      // same value conversion as the cursor's rows; no row is read.
      const described = await client.query(`${sql} LIMIT 0`);
      const names = described.fields.map((f) => f.name);
      const parsers = described.fields.map((f) => losslessTypes.getTypeParser(f.dataTypeID));
      // One statement reads the whole chunk and may wait on a slow destination: no statement timeout
      // for it (as pg_dump does), only inside this read-only transaction.
      await client.query('SET LOCAL statement_timeout = 0');
      // The COPY is the chunk's one query to the source (`throttle.full.sourceQps`).
      await opts.flow.beforeQuery?.();
      if (closed) return;
      const now = Date.now();
      // Rows go downstream in bursts of `fetchRows`, as the cursor's FETCHes deliver them: the
      // batching after the source then forms full batches instead of timing out on a trickle of
      // socket reads (measured: 850-2,000-event Kafka batches instead of 2,500 cost ~25 % more CPU per row).
      // Each row's size is its bytes on the wire (the CopyData payload).
      let lines: string[] = [];
      let sizes: number[] = [];
      const flush = () => {
        const burst = lines;
        const burstSizes = sizes;
        lines = [];
        sizes = [];
        for (let i = 0; i < burst.length; i++) {
          if (closed) return;
          emit(parseCopyText(burst[i] as string, names, parsers), now, burstSizes[i] as number);
        }
      };
      await copyOut(
        client,
        sql,
        (data) => {
          if (closed) return;
          lines.push(copyLine(data));
          sizes.push(data.length);
          if (lines.length >= opts.fetchRows) flush();
        },
        () => (closed || lines.length > 0 ? undefined : opts.flow.waitForRoom()),
      );
      flush();
    };
    const run = async () => {
      await client.connect();
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      if (opts.snapshotName) await client.query(`SET TRANSACTION SNAPSHOT '${opts.snapshotName.replace(/'/g, "''")}'`);
      await (method === 'copy' ? readByCopy() : readByCursor());
      if (closed) return;
      await client.query('COMMIT');
    };
    run()
      .then(() => subscriber.complete())
      .catch((err: unknown) => subscriber.error(classifyPgError(err, `full sync of ${b.schema}.${b.table} pages ${b.fromPage}-${b.toPage ?? 'end'}`)))
      .finally(() => void client.end().catch(() => undefined));
    // Unsubscribed (the copy stopped or failed elsewhere): end the connection now, so its
    // transaction never stays open waiting for room that will not come.
    return () => {
      closed = true;
      void client.end().catch(() => undefined);
    };
  });
}

/** A cheap size estimate for byte throttles: string lengths plus 8 bytes per other value. */
export function estimateBytes(row: Record<string, unknown>): number {
  let n = 2;
  for (const k in row) {
    const v = row[k];
    n += k.length + (typeof v === 'string' ? v.length : v instanceof Buffer ? v.length * 2 : 8);
  }
  return n;
}
