import { z } from 'zod';
import type { ChangeEvent } from '../core/events.js';
import { classifyError } from '../core/errors.js';
import type { PluginDescriptor } from '../core/plugin.js';
import type { ByteSink } from './byteSink.js';

/** What an encoder needs besides the event itself. */
export interface EncodeContext {
  /**
   * @deprecated Ignored: message ids come from the event's source position (messageId.ts), so
   * that the same change gets the same id in every process. Still accepted from older callers.
   */
  sequence?: bigint | number;
  /**
   * Wall-clock time in Unix ms, for Canal `ts`, Shareplex `posttime`, DTS `processTimestamps`, and
   * the ids assigned at write time (messageId.ts).
   */
  now: number;
  /**
   * The source's rows are whole documents keyed by `_id` (its declared `documents` capability),
   * written as documents; otherwise rows of columns.
   */
  documents: boolean;
  /** The name the formats' clients know the source by (DTS Avro `source.sourceType`: `PostgreSQL`, `MongoDB`, `DB2`). */
  sourceName: string;
  sourceVersion?: string;
}

export interface EncodedRecord {
  key: Buffer | null;
  value: Buffer;
  headers?: Record<string, string>;
}

export interface Format {
  name: string;
  encode(e: ChangeEvent, ctx: EncodeContext): EncodedRecord;
  /**
   * Optional fast path: writes the same key and value bytes as `encode` straight into `out`
   * (`writeKey` then `writeValue`), for sinks that lay a batch's messages out contiguously.
   * Formats with headers do not offer it.
   */
  encodeInto?(e: ChangeEvent, ctx: EncodeContext, out: ByteSink): void;
}

/** What a format declares: it writes message headers (then it has no `encodeInto` fast path). */
export interface FormatCapabilities {
  readonly headers: boolean;
}

/**
 * A message format as a plug-in: `create` builds a fresh encoder (with its own per-table cache);
 * formats take no options of their own (`configSchema` is an empty object).
 */
export interface FormatDescriptor extends PluginDescriptor<Record<string, never>, Record<string, never>, Format, FormatCapabilities> {
  readonly role: 'format';
}

/** Formats take no options: a message format is chosen by name (`destination.kafka.format`). */
const NO_OPTIONS = z.strictObject({});

/** A format's descriptor: its name, its title, and how an encoder is made. */
export function formatDescriptor(type: string, title: string, create: () => Format, capabilities: FormatCapabilities = { headers: false }): FormatDescriptor {
  return { role: 'format', type, title, configSchema: NO_OPTIONS, capabilities, classifyError, create: () => create() };
}

/**
 * Text of the source position as the source's clients write it (`Position.text`: a PostgreSQL LSN
 * `X/Y`), else the position's own `encode()` form (MongoDB oplog `t:i[:rank]`, resume token JSON,
 * Db2 sequence).
 */
export function positionText(e: ChangeEvent): string {
  const p = e.position;
  return p.text === undefined ? p.encode() : p.text();
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

// Two one-entry caches: consecutive events share their commit second and their post second.
let memoA = NaN;
let memoAText = '';
let memoB = NaN;
let memoBText = '';

/** `yyyy-MM-ddTHH:mm:ss` in UTC (Shareplex `time` / `posttime`). */
export function utcSeconds(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec === memoA) return memoAText;
  if (sec === memoB) return memoBText;
  const text = formatUtcSeconds(sec * 1000);
  memoB = memoA;
  memoBText = memoAText;
  memoA = sec;
  memoAText = text;
  return text;
}

function formatUtcSeconds(ms: number): string {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const ys = y >= 0 && y < 10000 ? String(y).padStart(4, '0') : String(y);
  return `${ys}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}
