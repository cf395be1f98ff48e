import { quote } from './json.js';

/** Characters `writeJsonString` cannot copy as they are: JSON escapes, and anything beyond ASCII. */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON must escape
const NEEDS_ESCAPE_OR_UTF8 = /[\u0000-\u001f"\\\u007f-\uffff]/;

/** Buffer's own Latin-1 writer (no encoding lookup); for ASCII text it writes the bytes as they are. */
type Latin1Writer = Buffer & { latin1Write(s: string, offset: number, length: number): number };

/**
 * A growing byte buffer that encoders write messages into back to back (`Format.encodeInto`), so
 * a batch's keys and values end up laid out contiguously in one ArrayBuffer: the Kafka sink
 * transfers that ArrayBuffer to its producer thread as is, without copying messages again.
 *
 * After each `writeKey`/`writeValue` the offset and length of the last key and value are in
 * `keyOffset`/`keyLength` (-1 = null key) and `valueOffset`/`valueLength`.
 */
export class ByteSink {
  /** Backing store; replaced (copied) when it grows. Its `buffer` starts at byte 0. */
  buf: Buffer;
  /** Bytes written. */
  pos = 0;
  keyOffset = 0;
  keyLength = -1;
  valueOffset = 0;
  valueLength = 0;

  /** `reuse`: a backing store to write into again (a spare of at least `capacity` bytes), instead of a new allocation. */
  constructor(capacity = 64 * 1024, reuse?: ArrayBuffer) {
    this.buf = reuse !== undefined && reuse.byteLength >= capacity ? Buffer.from(reuse) : Buffer.allocUnsafeSlow(Math.max(1024, capacity));
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Appends the UTF-8 of `s`; returns its byte length. */
  writeString(s: string): number {
    // UTF-16 code units → at most 3 UTF-8 bytes each.
    if (this.pos + s.length * 3 > this.buf.length) this.grow(this.pos + s.length * 3);
    const n = this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
    return n;
  }

  /**
   * Appends `s` as a JSON string literal, exactly as `JSON.stringify(s)` writes it. Short
   * printable-ASCII strings (most column values) are copied code unit by code unit in one pass,
   * without building an intermediate string; anything else takes `quote` and the UTF-8 writer.
   */
  writeJsonString(s: string): void {
    const n = s.length;
    if (n > 24 && n <= 4096 && !NEEDS_ESCAPE_OR_UTF8.test(s)) {
      // Longer printable ASCII (hashes, notes, timestamps): one native copy beats the loop below.
      if (this.pos + n + 2 > this.buf.length) this.grow(this.pos + n + 2);
      const buf = this.buf as Latin1Writer;
      buf[this.pos++] = 34;
      this.pos += buf.latin1Write(s, this.pos, n);
      buf[this.pos++] = 34;
      return;
    }
    if (n <= 512) {
      if (this.pos + n + 2 > this.buf.length) this.grow(this.pos + n + 2);
      const buf = this.buf;
      let p = this.pos;
      buf[p++] = 34;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x20 || c > 0x7f || c === 34 || c === 92) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[p++] = 34;
        this.pos = p;
        return;
      }
    }
    this.writeString(quote(s));
  }

  /** Appends a string known to be ASCII (numbers, pre-checked text). */
  writeAscii(s: string): void {
    const n = s.length;
    if (this.pos + n > this.buf.length) this.grow(this.pos + n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Appends the decimal digits of the non-negative integer `n`, zero-padded to `width` (n < 10^width). */
  writePaddedDigits(n: number, width: number): void {
    if (this.pos + width > this.buf.length) this.grow(this.pos + width);
    const buf = this.buf;
    for (let i = this.pos + width - 1; i >= this.pos; i--) {
      buf[i] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.pos += width;
  }

  /** Appends one byte. */
  writeByte(b: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(this.pos + 1);
    this.buf[this.pos++] = b;
  }

  /** Starts a key written piecewise; `endKey` records its span. */
  beginKey(): void {
    this.keyOffset = this.pos;
  }

  endKey(): void {
    this.keyLength = this.pos - this.keyOffset;
  }

  /** Starts a value written piecewise; `endValue` records its span. */
  beginValue(): void {
    this.valueOffset = this.pos;
  }

  endValue(): void {
    this.valueLength = this.pos - this.valueOffset;
  }

  /** Appends `b`, or its first `n` bytes. */
  writeBytes(b: Uint8Array, n = b.length): number {
    if (this.pos + n > this.buf.length) this.grow(this.pos + n);
    if (n <= 48) {
      // Short prepared pieces (column prefixes, separators): a loop costs less than the builtin
      // `set` call (7 % of the main thread in a full-sync profile).
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) buf[p++] = b[i] as number;
      this.pos = p;
    } else {
      this.buf.set(n === b.length ? b : b.subarray(0, n), this.pos);
      this.pos += n;
    }
    return n;
  }

  writeKey(text: string | null): void {
    this.keyOffset = this.pos;
    this.keyLength = text === null ? -1 : this.writeString(text);
  }

  writeKeyBytes(b: Uint8Array | null): void {
    this.keyOffset = this.pos;
    this.keyLength = b === null ? -1 : this.writeBytes(b);
  }

  writeValue(text: string): void {
    this.valueOffset = this.pos;
    this.valueLength = this.writeString(text);
  }

  writeValueBytes(b: Uint8Array): void {
    this.valueOffset = this.pos;
    this.valueLength = this.writeBytes(b);
  }

  /** A view (no copy) of written bytes. */
  view(offset: number, length: number): Buffer {
    return this.buf.subarray(offset, offset + length);
  }
}
