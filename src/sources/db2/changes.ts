/**
 * Change-data rows → changes, per table: the pure part of the reader (no I/O), unit-tested.
 *
 * A CD table lists a registration's changes in Capture's order, `IBMSNAP_COMMITSEQ` then
 * `IBMSNAP_INTENTSEQ` (then `IBMSNAP_OPERATION`, so that a delete and an insert sharing an intent
 * come delete first). `IBMSNAP_OPERATION` is I, U or D. With `CHG_UPD_TO_DEL_INS` = 'Y' Capture
 * writes an update as a delete (the old values) immediately followed by an insert (the new values)
 * of the same commit: that pair becomes one UPDATE whose before image is the delete's row. A 'U'
 * row carries the new values in the column names and the old ones in the before-image columns
 * (`BEFORE_IMG_PREFIX` + name) where the registration has them.
 */
import type { SqlRow } from './client.js';
import type { CdLayout } from './dialect.js';
import { seqFromHex } from './position.js';

export type CdOperation = 'I' | 'U' | 'D';

export interface CdRow {
  commit: Buffer;
  intent: Buffer;
  op: CdOperation;
  /** IBMSNAP_UOW.IBMSNAP_LOGMARKER in UTC as text, null when the unit-of-work row is gone. */
  logmarker: string | null;
  raw: SqlRow;
}

export interface RawChange {
  op: 'insert' | 'update' | 'delete';
  commit: Buffer;
  /** The intent of the change's last row (the insert of a delete + insert pair). */
  intent: Buffer;
  logmarker: string | null;
  /** Raw values by source column name (as the statement returned them), null when not known. */
  before: SqlRow | null;
  after: SqlRow | null;
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : String(v).trim();
}

/** A row of `Db2Sql.changes` → its sequence values, operation and commit time. */
export function parseCdRow(raw: SqlRow): CdRow {
  const op = text(raw.IBMSNAP_OPERATION).toUpperCase();
  if (op !== 'I' && op !== 'U' && op !== 'D') throw new Error(`unknown IBMSNAP_OPERATION '${op}'`);
  const lm = text(raw.IBMSNAP_LOGMARKER);
  return { commit: seqFromHex(text(raw.IBMSNAP_COMMITSEQ)), intent: seqFromHex(text(raw.IBMSNAP_INTENTSEQ)), op, logmarker: lm === '' ? null : lm, raw };
}

/** The values of the layout's source columns in a CD row. */
function image(layout: CdLayout, raw: SqlRow): SqlRow {
  const out: SqlRow = {};
  for (const c of layout.values) out[c.name] = raw[c.name];
  return out;
}

/** The before image of a 'U' row: the before-image columns under their source names; null without any. */
function beforeImage(layout: CdLayout, raw: SqlRow): SqlRow | null {
  if (layout.beforeImages.length === 0) return null;
  const out: SqlRow = {};
  for (const b of layout.beforeImages) out[b.column.name] = raw[b.cdName];
  return out;
}

/**
 * Turns rows of one CD table (in Capture's order) into changes. With `updatesAsDeleteInsert`, a
 * delete followed by an insert of the same commit is one update. The caller never cuts a page
 * between the two rows of a pair (see `holdBack`).
 */
export function pairRows(rows: readonly CdRow[], layout: CdLayout, updatesAsDeleteInsert: boolean): RawChange[] {
  const out: RawChange[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as CdRow;
    const next = rows[i + 1];
    if (updatesAsDeleteInsert && r.op === 'D' && next !== undefined && next.op === 'I' && next.commit.equals(r.commit)) {
      out.push({ op: 'update', commit: next.commit, intent: next.intent, logmarker: next.logmarker ?? r.logmarker, before: image(layout, r.raw), after: image(layout, next.raw) });
      i++;
      continue;
    }
    switch (r.op) {
      case 'I':
        out.push({ op: 'insert', commit: r.commit, intent: r.intent, logmarker: r.logmarker, before: null, after: image(layout, r.raw) });
        break;
      case 'D':
        out.push({ op: 'delete', commit: r.commit, intent: r.intent, logmarker: r.logmarker, before: image(layout, r.raw), after: null });
        break;
      case 'U':
        out.push({ op: 'update', commit: r.commit, intent: r.intent, logmarker: r.logmarker, before: beforeImage(layout, r.raw), after: image(layout, r.raw) });
        break;
    }
  }
  return out;
}

/**
 * How many rows of a full page to keep: a page that ends with a delete may have cut a delete +
 * insert pair in two, so that delete is read again with the next page. A page that was not full
 * ends the range and keeps everything.
 */
export function holdBack(rows: readonly CdRow[], full: boolean, updatesAsDeleteInsert: boolean): number {
  if (!full || !updatesAsDeleteInsert || rows.length < 2) return rows.length;
  return rows[rows.length - 1]?.op === 'D' ? rows.length - 1 : rows.length;
}

/** Capture's UTC timestamp text (`2024-01-02-03.04.05.123456` or `2024-01-02 03:04:05.123456`) → Unix ms. */
export function utcMillis(t: string | null | undefined): number | null {
  if (!t) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[- T](\d{2})[.:](\d{2})[.:](\d{2})(?:[.,](\d+))?/.exec(t.trim());
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Number((m[7] ?? '').padEnd(3, '0').slice(0, 3)));
  return Number.isFinite(ms) ? ms : null;
}
