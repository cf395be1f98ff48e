/**
 * Whether the change-data tables still hold every change after a saved position. Capture removes
 * changes in commit order (a prefix of each CD table): up to the lowest progress of the Apply
 * subscriptions that read a registration, and everything older than RETENTION_LIMIT minutes; a
 * cold start or a re-activated registration starts its CD table afresh (CD_OLD_SYNCHPOINT). So for
 * each registration, changes after position P are complete when
 * - capturing started at or before P (CD_OLD_SYNCHPOINT <= P), and
 * - the CD table still holds a change at or before P (then nothing after P was pruned), or else
 *   Capture cannot have pruned past P: no Apply subscription is past P, and P is younger than the
 *   retention limit.
 * Otherwise the task fails with LostHistoryError: it never skips to what is still there.
 */
import { LostHistoryError } from '../../core/errors.js';
import { registrationKey, run, seqOrNull, type Registration } from './catalog.js';
import { utcMillis } from './changes.js';
import type { Db2Client } from './client.js';
import type { Db2Sql, TableName } from './dialect.js';
import { atWidth, compareSeq, seqHex, type Db2Position } from './position.js';
import { readProgress } from './stream.js';

export interface HistoryInput {
  client: Db2Client;
  sql: Db2Sql;
  from: Db2Position;
  /** The registrations the task follows. */
  registrations: readonly Registration[];
  /** Capture's sequence width (10 or 16). */
  width: number;
}

function when(ms: number | null): string {
  return ms === null ? 'at an unknown time' : new Date(ms).toISOString();
}

const FIX =
  'Release the task and start it again with full synchronization. To keep a stopped task resumable, keep IBMSNAP_CAPPARMS.RETENTION_LIMIT above the longest time it may be stopped (at least 1,440 minutes; 10,080 for full + incremental tasks) and keep it ahead of Apply subscriptions that share the registrations.';

/** Apply's pruning point per registration: the lowest member progress (each member at its newest of PRUNCNTL and PRUNE_SET). */
export async function applyPruningPoints(client: Db2Client, sql: Db2Sql): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const r of await run(client, sql.pruningControl())) {
    const key = registrationKey({ schema: String(r.SOURCE_OWNER ?? '').trim(), table: String(r.SOURCE_TABLE ?? '').trim() });
    const a = seqOrNull(r.MEMBER_SYNCHPOINT);
    const b = seqOrNull(r.SET_SYNCHPOINT);
    const member = a && b ? (compareSeq(a, b) >= 0 ? a : b) : (a ?? b);
    if (!member) continue;
    const prev = out.get(key);
    if (!prev || compareSeq(member, prev) < 0) out.set(key, member);
  }
  return out;
}

export async function checkHistory(input: HistoryInput): Promise<void> {
  const { client, sql, from } = input;
  const name = (t: TableName) => `${t.schema}.${t.table}`;
  for (const reg of input.registrations) {
    if (reg.cdOld !== null && compareSeq(reg.cdOld, from.commit) > 0) {
      throw new LostHistoryError(
        `Capture started capturing ${name(reg.source)} at ${seqHex(reg.cdOld)}, after the task's position ${from.encode()}: changes in between are not in ${name(reg.cd)} (Capture was cold-started, the registration was activated again, or the table was registered while the task was stopped).`,
        { object: name(reg.source), fix: FIX },
      );
    }
  }
  const parms = (await run(client, sql.captureParameters()))[0];
  const retentionMinutes = Number(parms?.RETENTION_LIMIT ?? 0);
  // Capture prunes by its own clock: the later of the server's time and the newest time Capture wrote.
  const serverNow = utcMillis(String((await run(client, sql.serverInfo()))[0]?.NOW_UTC ?? '')) ?? Date.now();
  const captureNow = (await readProgress(client, sql)).time ?? serverNow;
  const now = Math.max(serverNow, captureNow);
  const applyPoints = await applyPruningPoints(client, sql);
  const commit = atWidth(from.commit, input.width);
  for (const reg of input.registrations) {
    const retained = (await run(client, sql.retainedAtOrBefore(reg.cd, commit))).length > 0;
    if (retained) continue;
    const applied = applyPoints.get(registrationKey(reg.source));
    if (applied && compareSeq(applied, from.commit) > 0) {
      throw new LostHistoryError(
        `${name(reg.cd)} holds nothing at or before the task's position ${from.encode()}, and Apply subscriptions reading ${name(reg.source)} are at ${seqHex(applied)}, past it: Capture may have pruned changes the task has not read.`,
        { object: name(reg.source), fix: FIX },
      );
    }
    if (from.time !== null && retentionMinutes > 0 && now - from.time > retentionMinutes * 60_000) {
      throw new LostHistoryError(
        `The task's position ${from.encode()} was committed ${when(from.time)}, more than RETENTION_LIMIT (${retentionMinutes} minutes) ago, and ${name(reg.cd)} holds nothing at or before it: Capture has pruned changes the task has not read.`,
        { object: name(reg.source), fix: FIX },
      );
    }
  }
}
