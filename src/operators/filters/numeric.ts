/**
 * Exact comparison of decimal numbers given as text, bigint or JS number, without going through
 * a lossy JS number. Used by the row filters so int8/numeric/Decimal128 values compare exactly.
 */

/** value = (neg ? -1 : 1) * digits * 10^exp; digits has no leading or trailing zeros ('' for zero). */
export interface Decimal {
  readonly neg: boolean;
  readonly digits: string;
  readonly exp: number;
}

const DECIMAL_RE = /^\s*([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

/** Parses decimal text (`-12.50`, `1e+21`, `.5`); undefined when it is not a finite number. */
export function parseDecimal(text: string): Decimal | undefined {
  const m = DECIMAL_RE.exec(text);
  if (m === null) return undefined;
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  if (intPart === '' && fracPart === '') return undefined;
  let digits = intPart + fracPart;
  let exp = (m[4] === undefined ? 0 : Number(m[4])) - fracPart.length;
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === 48) start++;
  let end = digits.length;
  while (end > start && digits.charCodeAt(end - 1) === 48) {
    end--;
    exp++;
  }
  digits = digits.slice(start, end);
  if (digits === '') return { neg: false, digits: '', exp: 0 };
  return { neg: m[1] === '-', digits, exp };
}

/** Turns a row value into a Decimal when it is numeric (number, bigint, numeric text, Decimal128/Long). */
export function toDecimal(value: unknown): Decimal | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? parseDecimal(String(value)) : undefined;
    case 'bigint':
      return parseDecimal(value.toString());
    case 'string':
      return parseDecimal(value);
    case 'object':
      if (value !== null && isNumericObject(value)) return parseDecimal(String(value));
      return undefined;
    default:
      return undefined;
  }
}

/** BSON numeric wrappers (Long, Decimal128, Double, Int32) carry a `_bsontype`. */
export function isNumericObject(value: object): boolean {
  const t = (value as { _bsontype?: unknown })._bsontype;
  return t === 'Long' || t === 'Decimal128' || t === 'Double' || t === 'Int32';
}

/** Compares two decimals: negative, zero or positive. */
export function compareDecimal(a: Decimal, b: Decimal): number {
  const aZero = a.digits === '';
  const bZero = b.digits === '';
  if (aZero || bZero) {
    if (aZero && bZero) return 0;
    if (aZero) return b.neg ? 1 : -1;
    return a.neg ? -1 : 1;
  }
  if (a.neg !== b.neg) return a.neg ? -1 : 1;
  const mag = compareMagnitude(a, b);
  return a.neg ? -mag : mag;
}

function compareMagnitude(a: Decimal, b: Decimal): number {
  // Order of magnitude of the leading digit.
  const ma = a.digits.length + a.exp;
  const mb = b.digits.length + b.exp;
  if (ma !== mb) return ma < mb ? -1 : 1;
  const n = Math.max(a.digits.length, b.digits.length);
  const da = a.digits.padEnd(n, '0');
  const db = b.digits.padEnd(n, '0');
  return da < db ? -1 : da > db ? 1 : 0;
}
