/**
 * Documents read as the server sent them (the driver's `raw` option) and decoded here, so that the
 * BSON size of what was read is known from the bytes instead of measured again on the decoded
 * object (`BSON.calculateObjectSize` walks every value: a few percent of a drain's CPU).
 */
import { BSON } from 'mongodb';
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
 * The BSON size of an oplog entry's `o` plus its `o2` (0 for one that is absent), read off the
 * entry's bytes: what `bsonSize(e.o) + bsonSize(e.o2)` gives for the decoded entry. Undefined when
 * the bytes are not a well-formed document of known types (the caller then measures the decoded one).
 */
export function oplogDocumentBytes(entry: Uint8Array): number | undefined {
  if (entry.length < 5) return undefined;
  const end = Math.min(entry.length, int32(entry, 0)) - 1;
  let sum = 0;
  let i = 4;
  while (i < end) {
    const type = entry[i] as number;
    const nameStart = i + 1;
    const valueStart = cstringEnd(entry, nameStart, end);
    if (valueStart < 0) return undefined;
    const length = valueLength(entry, type, valueStart, end);
    if (length < 0 || valueStart + length > end) return undefined;
    const nameLength = valueStart - 1 - nameStart;
    // `o` and `o2` are documents (type 3); their size is the value's own length prefix.
    if (type === 0x03 && entry[nameStart] === 0x6f && (nameLength === 1 || (nameLength === 2 && entry[nameStart + 1] === 0x32))) sum += length;
    i = valueStart + length;
  }
  return i === end ? sum : undefined;
}
