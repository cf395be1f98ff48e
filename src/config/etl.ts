/**
 * A small, safe ETL language for task files (`etl.expression`). Nothing in it can run arbitrary
 * JavaScript: it is parsed into a tree and interpreted against one row at a time.
 *
 * A program is a list of rules, one per line (or separated by `;`); `#` starts a comment.
 *
 *     [on <table pattern>:] set <column> = <expression>
 *     [on <table pattern>:] drop <column>
 *     [on <table pattern>:] keep when <expression>
 *
 * - `set` writes a column (new or existing) of the row image.
 * - `drop` removes a column.
 * - `keep when` keeps only rows for which the expression is true; other rows are filtered out.
 * - An `on` prefix also applies to the rules that follow it on the same line (after `;`).
 * - A table pattern is `table`, `schema.table` or `database.schema.table` (MongoDB: `database.collection`);
 *   any part may be `*`. Without `on`, a rule applies to every table.
 *
 * Expressions: literals (`12`, `1.5`, `'text'`, `true`, `false`, `null`), column names (bare, or in
 * double quotes), `+ - * / %`, `||` (text concatenation), `= != <> < <= > >=`, `is null`,
 * `is not null`, `and`, `or`, `not`, parentheses, and the functions `upper`, `lower`, `trim`,
 * `length`, `concat`, `coalesce`, `substr(text, start[, length])` (1-based), `abs`, `round`,
 * `to_string`, `to_number`.
 *
 * Example:
 *
 *     on shop.public.orders: set total_cents = round(total * 100)
 *     on *.public.users: drop password_hash
 *     on orders: keep when status != 'test'
 */
import type { ChangeEvent, Row, TableRef } from '../core/events.js';

export type EtlExpr =
  | { kind: 'lit'; value: string | number | boolean | null }
  | { kind: 'col'; name: string }
  | { kind: 'unary'; op: '-' | 'not'; arg: EtlExpr }
  | { kind: 'binary'; op: string; left: EtlExpr; right: EtlExpr }
  | { kind: 'isnull'; negate: boolean; arg: EtlExpr }
  | { kind: 'call'; fn: string; args: EtlExpr[] };

export type EtlRule =
  | { action: 'set'; pattern: string[] | null; column: string; expr: EtlExpr; line: number }
  | { action: 'drop'; pattern: string[] | null; column: string; line: number }
  | { action: 'keep'; pattern: string[] | null; expr: EtlExpr; line: number };

export interface EtlProgram {
  readonly rules: readonly EtlRule[];
}

/** A syntax error in an ETL program, with the 1-based line and column where it was found. */
export class EtlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`line ${line}, column ${column}: ${message}`);
    this.name = 'EtlSyntaxError';
  }
}

const FUNCTIONS: Record<string, { min: number; max: number }> = {
  upper: { min: 1, max: 1 },
  lower: { min: 1, max: 1 },
  trim: { min: 1, max: 1 },
  length: { min: 1, max: 1 },
  concat: { min: 1, max: 64 },
  coalesce: { min: 1, max: 64 },
  substr: { min: 2, max: 3 },
  abs: { min: 1, max: 1 },
  round: { min: 1, max: 2 },
  to_string: { min: 1, max: 1 },
  to_number: { min: 1, max: 1 },
};

/** Names of the functions the ETL language offers. */
export const ETL_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS);

interface Token {
  type: 'num' | 'str' | 'ident' | 'qident' | 'op' | 'end';
  text: string;
  col: number;
}

const OPS = ['<=', '>=', '!=', '<>', '||', '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ',', '.', ':'];

function tokenize(src: string, line: number, offset: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i] as string;
    const col = offset + i + 1;
    if (/\s/.test(ch)) {
      i++;
    } else if (/[0-9]/.test(ch)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i)) as RegExpExecArray;
      out.push({ type: 'num', text: m[0], col });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(src.slice(i)) as RegExpExecArray;
      out.push({ type: 'ident', text: m[0], col });
      i += m[0].length;
    } else if (ch === "'" || ch === '"') {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= src.length) throw new EtlSyntaxError(`unterminated ${ch === "'" ? 'string' : 'quoted name'}`, line, col);
        const c = src[j] as string;
        if (c === ch) {
          if (src[j + 1] === ch) {
            text += ch;
            j += 2;
            continue;
          }
          break;
        }
        text += c;
        j++;
      }
      out.push({ type: ch === "'" ? 'str' : 'qident', text, col });
      i = j + 1;
    } else {
      const op = OPS.find((o) => src.startsWith(o, i));
      if (op === undefined) throw new EtlSyntaxError(`unexpected character '${ch}'`, line, col);
      out.push({ type: 'op', text: op, col });
      i += op.length;
    }
  }
  out.push({ type: 'end', text: '', col: offset + src.length + 1 });
  return out;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly toks: Token[],
    private readonly line: number,
  ) {}

  private peek(): Token {
    return this.toks[this.pos] as Token;
  }
  private next(): Token {
    const t = this.peek();
    if (t.type !== 'end') this.pos++;
    return t;
  }
  private fail(msg: string, t = this.peek()): never {
    throw new EtlSyntaxError(msg, this.line, t.col);
  }
  private isWord(w: string, t = this.peek()): boolean {
    return t.type === 'ident' && t.text.toLowerCase() === w;
  }
  private isOp(o: string, t = this.peek()): boolean {
    return t.type === 'op' && t.text === o;
  }
  private expectOp(o: string): void {
    if (!this.isOp(o)) this.fail(`expected '${o}'${this.describe()}`);
    this.next();
  }
  private describe(): string {
    const t = this.peek();
    return t.type === 'end' ? ' but the rule ended' : ` but found '${t.text}'`;
  }
  private patternPart(): string {
    if (this.isOp('*')) {
      this.next();
      return '*';
    }
    return this.name('a table pattern part');
  }
  private name(what: string): string {
    const t = this.peek();
    if (t.type === 'ident' || t.type === 'qident') {
      this.next();
      return t.text;
    }
    return this.fail(`expected ${what}${this.describe()}`);
  }

  rule(): EtlRule {
    let pattern: string[] | null = null;
    if (this.isWord('on')) {
      this.next();
      pattern = [this.patternPart()];
      while (this.isOp('.')) {
        this.next();
        pattern.push(this.patternPart());
      }
      if (pattern.length > 3) this.fail('a table pattern has at most 3 parts (database.schema.table)');
      this.expectOp(':');
    }
    const line = this.line;
    let rule: EtlRule;
    if (this.isWord('set')) {
      this.next();
      const column = this.name('a column name');
      this.expectOp('=');
      rule = { action: 'set', pattern, column, expr: this.expr(), line };
    } else if (this.isWord('drop')) {
      this.next();
      rule = { action: 'drop', pattern, column: this.name('a column name'), line };
    } else if (this.isWord('keep')) {
      this.next();
      if (!this.isWord('when')) this.fail(`expected 'when'${this.describe()}`);
      this.next();
      rule = { action: 'keep', pattern, expr: this.expr(), line };
    } else {
      return this.fail(`expected 'set', 'drop' or 'keep'${this.describe()}`);
    }
    if (this.peek().type !== 'end') this.fail(`unexpected '${this.peek().text}' after the end of the rule`);
    return rule;
  }

  private expr(): EtlExpr {
    return this.or();
  }
  private or(): EtlExpr {
    let left = this.and();
    while (this.isWord('or')) {
      this.next();
      left = { kind: 'binary', op: 'or', left, right: this.and() };
    }
    return left;
  }
  private and(): EtlExpr {
    let left = this.not();
    while (this.isWord('and')) {
      this.next();
      left = { kind: 'binary', op: 'and', left, right: this.not() };
    }
    return left;
  }
  private not(): EtlExpr {
    if (this.isWord('not')) {
      this.next();
      return { kind: 'unary', op: 'not', arg: this.not() };
    }
    return this.cmp();
  }
  private cmp(): EtlExpr {
    const left = this.add();
    const t = this.peek();
    if (t.type === 'op' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(t.text)) {
      this.next();
      return { kind: 'binary', op: t.text === '<>' ? '!=' : t.text, left, right: this.add() };
    }
    if (this.isWord('is')) {
      this.next();
      let negate = false;
      if (this.isWord('not')) {
        this.next();
        negate = true;
      }
      if (!this.isWord('null')) this.fail(`expected 'null'${this.describe()}`);
      this.next();
      return { kind: 'isnull', negate, arg: left };
    }
    return left;
  }
  private add(): EtlExpr {
    let left = this.mul();
    while (this.isOp('+') || this.isOp('-') || this.isOp('||')) {
      const op = this.next().text;
      left = { kind: 'binary', op, left, right: this.mul() };
    }
    return left;
  }
  private mul(): EtlExpr {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next().text;
      left = { kind: 'binary', op, left, right: this.unary() };
    }
    return left;
  }
  private unary(): EtlExpr {
    if (this.isOp('-')) {
      this.next();
      return { kind: 'unary', op: '-', arg: this.unary() };
    }
    return this.primary();
  }
  private primary(): EtlExpr {
    const t = this.peek();
    if (t.type === 'num') {
      this.next();
      return { kind: 'lit', value: Number(t.text) };
    }
    if (t.type === 'str') {
      this.next();
      return { kind: 'lit', value: t.text };
    }
    if (t.type === 'qident') {
      this.next();
      return { kind: 'col', name: t.text };
    }
    if (this.isOp('(')) {
      this.next();
      const e = this.expr();
      this.expectOp(')');
      return e;
    }
    if (t.type === 'ident') {
      this.next();
      const lower = t.text.toLowerCase();
      if (lower === 'true' || lower === 'false') return { kind: 'lit', value: lower === 'true' };
      if (lower === 'null') return { kind: 'lit', value: null };
      if (this.isOp('(')) {
        const spec = FUNCTIONS[lower];
        if (spec === undefined) this.fail(`unknown function '${t.text}' (available: ${ETL_FUNCTIONS.join(', ')})`, t);
        this.next();
        const args: EtlExpr[] = [];
        if (!this.isOp(')')) {
          args.push(this.expr());
          while (this.isOp(',')) {
            this.next();
            args.push(this.expr());
          }
        }
        this.expectOp(')');
        if (args.length < spec.min || args.length > spec.max) {
          this.fail(`${lower}() takes ${spec.min === spec.max ? spec.min : `${spec.min} to ${spec.max}`} argument(s), got ${args.length}`, t);
        }
        return { kind: 'call', fn: lower, args };
      }
      return { kind: 'col', name: t.text };
    }
    return this.fail(`expected a value${this.describe()}`);
  }
}

/** Parses an ETL program. Throws EtlSyntaxError (with line and column) on the first mistake. */
export function compileEtl(text: string): EtlProgram {
  const rules: EtlRule[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    let offset = 0;
    let linePattern: string[] | null = null;
    for (const part of splitStatements(stripComment(raw))) {
      if (part.trim() !== '') {
        const rule = new Parser(tokenize(part, line, offset), line).rule();
        // An `on <pattern>:` prefix applies to the rules after it on the same line.
        if (rule.pattern === null) rule.pattern = linePattern;
        else linePattern = rule.pattern;
        rules.push(rule);
      }
      offset += part.length + 1;
    }
  });
  return { rules };
}

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#') return line.slice(0, i);
  }
  return line;
}

function splitStatements(line: string): string[] {
  const parts: string[] = [];
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ';') {
      parts.push(line.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(line.slice(start));
  return parts;
}

function matches(pattern: string[] | null, ref: TableRef): boolean {
  if (pattern === null) return true;
  const full = ref.schema === undefined ? [ref.database, ref.table] : [ref.database, ref.schema, ref.table];
  const tail = full.slice(full.length - Math.min(pattern.length, full.length));
  if (pattern.length > full.length) return false;
  return pattern.every((p, i) => p === '*' || p === tail[i]);
}

function toNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = Number(String(v));
  return Number.isNaN(n) ? null : n;
}

function toText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : String(v);
}

function isLongIntText(v: unknown): boolean {
  return typeof v === 'string' && /^-?\d{16,}$/.test(v);
}

function asBigInt(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return null;
}

function arith(op: string, a: unknown, b: unknown): unknown {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  const wide = typeof a === 'bigint' || typeof b === 'bigint' || isLongIntText(a) || isLongIntText(b);
  const x0 = wide ? asBigInt(a) : null;
  const y0 = wide ? asBigInt(b) : null;
  if (x0 !== null && y0 !== null) {
    // integers beyond 2^53 (int8, numeric ids) stay exact
    const a = x0;
    const b = y0;
    switch (op) {
      case '+':
        return a + b;
      case '-':
        return a - b;
      case '*':
        return a * b;
      case '/':
        if (b === 0n) throw new EtlEvaluationError('division by zero');
        return a / b;
      default:
        if (b === 0n) throw new EtlEvaluationError('division by zero (%)');
        return a % b;
    }
  }
  const x = toNumber(a);
  const y = toNumber(b);
  if (x === null || y === null) return null;
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      if (y === 0) throw new EtlEvaluationError('division by zero');
      return x / y;
    default:
      if (y === 0) throw new EtlEvaluationError('division by zero (%)');
      return x % y;
  }
}

/**
 * An expression that cannot be evaluated for a row (as SQL raises an error, never a silent null):
 * the ETL operator fails the task naming the table, the row's position and the rule's line.
 */
export class EtlEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EtlEvaluationError';
  }
}

function compare(op: string, a: unknown, b: unknown): boolean | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  let c: number;
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    c = a < b ? -1 : a > b ? 1 : 0;
  } else if (typeof a === 'number' || typeof b === 'number') {
    const x = toNumber(a);
    const y = toNumber(b);
    if (x === null || y === null) return null;
    c = x < y ? -1 : x > y ? 1 : 0;
  } else {
    const x = String(a);
    const y = String(b);
    c = x < y ? -1 : x > y ? 1 : 0;
  }
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

/** Evaluates an expression against a row (SQL-like: null in, null out; unknown columns are null). */
export function evaluateEtl(e: EtlExpr, row: Row): unknown {
  switch (e.kind) {
    case 'lit':
      return e.value;
    case 'col':
      return Object.prototype.hasOwnProperty.call(row, e.name) ? row[e.name] : null;
    case 'unary': {
      const v = evaluateEtl(e.arg, row);
      if (e.op === 'not') return v === null || v === undefined ? null : !v;
      if (typeof v === 'bigint') return -v;
      const n = toNumber(v);
      return n === null ? null : -n;
    }
    case 'isnull': {
      const v = evaluateEtl(e.arg, row);
      const isNull = v === null || v === undefined;
      return e.negate ? !isNull : isNull;
    }
    case 'binary': {
      if (e.op === 'and') {
        const l = evaluateEtl(e.left, row);
        if (l === false) return false;
        const r = evaluateEtl(e.right, row);
        if (r === false) return false;
        return l === null || r === null || l === undefined || r === undefined ? null : Boolean(l) && Boolean(r);
      }
      if (e.op === 'or') {
        const l = evaluateEtl(e.left, row);
        if (l === true) return true;
        const r = evaluateEtl(e.right, row);
        if (r === true) return true;
        return l === null || r === null || l === undefined || r === undefined ? null : Boolean(l) || Boolean(r);
      }
      const l = evaluateEtl(e.left, row);
      const r = evaluateEtl(e.right, row);
      if (e.op === '||') {
        const a = toText(l);
        const b = toText(r);
        return a === null || b === null ? null : a + b;
      }
      if (['+', '-', '*', '/', '%'].includes(e.op)) return arith(e.op, l, r);
      return compare(e.op, l, r);
    }
    case 'call': {
      const args = e.args.map((a) => evaluateEtl(a, row));
      const a0 = args[0];
      switch (e.fn) {
        case 'upper':
          return toText(a0)?.toUpperCase() ?? null;
        case 'lower':
          return toText(a0)?.toLowerCase() ?? null;
        case 'trim':
          return toText(a0)?.trim() ?? null;
        case 'length':
          return toText(a0)?.length ?? null;
        case 'concat':
          return args.map((a) => toText(a) ?? '').join('');
        case 'coalesce':
          return args.find((a) => a !== null && a !== undefined) ?? null;
        case 'substr': {
          const s = toText(a0);
          const start = toNumber(args[1]);
          if (s === null || start === null) return null;
          const len = args.length > 2 ? toNumber(args[2]) : null;
          const from = Math.max(0, start - 1);
          return len === null ? s.slice(from) : s.slice(from, from + Math.max(0, len));
        }
        case 'abs': {
          if (typeof a0 === 'bigint') return a0 < 0n ? -a0 : a0;
          const n = toNumber(a0);
          return n === null ? null : Math.abs(n);
        }
        case 'round': {
          const n = toNumber(a0);
          const digits = args.length > 1 ? (toNumber(args[1]) ?? 0) : 0;
          if (n === null) return null;
          const f = 10 ** digits;
          return Math.round(n * f) / f;
        }
        case 'to_string':
          return toText(a0);
        default:
          return toNumber(a0);
      }
    }
  }
}

/**
 * Applies a program to one row image of a table. Returns the new row (the input is not modified),
 * or null when a `keep when` rule filtered the row out.
 */
export function applyEtl(program: EtlProgram, ref: TableRef, row: Row): Row | null {
  let current: Row = row;
  let copied = false;
  for (const rule of program.rules) {
    try {
      current = applyRule(rule, ref, current, copied);
    } catch (err) {
      if (err instanceof EtlEvaluationError) throw new EtlEvaluationError(`${err.message} in the ETL rule on line ${rule.line}`);
      throw err;
    }
    if (current === DROPPED) return null;
    copied = current !== row;
  }
  return current;
}

const DROPPED: Row = Object.freeze({}) as Row;

/** One rule on one row; DROPPED when a `keep when` is not true. */
function applyRule(rule: EtlRule, ref: TableRef, current: Row, copied: boolean): Row {
  if (!matches(rule.pattern, ref)) return current;
  if (rule.action === 'keep') return evaluateEtl(rule.expr, current) === true ? current : DROPPED;
  const next = copied ? current : { ...current };
  if (rule.action === 'set') next[rule.column] = evaluateEtl(rule.expr, next);
  else delete next[rule.column];
  return next;
}

/**
 * Turns a compiled program into an event function for the ETL operator: `set`/`drop` rewrite the
 * row images (`before` and `after`); `keep when` decides on `after` (on `before` for deletes) and
 * drops the event when false. Heartbeats and DDL pass untouched; MongoDB `patch` updates are not
 * rewritten.
 */
export function etlProgramToFunction(program: EtlProgram): (event: ChangeEvent) => ChangeEvent | null {
  return (event) => {
    if (event.op === 'heartbeat' || event.op === 'ddl' || event.op === 'truncate') return event;
    const ref = event.shape.ref;
    const image = event.op === 'delete' ? event.before : event.after;
    if (image === null || image === undefined) return event;
    const main = applyEtl(program, ref, image);
    if (main === null) return null;
    const out: ChangeEvent = { ...event };
    if (event.op === 'delete') out.before = main;
    else {
      out.after = main;
      if (event.before !== null && event.before !== undefined) {
        const keepless: EtlProgram = { rules: program.rules.filter((r) => r.action !== 'keep') };
        out.before = applyEtl(keepless, ref, event.before);
      }
    }
    return out;
  };
}
