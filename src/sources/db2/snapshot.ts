/**
 * Full synchronization: each table copied in key ranges. The plan takes every `chunkRows`-th key in
 * key order as a boundary (one pass over the key index), so chunks hold about `chunkRows` rows
 * whatever the key's type; each chunk reads its range in key order, page after page (keyset
 * paging), pausing while the destination is behind. Capture's progress was recorded before the
 * copy began and the stream starts there, so every change made during the copy is streamed.
 */
import { Observable } from 'rxjs';
import type { FlowControl, SnapshotChunk } from '../../core/contracts.js';
import { FatalError, classifyError } from '../../core/errors.js';
import type { ChangeEvent } from '../../core/events.js';
import { run, type Db2Table } from './catalog.js';
import type { Db2Connector, SqlRow } from './client.js';
import type { Db2Sql, KeyValue } from './dialect.js';
import type { Db2Position } from './position.js';
import { convertRow, estimateBytes, type Db2Column } from './values.js';

/** A chunk's key range: key > `after` (null: from the first row) and key <= `upTo` (null: to the last). */
export interface KeyRangeBounds {
  schema: string;
  table: string;
  after: KeyValue[] | null;
  upTo: KeyValue[] | null;
}

/** A key column's value as read (text, number, or hex of binary data) → a bound value. */
export function keyValueOf(c: Db2Column, v: unknown): KeyValue {
  if (c.kind === 'bitdata' || c.kind === 'blob') return { bytes: Buffer.isBuffer(v) ? v.toString('hex') : String(v) };
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}

function keyOf(key: readonly Db2Column[], row: SqlRow): KeyValue[] {
  return key.map((k) => keyValueOf(k, row[k.name]));
}

function keyless(t: Db2Table): FatalError {
  return new FatalError('DB2_NO_KEY', `Table ${t.name.schema}.${t.name.table} has no primary key or unique constraint over NOT NULL columns, so it cannot be copied in key ranges.`, {
    object: `${t.name.schema}.${t.name.table}`,
    fix: 'Add a primary key (or a unique constraint over NOT NULL columns), or exclude the table.',
  });
}

export async function planKeyRanges(connect: Db2Connector, sql: Db2Sql, t: Db2Table, chunkRows: number): Promise<SnapshotChunk[]> {
  if (t.key.length === 0) throw keyless(t);
  const id = (i: number) => `${t.name.schema}.${t.name.table}:${i}`;
  const base = { schema: t.name.schema, table: t.name.table };
  const one: SnapshotChunk = { id: id(0), table: t.ref, bounds: { ...base, after: null, upTo: null } satisfies KeyRangeBounds, generation: t.createTime, ...(t.cardinality >= 0 ? { estimatedRows: t.cardinality } : {}) };
  if (t.cardinality >= 0 && t.cardinality <= chunkRows) return [one];
  const client = await connect();
  let boundaries: KeyValue[][];
  try {
    boundaries = (await run(client, sql.keyBoundaries(t.name, t.key, chunkRows))).map((r) => keyOf(t.key, r));
  } finally {
    await client.close().catch(() => undefined);
  }
  if (boundaries.length === 0) return [one];
  const chunks: SnapshotChunk[] = [];
  let after: KeyValue[] | null = null;
  boundaries.forEach((b, i) => {
    chunks.push({ id: id(i), table: t.ref, bounds: { ...base, after, upTo: b } satisfies KeyRangeBounds, estimatedRows: chunkRows, generation: t.createTime });
    after = b;
  });
  chunks.push({ id: id(boundaries.length), table: t.ref, bounds: { ...base, after, upTo: null } satisfies KeyRangeBounds, estimatedRows: chunkRows, generation: t.createTime });
  return chunks;
}

export interface ChunkReadOptions {
  connect: Db2Connector;
  sql: Db2Sql;
  table: Db2Table;
  /** Where the stream starts: full-sync rows carry it. */
  position: Db2Position;
  fetchRows: number;
  flow: FlowControl;
}

export function readKeyRange(chunk: SnapshotChunk, opts: ChunkReadOptions): Observable<ChangeEvent> {
  const b = chunk.bounds as KeyRangeBounds;
  const t = opts.table;
  return new Observable<ChangeEvent>((subscriber) => {
    let closed = false;
    const go = async () => {
      if (t.key.length === 0) throw keyless(t);
      const client = await opts.connect();
      try {
        let after = b.after;
        const now = Date.now();
        for (;;) {
          await opts.flow.beforeQuery?.();
          if (closed) return;
          const rows = await run(client, opts.sql.rangePage(t.name, t.columns, t.key, after, b.upTo, opts.fetchRows));
          for (const raw of rows) {
            if (closed) return;
            const row = convertRow(t.columns, raw);
            subscriber.next({ op: 'insert', shape: t.shape, snapshot: true, before: null, after: row, commitTime: now, position: opts.position, bytes: estimateBytes(row) });
          }
          const last = rows[rows.length - 1];
          if (!last || rows.length < opts.fetchRows) break;
          after = keyOf(t.key, last);
          await opts.flow.waitForRoom();
        }
      } finally {
        await client.close().catch(() => undefined);
      }
    };
    go()
      .then(() => subscriber.complete())
      .catch((err: unknown) => subscriber.error(classifyError(err, `full sync of ${b.schema}.${b.table} (${chunk.id})`)));
    return () => {
      closed = true;
    };
  });
}
