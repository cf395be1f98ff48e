/**
 * Documents read as the server sent them (the driver's `raw` option) and decoded here, so that the
 * BSON size of what was read is known from the bytes instead of measured again on the decoded
 * object (`BSON.calculateObjectSize` walks every value: a few percent of a drain's CPU).
 */
import { BSON, Timestamp } from 'mongodb';
import type { OplogEntry } from './oplog.js';
import { RAW_BSON } from './shapes.js';

/** Cursor options: every document as its BSON bytes (decoded by `decodeDocument`). */
export const RAW_BYTES = { ...RAW_BSON, raw: true } as const;

/** One document's BSON bytes → the document, every BSON type kept as the driver's wrapper (RAW_BSON). */
export function decodeDocument<T>(bytes: Uint8Array): T {
  return BSON.deserialize(bytes, RAW_BSON) as T;
}

function int32(b: Uint8Array, i: number): number {
  return (b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24);
}

/** Index just past the NUL that ends the C string starting at `i` (-1 when there is none). */
function cstringEnd(b: Uint8Array, i: number, end: number): number {
  while (i < end && b[i] !== 0) i++;
  return i < end ? i + 1 : -1;
}

/** Bytes of an element's value of BSON `type` at `i`, or -1 for a type this reader does not know. */
function valueLength(b: Uint8Array, type: number, i: number, end: number): number {
  switch (type) {
    case 0x01: // double
    case 0x09: // UTC datetime
    case 0x11: // timestamp
    case 0x12: // int64
      return 8;
    case 0x02: // string
    case 0x0d: // JavaScript code
    case 0x0e: // symbol
      return 4 + int32(b, i);
    case 0x03: // document
    case 0x04: // array
    case 0x0f: // code with scope
      return int32(b, i);
    case 0x05: // binary
      return 5 + int32(b, i);
    case 0x06: // undefined
    case 0x0a: // null
    case 0xff: // min key
    case 0x7f: // max key
      return 0;
    case 0x07: // ObjectId
      return 12;
    case 0x08: // boolean
      return 1;
    case 0x0b: {
      // regular expression: pattern and options, two C strings
      const p = cstringEnd(b, i, end);
      const o = p < 0 ? -1 : cstringEnd(b, p, end);
      return o < 0 ? -1 : o - i;
    }
    case 0x0c: // DBPointer
      return 4 + int32(b, i) + 12;
    case 0x10: // int32
      return 4;
    case 0x13: // decimal128
      return 16;
    default:
      return -1;
  }
}

/**
 * Walks the top-level elements of one document's bytes without decoding them: after each `next()`
 * that returns true, the element's type, name span and value span are in the fields. One instance
 * is reused (`elements`): nothing is allocated per element.
 */
class ElementReader {
  raw: Uint8Array = new Uint8Array(0);
  type = 0;
  nameStart = 0;
  nameEnd = 0;
  valueStart = 0;
  length = 0;
  private end = 0;
  private at = 0;
  private broken = false;

  start(raw: Uint8Array): this {
    this.raw = raw;
    this.broken = raw.length < 5;
    this.end = this.broken ? 0 : Math.min(raw.length, int32(raw, 0)) - 1;
    this.at = 4;
    return this;
  }

  /** Moves to the next element; false at the end or at bytes it cannot read (see `wellFormed`). */
  next(): boolean {
    if (this.broken || this.at >= this.end) return false;
    const raw = this.raw;
    this.type = raw[this.at] as number;
    this.nameStart = this.at + 1;
    this.valueStart = cstringEnd(raw, this.nameStart, this.end);
    this.length = this.valueStart < 0 ? -1 : valueLength(raw, this.type, this.valueStart, this.end);
    if (this.length < 0 || this.valueStart + this.length > this.end) {
      this.broken = true;
      return false;
    }
    this.nameEnd = this.valueStart - 1;
    this.at = this.valueStart + this.length;
    return true;
  }

  /** After the walk: whether every element was read and they fill the document exactly. */
  wellFormed(): boolean {
    return !this.broken && this.at === this.end;
  }

  nameIs(text: string): boolean {
    return cstringIs(this.raw, this.nameStart, this.nameEnd, text);
  }

  /** Whether this is an oplog entry's `o` or `o2` document (by type 3 and its name's bytes). */
  isOplogDocument(): boolean {
    const n = this.nameEnd - this.nameStart;
    return this.type === 0x03 && this.raw[this.nameStart] === 0x6f && (n === 1 || (n === 2 && this.raw[this.nameStart + 1] === 0x32));
  }
}
const elements = new ElementReader();

/**
 * The BSON size of an oplog entry's `o` plus its `o2` (0 for one that is absent), read off the
 * entry's bytes: what `bsonSize(e.o) + bsonSize(e.o2)` gives for the decoded entry. Undefined when
 * the bytes are not a well-formed document of known types (the caller then measures the decoded one).
 */
export function oplogDocumentBytes(entry: Uint8Array): number | undefined {
  const r = elements.start(entry);
  let sum = 0;
  while (r.next()) if (r.isOplogDocument()) sum += r.length;
  return r.wellFormed() ? sum : undefined;
}

/** An oplog entry decoded from its bytes, and the BSON size of its `o` plus `o2` (see `oplogDocumentBytes`). */
export interface DecodedOplogEntry {
  entry: OplogEntry;
  docBytes: number | undefined;
}

function cstringIs(b: Uint8Array, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (b[start + k] !== text.charCodeAt(k)) return false;
  return true;
}

function int64Number(b: Uint8Array, i: number): number {
  return (int32(b, i) >>> 0) + int32(b, i + 4) * 4294967296;
}

/**
 * An oplog entry's bytes → the entry. Inserts, updates and deletes (most of an oplog) are decoded
 * field by field: `op`, `ns`, `ts`, `t`, `wall`, `fromMigrate` and the `o`/`o2` documents, the
 * fields their conversion reads; the rest of the envelope (`ui`, `v`, `lsid`, `stmtId`...) is
 * skipped, not turned into objects. Every other entry (commands, transactions, no-ops), and bytes
 * this walk does not understand, are decoded whole by the BSON library.
 */
export function decodeOplogEntry(raw: Uint8Array): DecodedOplogEntry {
  const crud = decodeCrudEntry(raw);
  if (crud) return crud;
  return { entry: decodeDocument<OplogEntry>(raw), docBytes: oplogDocumentBytes(raw) };
}

/** Options of `embedded`, one object reused (the library reads them, never keeps them). */
const EMBEDDED = { ...RAW_BSON, index: 0, allowObjectSmallerThanBufferSize: true };

/** The document whose bytes start at `index` inside `raw`. */
function embedded(raw: Uint8Array, index: number): BSON.Document {
  EMBEDDED.index = index;
  return BSON.deserialize(raw, EMBEDDED);
}

/** `op` values of one ASCII letter, by byte (`i`, `u`, `d`...). */
const OP_LETTERS: ReadonlyArray<string | undefined> = Array.from({ length: 256 }, (_, b) => (b >= 0x61 && b <= 0x7a ? String.fromCharCode(b) : undefined));

/**
 * The text of the last namespace read, kept with its bytes: an oplog is mostly long runs of one
 * collection's entries, so the bytes are compared instead of decoded into a new string each time.
 */
class NamespaceText {
  private bytes = new Uint8Array(0);
  private last = '';

  text(raw: Uint8Array, start: number, length: number): string {
    const b = this.bytes;
    if (b.length === length) {
      let k = 0;
      while (k < length && b[k] === raw[start + k]) k++;
      if (k === length) return this.last;
    }
    // A copy (Buffer's own slice would be a view of the driver's batch).
    this.bytes = new Uint8Array(length);
    this.bytes.set(raw.subarray(start, start + length));
    this.last = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, length).toString('utf8');
    return this.last;
  }
}
const namespaces = new NamespaceText();

function decodeCrudEntry(raw: Uint8Array): DecodedOplogEntry | null {
  let op: string | undefined;
  let ns: string | undefined;
  let ts: Timestamp | undefined;
  let term: number | undefined;
  let wall: Date | undefined;
  let fromMigrate: boolean | undefined;
  let o = -1;
  let o2 = -1;
  let docBytes = 0;
  const r = elements.start(raw);
  while (r.next()) {
    const at = r.valueStart;
    if (r.isOplogDocument()) {
      if (r.nameEnd - r.nameStart === 1) o = at;
      else o2 = at;
      docBytes += r.length;
    } else if (r.type === 0x02 && r.nameIs('op')) {
      // A string: int32 byte length (with its NUL), then the UTF-8 bytes.
      op = r.length === 6 ? OP_LETTERS[raw[at + 4] as number] : undefined;
    } else if (r.type === 0x02 && r.nameIs('ns')) {
      ns = namespaces.text(raw, at + 4, r.length - 5);
    } else if (r.type === 0x11 && r.nameIs('ts')) {
      ts = new Timestamp({ i: int32(raw, at) >>> 0, t: int32(raw, at + 4) >>> 0 });
    } else if (r.nameIs('t') && (r.type === 0x12 || r.type === 0x10 || r.type === 0x01)) {
      // The election term: int64 as MongoDB writes it; int32 or double as other writers may.
      term = r.type === 0x12 ? int64Number(raw, at) : r.type === 0x10 ? int32(raw, at) : Buffer.from(raw.buffer, raw.byteOffset + at, 8).readDoubleLE(0);
    } else if (r.type === 0x09 && r.nameIs('wall')) {
      wall = new Date(int64Number(raw, at));
    } else if (r.type === 0x08 && r.nameIs('fromMigrate')) {
      fromMigrate = raw[at] === 1;
    }
  }
  if (!r.wellFormed() || (op !== 'i' && op !== 'u' && op !== 'd') || ns === undefined || ts === undefined || o < 0) return null;
  const entry: OplogEntry = { ts, op, ns, o: embedded(raw, o) };
  if (o2 >= 0) entry.o2 = embedded(raw, o2);
  if (term !== undefined) entry.t = term;
  if (wall !== undefined) entry.wall = wall;
  if (fromMigrate !== undefined) entry.fromMigrate = fromMigrate;
  return { entry, docBytes };
}
