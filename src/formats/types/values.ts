/**
 * Row values (core/values.ts) as the text formats write them. A value is already in the neutral
 * vocabulary's representation: exact text for decimals, temporal values and big integers, numbers,
 * booleans, bytes; nothing here depends on the database it came from.
 */

/** Lowercase hex of bytes, no prefix. */
export function toHex(b: Uint8Array): string {
  if (b instanceof Buffer) return b.toString('hex');
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * A value as Canal/Shareplex text: SQL NULL → null, bytes → lowercase hex, booleans `true`/`false`,
 * numbers/bigint in full, strings (the source's exact text) unchanged, objects as JSON.
 */
export function valueText(v: unknown): string | null {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return null;
    case 'object':
      if (v === null) return null;
      if (v instanceof Uint8Array) return toHex(v);
      if (v instanceof Date) return v.toISOString();
      return JSON.stringify(v);
    default:
      return String(v);
  }
}

/** Values equal for change detection (`old` in Canal, changed columns in Shareplex). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  return valueText(a) === valueText(b);
}
