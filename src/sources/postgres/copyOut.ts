/**
 * `COPY (query) TO STDOUT` (text format) through a node-postgres client, one row at a time.
 *
 * node-postgres has no COPY API of its own, but accepts a "submittable": an object that sends its
 * query on the client's connection and receives the backend messages of that query. The server
 * streams the rows without waiting for a FETCH, one CopyData message per row; this reader decodes
 * each row as it arrives and pauses the socket when the consumer asks it to (TCP backpressure
 * then stops the server).
 */
import type pg from 'pg';
import type { ValueParser } from './values.js';

/** What node-postgres hands a submittable: its connection (the parts used here). */
interface CopyConnection {
  query(text: string): void;
  stream: { pause(): void; resume(): void };
}

/**
 * Runs `COPY (<select>) TO STDOUT` on `client` (which must be connected; other queries may be
 * queued before and after it) and resolves with the rows read when the command completes.
 * `onRow` gets each row's CopyData payload (the row's text and its trailing newline), valid only
 * during the call (the protocol parser reuses its buffer). After each row, unless the read is
 * already paused, `room()` is asked: a promise pauses the socket until it settles.
 */
export function copyOut(client: pg.Client, select: string, onRow: (data: Buffer) => void, room: () => Promise<void> | undefined): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let rows = 0;
    let failed: unknown = null;
    let connection: CopyConnection | null = null;
    let paused = false;
    const submittable = {
      submit(c: CopyConnection) {
        connection = c;
        c.query(`COPY (${select}) TO STDOUT`);
      },
      handleCopyData(msg: { chunk: Buffer }) {
        if (failed !== null) return;
        rows += 1;
        try {
          onRow(msg.chunk);
        } catch (err) {
          failed = err;
          return;
        }
        if (paused) return;
        const wait = room();
        if (!wait) return;
        // Messages already received in this socket read still arrive; the next read waits.
        paused = true;
        connection?.stream.pause();
        const resume = () => {
          paused = false;
          connection?.stream.resume();
        };
        wait.then(resume, (err: unknown) => {
          failed ??= err;
          resume();
        });
      },
      handleCommandComplete() {},
      handleReadyForQuery() {
        if (failed !== null) reject(failed as Error);
        else resolve(rows);
      },
      handleError(err: Error) {
        connection?.stream.resume();
        reject(err);
      },
      // Not sent for COPY TO; present so an unexpected message cannot throw inside the client.
      handleRowDescription() {},
      handleDataRow() {},
      handleEmptyQuery() {},
      handlePortalSuspended() {},
      handleCopyInResponse() {},
    };
    void client.query(submittable as unknown as pg.QueryConfig);
  });
}

/** A CopyData payload of COPY TO's text format → the row's text, without its trailing newline. */
export function copyLine(data: Buffer): string {
  return data.toString('utf8', 0, data.length - 1);
}

/**
 * One row of COPY's text format (`copyLine`) → a row object: fields separated by tabs, `\N` for
 * NULL, backslash escapes (`\t`, `\n`, `\\`, ...) inside values; each value then converted by its
 * column's parser, as node-postgres converts the text-format values of a query result.
 */
export function parseCopyText(line: string, names: readonly string[], parsers: readonly ValueParser[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  // Most rows hold no escape at all: one scan of the line instead of one per value.
  const escaped = line.includes('\\');
  let start = 0;
  for (let i = 0; i < names.length; i++) {
    let end = line.indexOf('\t', start);
    if (end < 0) end = line.length;
    const name = names[i] as string;
    if (end - start === 2 && line.charCodeAt(start) === 92 && line.charCodeAt(start + 1) === 78) {
      row[name] = null; // \N
    } else {
      const raw = line.slice(start, end);
      row[name] = (parsers[i] as ValueParser)(escaped && raw.includes('\\') ? unescapeCopyText(raw) : raw);
    }
    start = end + 1;
  }
  return row;
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/**
 * Undoes the escaping of COPY TO's text output: the server writes `\b \f \n \r \t \v` for those
 * control characters and a backslash before a backslash (and before the delimiter); nothing else.
 */
export function unescapeCopyText(s: string): string {
  let out = '';
  let from = 0;
  for (let i = s.indexOf('\\'); i >= 0 && i < s.length - 1; i = s.indexOf('\\', from)) {
    const c = s[i + 1] as string;
    out += s.slice(from, i) + (ESCAPES[c] ?? c);
    from = i + 2;
  }
  return out + s.slice(from);
}
