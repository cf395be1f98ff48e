/**
 * A subset of the MongoDB query language for documents: implicit equality, $eq $ne $gt $gte $lt
 * $lte $in $nin $exists, $and $or, dotted paths (through embedded documents and arrays, with
 * MongoDB's "any element matches" rule for arrays). Comparisons follow type bracketing: numbers
 * (number, bigint, Long, Decimal128, Int32, Double) compare exactly with numbers, strings with
 * strings, dates with dates; values of different kinds never match a range operator.
 */
import type { Row } from '../../core/events.js';
import { FilterSyntaxError } from './FilterSyntaxError.js';
import { compareDecimal, isNumericObject, toDecimal, type Decimal } from './numeric.js';
import type { RowPredicate } from './sqlWhere.js';

export type MongoQuery = Readonly<Record<string, unknown>>;

type Test = (value: unknown, present: boolean) => boolean;
type Match = (doc: Row) => boolean;

const enum Kind {
  Num,
  Str,
  Date,
  Bool,
  Oid,
  Null,
  Array,
  Doc,
  Other,
}

function kindOf(v: unknown): Kind {
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return Kind.Num;
    case 'string':
      return Kind.Str;
    case 'boolean':
      return Kind.Bool;
    case 'object':
      if (v === null) return Kind.Null;
      if (v instanceof Date) return Kind.Date;
      if (Array.isArray(v)) return Kind.Array;
      if (isNumericObject(v)) return Kind.Num;
      if ((v as { _bsontype?: unknown })._bsontype === 'ObjectId') return Kind.Oid;
      return Kind.Doc;
    default:
      return v === undefined ? Kind.Null : Kind.Other;
  }
}

/** A query operand with its kind and decimal form computed once. */
interface Operand {
  raw: unknown;
  kind: Kind;
  dec: Decimal | undefined;
}

function operand(raw: unknown): Operand {
  const kind = kindOf(raw);
  return { raw, kind, dec: kind === Kind.Num ? toDecimal(raw) : undefined };
}

function oidHex(v: unknown): string {
  const o = v as { toHexString?: () => string };
  return typeof o.toHexString === 'function' ? o.toHexString() : String(v);
}

/** Compares a document value with an operand of the same kind; undefined when not comparable. */
function compareTo(v: unknown, op: Operand): number | undefined {
  const k = kindOf(v);
  if (k !== op.kind) return undefined;
  switch (k) {
    case Kind.Num: {
      if (typeof v === 'number' && typeof op.raw === 'number') return v < op.raw ? -1 : v > op.raw ? 1 : 0;
      if (typeof v === 'bigint' && typeof op.raw === 'bigint') return v < op.raw ? -1 : v > op.raw ? 1 : 0;
      const d = toDecimal(v);
      return d === undefined || op.dec === undefined ? undefined : compareDecimal(d, op.dec);
    }
    case Kind.Str:
      return (v as string) < (op.raw as string) ? -1 : (v as string) > (op.raw as string) ? 1 : 0;
    case Kind.Date:
      return Math.sign((v as Date).getTime() - (op.raw as Date).getTime());
    case Kind.Bool:
      return (v ? 1 : 0) - (op.raw ? 1 : 0);
    case Kind.Oid: {
      const a = oidHex(v);
      const b = oidHex(op.raw);
      return a < b ? -1 : a > b ? 1 : 0;
    }
    case Kind.Null:
      return 0;
    default:
      return undefined;
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  if (ka !== kindOf(b)) return false;
  if (ka === Kind.Array) {
    const x = a as unknown[];
    const y = b as unknown[];
    return x.length === y.length && x.every((e, i) => deepEqual(e, y[i]));
  }
  if (ka === Kind.Doc) {
    const ea = Object.keys(a as object);
    const eb = Object.keys(b as object);
    return ea.length === eb.length && ea.every((k, i) => k === eb[i] && deepEqual((a as Row)[k], (b as Row)[k]));
  }
  return compareTo(a, operand(b)) === 0;
}

function equalsOperand(v: unknown, op: Operand): boolean {
  if (op.kind === Kind.Array || op.kind === Kind.Doc) return deepEqual(v, op.raw);
  return compareTo(v, op) === 0;
}

/**
 * Walks a dotted path. At the end of the path an array matches when the array itself or any of
 * its elements passes; an array in the middle of the path is searched element by element.
 */
function walk(v: unknown, parts: readonly string[], i: number, test: Test): boolean {
  if (i === parts.length) {
    if (test(v, true)) return true;
    if (Array.isArray(v)) for (const el of v) if (test(el, true)) return true;
    return false;
  }
  if (v === null || typeof v !== 'object') return test(undefined, false);
  const key = parts[i] as string;
  if (Array.isArray(v)) {
    if (/^\d+$/.test(key)) return walk(v[Number(key)], parts, i + 1, test);
    let any = false;
    for (const el of v) {
      if (el !== null && typeof el === 'object' && !Array.isArray(el)) {
        if (walk(el, parts, i, test)) return true;
        any = true;
      }
    }
    return any ? false : test(undefined, false);
  }
  if (!Object.prototype.hasOwnProperty.call(v, key)) return test(undefined, false);
  return walk((v as Row)[key], parts, i + 1, test);
}

function isOperatorDoc(v: unknown): v is Record<string, unknown> {
  if (kindOf(v) !== Kind.Doc) return false;
  const keys = Object.keys(v as object);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Compiles a MongoDB query document. Throws FilterSyntaxError naming `object` and the path. */
export function compileMongoQuery(query: MongoQuery, object = 'collection'): RowPredicate {
  const text = safeJson(query);
  const fail = (path: string, problem: string): never => {
    throw new FilterSyntaxError(object, text, -1, `${problem} at '${path}'`);
  };

  const compileDoc = (q: unknown, path: string): Match => {
    if (kindOf(q) !== Kind.Doc) return fail(path, 'expected a query document');
    const parts: Match[] = [];
    for (const [key, value] of Object.entries(q as object)) {
      const here = path === '' ? key : `${path}.${key}`;
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(value) || value.length === 0) return fail(here, `${key} needs a non-empty array of query documents`);
        const subs = value.map((s, i) => compileDoc(s, `${here}[${i}]`));
        parts.push(key === '$and' ? (d) => subs.every((m) => m(d)) : (d) => subs.some((m) => m(d)));
      } else if (key.startsWith('$')) {
        return fail(here, `unsupported top-level operator ${key} (supported: $and, $or)`);
      } else {
        if (key === '' || key.split('.').some((p) => p === '')) return fail(here, 'empty field name in path');
        parts.push(compileField(key.split('.'), value, here));
      }
    }
    if (parts.length === 1) return parts[0] as Match;
    return (d) => {
      for (const m of parts) if (!m(d)) return false;
      return true;
    };
  };

  const compileField = (parts: readonly string[], cond: unknown, path: string): Match => {
    const ops: Match[] = [];
    const add = (test: Test, negate = false): void => {
      ops.push(negate ? (d) => !walk(d, parts, 0, test) : (d) => walk(d, parts, 0, test));
    };
    const eqTest = (raw: unknown): Test => {
      const op = operand(raw);
      if (op.kind === Kind.Null) return (v) => v === null || v === undefined;
      return (v, present) => present && equalsOperand(v, op);
    };
    if (!isOperatorDoc(cond)) {
      add(eqTest(cond));
    } else {
      for (const [name, arg] of Object.entries(cond)) {
        switch (name) {
          case '$eq':
            add(eqTest(arg));
            break;
          case '$ne':
            add(eqTest(arg), true);
            break;
          case '$gt':
          case '$gte':
          case '$lt':
          case '$lte': {
            const op = operand(arg);
            const accept = name === '$gt' ? (c: number) => c > 0 : name === '$gte' ? (c: number) => c >= 0 : name === '$lt' ? (c: number) => c < 0 : (c: number) => c <= 0;
            add((v, present) => {
              if (!present) return false;
              const c = compareTo(v, op);
              return c !== undefined && accept(c);
            });
            break;
          }
          case '$in':
          case '$nin': {
            if (!Array.isArray(arg)) return fail(`${path}.${name}`, `${name} needs an array`);
            const tests = arg.map(eqTest);
            add((v, present) => tests.some((t) => t(v, present)), name === '$nin');
            break;
          }
          case '$exists':
            add((_v, present) => present, !arg);
            break;
          default:
            return fail(`${path}.${name}`, `unsupported operator ${name} (supported: $eq $ne $gt $gte $lt $lte $in $nin $exists $and $or)`);
        }
      }
    }
    if (ops.length === 1) return ops[0] as Match;
    return (d) => ops.every((m) => m(d));
  };

  return compileDoc(query, '');
}
