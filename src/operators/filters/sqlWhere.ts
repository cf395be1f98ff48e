/**
 * A subset of SQL WHERE for relational rows: comparisons (= != <> < <= > >=), AND, OR, NOT,
 * parentheses, [NOT] IN (...), IS [NOT] NULL, [NOT] LIKE / ILIKE, [NOT] BETWEEN, string, number,
 * TRUE/FALSE/NULL literals, and a bare boolean column. SQL three-valued logic: a comparison with
 * NULL is unknown and unknown rows do not match. Numbers compare exactly, also when the row
 * holds them as text (numeric) or bigint (int8).
 *
 * Parse once with `parseSqlWhere`, then `bindSqlWhere` per table version (resolves column names).
 */
import type { Column, Row } from '../../core/events.js';
import { FilterSyntaxError } from './FilterSyntaxError.js';
import { compareDecimal, isNumericObject, parseDecimal, toDecimal, type Decimal } from './numeric.js';

export type RowPredicate = (row: Row) => boolean;

export type SqlLiteral =
  | { kind: 'num'; text: string; dec: Decimal; num: number; exact: boolean; big: bigint | undefined }
  | { kind: 'str'; text: string; dec: Decimal | undefined; time: number | undefined }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' };

export type SqlOperand = { t: 'col'; name: string; quoted: boolean; pos: number } | { t: 'lit'; lit: SqlLiteral; pos: number };
export type CmpOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type SqlNode =
  | { t: 'or' | 'and'; a: SqlNode; b: SqlNode }
  | { t: 'not'; a: SqlNode }
  | { t: 'cmp'; op: CmpOp; l: SqlOperand; r: SqlOperand }
  | { t: 'in'; x: SqlOperand; list: SqlOperand[]; neg: boolean }
  | { t: 'between'; x: SqlOperand; lo: SqlOperand; hi: SqlOperand; neg: boolean }
  | { t: 'isnull'; x: SqlOperand; neg: boolean }
  | { t: 'like'; x: SqlOperand; pattern: string; ci: boolean; neg: boolean; pos: number }
  | { t: 'truth'; x: SqlOperand };

/* ------------------------------------------------------------------ tokens */

type Tok =
  | { k: 'id'; v: string; up: string; pos: number }
  | { k: 'qid'; v: string; pos: number }
  | { k: 'str'; v: string; pos: number }
  | { k: 'num'; v: string; pos: number }
  | { k: 'op'; v: string; pos: number }
  | { k: 'end'; pos: number };

function tokenize(text: string, fail: (pos: number, msg: string) => never): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < n && /[A-Za-z0-9_$]/.test(text[i] as string)) i++;
      const v = text.slice(start, i);
      out.push({ k: 'id', v, up: v.toUpperCase(), pos: start });
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(\d*\.?\d*)([eE][+-]?\d+)?/.exec(text.slice(i));
      const v = m?.[0] ?? c;
      out.push({ k: 'num', v, pos: i });
      i += v.length;
    } else if (c === "'") {
      const start = i;
      let v = '';
      i++;
      for (;;) {
        if (i >= n) fail(start, 'unterminated string literal');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += text[i];
        i++;
      }
      out.push({ k: 'str', v, pos: start });
    } else if (c === '"' || c === '`') {
      const start = i;
      const close = text.indexOf(c, i + 1);
      if (close < 0) fail(start, 'unterminated quoted identifier');
      out.push({ k: 'qid', v: text.slice(i + 1, close), pos: start });
      i = close + 1;
    } else {
      const two = text.slice(i, i + 2);
      if (two === '<=' || two === '>=' || two === '<>' || two === '!=') {
        out.push({ k: 'op', v: two, pos: i });
        i += 2;
      } else if ('=<>(),+-'.includes(c)) {
        out.push({ k: 'op', v: c, pos: i });
        i++;
      } else {
        fail(i, `unexpected character '${c}'`);
      }
    }
  }
  out.push({ k: 'end', pos: n });
  return out;
}

/* ------------------------------------------------------------------ parser */

const RESERVED = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'LIKE', 'ILIKE', 'BETWEEN', 'TRUE', 'FALSE']);

function numLiteral(text: string): SqlLiteral {
  const dec = parseDecimal(text) as Decimal;
  const num = Number(text);
  const same = parseDecimal(String(num));
  const exact = same !== undefined && compareDecimal(same, dec) === 0;
  const big = dec.exp >= 0 ? BigInt((dec.neg ? '-' : '') + (dec.digits || '0') + '0'.repeat(dec.exp)) : undefined;
  return { kind: 'num', text, dec, num, exact, big };
}

function strLiteral(text: string): SqlLiteral {
  const time = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  return { kind: 'str', text, dec: parseDecimal(text), time: Number.isNaN(time) ? undefined : time };
}

/**
 * Parses a WHERE condition (without the word WHERE). Throws FilterSyntaxError naming `object`
 * and the position.
 */
export function parseSqlWhere(text: string, object = 'table'): SqlNode {
  const fail = (pos: number, msg: string): never => {
    throw new FilterSyntaxError(object, text, pos, msg);
  };
  const toks = tokenize(text, fail);
  let p = 0;
  const peek = (): Tok => toks[p] as Tok;
  const isKw = (kw: string): boolean => {
    const t = peek();
    return t.k === 'id' && t.up === kw;
  };
  const isOp = (op: string): boolean => {
    const t = peek();
    return t.k === 'op' && t.v === op;
  };
  const describe = (t: Tok): string => (t.k === 'end' ? 'end of expression' : t.k === 'str' ? `'${t.v}'` : `'${t.v}'`);
  const expectKw = (kw: string): void => {
    if (!isKw(kw)) fail(peek().pos, `expected ${kw} but found ${describe(peek())}`);
    p++;
  };
  const expectOp = (op: string): void => {
    if (!isOp(op)) fail(peek().pos, `expected '${op}' but found ${describe(peek())}`);
    p++;
  };

  const operand = (): SqlOperand => {
    const t = peek();
    if (t.k === 'op' && (t.v === '-' || t.v === '+')) {
      const next = toks[p + 1];
      if (next?.k !== 'num') return fail(t.pos, `expected a number after '${t.v}'`);
      p += 2;
      return { t: 'lit', lit: numLiteral(t.v === '-' ? `-${next.v}` : next.v), pos: t.pos };
    }
    p++;
    switch (t.k) {
      case 'num':
        if (parseDecimal(t.v) === undefined) fail(t.pos, `malformed number '${t.v}'`);
        return { t: 'lit', lit: numLiteral(t.v), pos: t.pos };
      case 'str':
        return { t: 'lit', lit: strLiteral(t.v), pos: t.pos };
      case 'qid':
        return { t: 'col', name: t.v, quoted: true, pos: t.pos };
      case 'id':
        if (t.up === 'NULL') return { t: 'lit', lit: { kind: 'null' }, pos: t.pos };
        if (t.up === 'TRUE' || t.up === 'FALSE') return { t: 'lit', lit: { kind: 'bool', value: t.up === 'TRUE' }, pos: t.pos };
        if (RESERVED.has(t.up)) return fail(t.pos, `expected a column or a value but found ${t.up}`);
        return { t: 'col', name: t.v, quoted: false, pos: t.pos };
      default:
        p--;
        return fail(t.pos, `expected a column or a value but found ${describe(t)}`);
    }
  };

  const predicate = (): SqlNode => {
    const x = operand();
    const t = peek();
    if (t.k === 'op' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      p++;
      const op = (t.v === '!=' ? '<>' : t.v) as CmpOp;
      return { t: 'cmp', op, l: x, r: operand() };
    }
    if (isKw('IS')) {
      p++;
      const neg = isKw('NOT');
      if (neg) p++;
      expectKw('NULL');
      return { t: 'isnull', x, neg };
    }
    let neg = false;
    if (isKw('NOT')) {
      neg = true;
      p++;
      if (!isKw('IN') && !isKw('LIKE') && !isKw('ILIKE') && !isKw('BETWEEN')) fail(peek().pos, `expected IN, LIKE or BETWEEN after NOT but found ${describe(peek())}`);
    }
    if (isKw('IN')) {
      p++;
      expectOp('(');
      const list = [operand()];
      while (isOp(',')) {
        p++;
        list.push(operand());
      }
      expectOp(')');
      return { t: 'in', x, list, neg };
    }
    if (isKw('LIKE') || isKw('ILIKE')) {
      const ci = isKw('ILIKE');
      p++;
      const pt = peek();
      if (pt.k !== 'str') return fail(pt.pos, `expected a string pattern after LIKE but found ${describe(pt)}`);
      p++;
      return { t: 'like', x, pattern: pt.v, ci, neg, pos: pt.pos };
    }
    if (isKw('BETWEEN')) {
      p++;
      const lo = operand();
      expectKw('AND');
      const hi = operand();
      return { t: 'between', x, lo, hi, neg };
    }
    return { t: 'truth', x };
  };

  const unary = (): SqlNode => {
    if (isKw('NOT')) {
      p++;
      return { t: 'not', a: unary() };
    }
    if (isOp('(')) {
      p++;
      const inner = or();
      expectOp(')');
      return inner;
    }
    return predicate();
  };
  const and = (): SqlNode => {
    let a = unary();
    while (isKw('AND')) {
      p++;
      a = { t: 'and', a, b: unary() };
    }
    return a;
  };
  const or = (): SqlNode => {
    let a = and();
    while (isKw('OR')) {
      p++;
      a = { t: 'or', a, b: and() };
    }
    return a;
  };

  if (peek().k === 'end') fail(0, 'the condition is empty');
  const root = or();
  if (peek().k !== 'end') fail(peek().pos, `unexpected ${describe(peek())}`);
  return root;
}

/* ------------------------------------------------------------------ evaluation */

// Three-valued logic.
const F = 0;
const T = 1;
const U = 2;
type Tri = 0 | 1 | 2;
type Eval = (row: Row) => Tri;
type Get = (row: Row) => unknown;

const SHORT_DECIMAL = /^-?\d+(\.\d+)?$/;

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Compares a row value with a literal; undefined when NULL or not comparable. */
export function compareWithLiteral(v: unknown, lit: SqlLiteral): number | undefined {
  if (v === null || v === undefined) return undefined;
  switch (lit.kind) {
    case 'null':
      return undefined;
    case 'num': {
      if (typeof v === 'number') {
        if (lit.exact) return sign(v - lit.num);
        const d = toDecimal(v);
        return d === undefined ? undefined : compareDecimal(d, lit.dec);
      }
      if (typeof v === 'bigint' && lit.big !== undefined) return v < lit.big ? -1 : v > lit.big ? 1 : 0;
      if (typeof v === 'boolean') return sign((v ? 1 : 0) - lit.num);
      // Up to 15 characters a plain decimal has at most 15 significant digits, so it converts to a
      // double without ambiguity: comparing doubles is then exact (numeric text is the common case).
      if (typeof v === 'string' && lit.exact && v.length <= 15 && SHORT_DECIMAL.test(v)) return sign(Number(v) - lit.num);
      const d = toDecimal(v);
      return d === undefined ? undefined : compareDecimal(d, lit.dec);
    }
    case 'str': {
      if (typeof v === 'string') return v < lit.text ? -1 : v > lit.text ? 1 : 0;
      if (v instanceof Date) return lit.time === undefined ? undefined : sign(v.getTime() - lit.time);
      if (lit.dec !== undefined && (typeof v === 'number' || typeof v === 'bigint' || (typeof v === 'object' && isNumericObject(v)))) {
        const d = toDecimal(v);
        return d === undefined ? undefined : compareDecimal(d, lit.dec);
      }
      if (typeof v === 'boolean') {
        const b = /^(t|true|1|y|yes|on)$/i.test(lit.text) ? 1 : /^(f|false|0|n|no|off)$/i.test(lit.text) ? 0 : undefined;
        return b === undefined ? undefined : (v ? 1 : 0) - b;
      }
      return undefined;
    }
    case 'bool':
      return typeof v === 'boolean' ? (v ? 1 : 0) - (lit.value ? 1 : 0) : undefined;
  }
}

function valueAsLiteral(v: unknown): SqlLiteral {
  if (v === null || v === undefined) return { kind: 'null' };
  if (typeof v === 'boolean') return { kind: 'bool', value: v };
  if (typeof v === 'number' || typeof v === 'bigint') return numLiteral(String(v));
  if (v instanceof Date) return strLiteral(v.toISOString());
  return strLiteral(String(v));
}

function cmpResult(op: CmpOp, c: number | undefined): Tri {
  if (c === undefined) return U;
  switch (op) {
    case '=':
      return c === 0 ? T : F;
    case '<>':
      return c !== 0 ? T : F;
    case '<':
      return c < 0 ? T : F;
    case '<=':
      return c <= 0 ? T : F;
    case '>':
      return c > 0 ? T : F;
    case '>=':
      return c >= 0 ? T : F;
  }
}

const FLIP: Readonly<Record<CmpOp, CmpOp>> = { '=': '=', '<>': '<>', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

function likeToRegExp(pattern: string, ci: boolean): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      re += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (c === '%') re += '.*';
    else if (c === '_') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, ci ? 'is' : 's');
}

/**
 * Builds the row predicate for one table version. `columns` (when known) resolves unquoted names
 * case-insensitively and rejects unknown columns with FilterSyntaxError naming `object`.
 */
export function bindSqlWhere(node: SqlNode, columns: readonly Column[] = [], object = 'table', text = ''): RowPredicate {
  const resolve = (o: SqlOperand & { t: 'col' }): string => {
    if (columns.length === 0 || columns.some((c) => c.name === o.name)) return o.name;
    if (!o.quoted) {
      const lower = o.name.toLowerCase();
      const found = columns.filter((c) => c.name.toLowerCase() === lower);
      if (found.length === 1) return (found[0] as Column).name;
    }
    throw new FilterSyntaxError(object, text, o.pos, `unknown column '${o.name}' (columns: ${columns.map((c) => c.name).join(', ')})`);
  };
  /** The raw value a literal stands for, for literal-only expressions (evaluated once). */
  const rawOf = (lit: SqlLiteral): unknown => (lit.kind === 'null' ? null : lit.kind === 'num' ? lit.text : lit.kind === 'str' ? lit.text : lit.value);
  const getter = (o: SqlOperand): Get => {
    if (o.t === 'lit') {
      const raw = rawOf(o.lit);
      return () => raw;
    }
    const name = resolve(o);
    return (row) => row[name];
  };
  /** Compare operands a OP b. */
  const compare = (op: CmpOp, a: SqlOperand, b: SqlOperand): Eval => {
    if (b.t === 'lit') {
      const lit = b.lit;
      if (a.t === 'lit') {
        const r = cmpResult(op, compareWithLiteral(rawOf(a.lit), lit));
        return () => r;
      }
      const name = resolve(a);
      return (row) => cmpResult(op, compareWithLiteral(row[name], lit));
    }
    if (a.t === 'lit') return compare(FLIP[op], b, a);
    // column vs column: rare, converts the right value per row.
    const ga = getter(a);
    const gb = getter(b);
    return (row) => cmpResult(op, compareWithLiteral(ga(row), valueAsLiteral(gb(row))));
  };
  const build = (n: SqlNode): Eval => {
    switch (n.t) {
      case 'or': {
        const a = build(n.a);
        const b = build(n.b);
        return (row) => {
          const x = a(row);
          if (x === T) return T;
          const y = b(row);
          return y === T ? T : x === U || y === U ? U : F;
        };
      }
      case 'and': {
        const a = build(n.a);
        const b = build(n.b);
        return (row) => {
          const x = a(row);
          if (x === F) return F;
          const y = b(row);
          return y === F ? F : x === U || y === U ? U : T;
        };
      }
      case 'not': {
        const a = build(n.a);
        return (row) => {
          const x = a(row);
          return x === U ? U : x === T ? F : T;
        };
      }
      case 'cmp':
        return compare(n.op, n.l, n.r);
      case 'in': {
        const tests = n.list.map((item) => compare('=', n.x, item));
        const neg = n.neg;
        return (row) => {
          let r: Tri = F;
          for (const t of tests) {
            const x = t(row);
            if (x === T) {
              r = T;
              break;
            }
            if (x === U) r = U;
          }
          return r === U ? U : neg ? (r === T ? F : T) : r;
        };
      }
      case 'between': {
        const lo = compare('>=', n.x, n.lo);
        const hi = compare('<=', n.x, n.hi);
        const neg = n.neg;
        return (row) => {
          const x = lo(row);
          const y = x === F ? F : hi(row);
          const r: Tri = x === F || y === F ? F : x === U || y === U ? U : T;
          return r === U ? U : neg ? (r === T ? F : T) : r;
        };
      }
      case 'isnull': {
        const g = getter(n.x);
        const neg = n.neg;
        return (row) => {
          const v = g(row);
          const isNull = v === null || v === undefined;
          return isNull !== neg ? T : F;
        };
      }
      case 'like': {
        const re = likeToRegExp(n.pattern, n.ci);
        const g = getter(n.x);
        const neg = n.neg;
        return (row) => {
          const v = g(row);
          if (v === null || v === undefined) return U;
          const s = typeof v === 'string' ? v : String(v);
          return re.test(s) !== neg ? T : F;
        };
      }
      case 'truth': {
        const g = getter(n.x);
        return (row) => {
          const v = g(row);
          if (typeof v === 'boolean') return v ? T : F;
          return U;
        };
      }
    }
  };
  const root = build(node);
  return (row) => root(row) === T;
}

/** Parses and binds in one step. */
export function compileSqlWhere(text: string, columns: readonly Column[] = [], object = 'table'): RowPredicate {
  return bindSqlWhere(parseSqlWhere(text, object), columns, object, text);
}
