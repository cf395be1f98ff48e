/**
 * Generates the configuration reference from the schema itself: every option's path, type,
 * default and description come from the zod definitions and their `.describe()` texts.
 */
import type { z } from 'zod';
import { ETL_FUNCTIONS } from './etl.js';
import type { TaskSchemas } from './compose.js';
import { shippedSchemas } from './shipped.js';

export interface OptionDoc {
  /** Dotted path, `[]` for list items: `objects[].table`. */
  path: string;
  /** Readable type: `string`, `integer 10..1440`, `"lz4" | "gzip"`, `list of string`. */
  type: string;
  /** JSON of the default, when there is one. */
  default?: string;
  required: boolean;
  description: string;
  /** For options of one variant of a union (`source.type = postgres`). */
  variant?: string;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
  out?: z.ZodType;
  values?: unknown[];
  entries?: Record<string, unknown>;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
}

function defOf(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

interface Unwrapped {
  core: z.ZodType;
  optional: boolean;
  default?: unknown;
  hasDefault: boolean;
  description?: string;
}

/** Peels optional/default/pipe wrappers, keeping the first description and the default. */
function unwrap(schema: z.ZodType): Unwrapped {
  let s = schema;
  const r: Unwrapped = { core: s, optional: false, hasDefault: false };
  for (;;) {
    if (r.description === undefined && s.description !== undefined) r.description = s.description;
    const d = defOf(s);
    if (d.type === 'optional' && d.innerType) {
      r.optional = true;
      s = d.innerType;
    } else if ((d.type === 'default' || d.type === 'prefault') && d.innerType) {
      r.hasDefault = true;
      r.default = d.defaultValue;
      s = d.innerType;
    } else if ((d.type === 'nullable' || d.type === 'readonly') && d.innerType) {
      s = d.innerType;
    } else if (d.type === 'pipe' && d.in && d.out) {
      // preprocess: (transform -> schema); transform after: (schema -> transform)
      s = defOf(d.in).type === 'transform' ? d.out : d.in;
    } else {
      r.core = s;
      return r;
    }
  }
}

function typeName(schema: z.ZodType): string {
  const u = unwrap(schema);
  const s = u.core;
  const d = defOf(s);
  switch (d.type) {
    case 'string': {
      const fmt = (s as unknown as { format?: string | null }).format;
      return fmt && fmt !== 'regex' ? fmt : 'string';
    }
    case 'number': {
      const n = s as unknown as { minValue: number | null; maxValue: number | null; isInt?: boolean; format?: string | null };
      const base = n.isInt === true || (n.format !== null && n.format !== undefined && n.format.includes('int')) ? 'integer' : 'number';
      const lo = n.minValue !== null && Number.isFinite(n.minValue) && Math.abs(n.minValue) < Number.MAX_SAFE_INTEGER ? n.minValue : null;
      const hi = n.maxValue !== null && Number.isFinite(n.maxValue) && Math.abs(n.maxValue) < Number.MAX_SAFE_INTEGER ? n.maxValue : null;
      // `positive()` is a minimum of 0 that 0 itself does not meet.
      const checks = (s as unknown as { _zod: { def: { checks?: Array<{ _zod: { def: { check?: string; value?: unknown; inclusive?: boolean } } }> } } })._zod.def.checks ?? [];
      const exclusiveLo = checks.some((c) => c._zod.def.check === 'greater_than' && c._zod.def.inclusive === false && c._zod.def.value === lo);
      if (lo !== null && hi !== null) return `${base} ${lo}..${hi}`;
      if (lo !== null) return `${base} ${exclusiveLo ? '>' : '>='} ${lo}`;
      if (hi !== null) return `${base} <= ${hi}`;
      return base;
    }
    case 'boolean':
      return 'boolean';
    case 'enum':
      return Object.values(d.entries ?? {})
        .map((v) => JSON.stringify(v))
        .join(' \\| ');
    case 'literal':
      return (d.values ?? []).map((v) => JSON.stringify(v)).join(' \\| ');
    case 'array':
      return d.element ? `list of ${typeName(d.element)}` : 'list';
    case 'record':
      return d.valueType ? `map of ${typeName(d.valueType)}` : 'map';
    case 'object':
      return 'object';
    case 'union':
      if ((d.options ?? []).every((o) => defOf(unwrap(o).core).type === 'object')) return 'object';
      return (d.options ?? []).map((o) => typeName(o)).join(' or ');
    default:
      return d.type;
  }
}

function discriminatorOf(obj: z.ZodType): { key: string; value: string } | undefined {
  const shape = defOf(unwrap(obj).core).shape ?? {};
  for (const [k, v] of Object.entries(shape)) {
    const d = defOf(unwrap(v).core);
    if (d.type === 'literal' && d.values?.length === 1) return { key: k, value: String(d.values[0]) };
  }
  return undefined;
}

function walk(schema: z.ZodType, path: string, out: OptionDoc[], variant: string | undefined): void {
  const u = unwrap(schema);
  const d = defOf(u.core);
  if (path !== '') {
    const row: OptionDoc = { path, type: typeName(schema), required: !u.optional && !u.hasDefault, description: u.description ?? '' };
    if (u.hasDefault && !(typeof u.default === 'object' && u.default !== null && d.type === 'object')) row.default = JSON.stringify(u.default);
    if (variant !== undefined) row.variant = variant;
    out.push(row);
  }
  if (d.type === 'object' && d.shape) {
    for (const [k, v] of Object.entries(d.shape)) walk(v, path === '' ? k : `${path}.${k}`, out, variant);
  } else if (d.type === 'array' && d.element && defOf(unwrap(d.element).core).type === 'object') {
    const shape = defOf(unwrap(d.element).core).shape ?? {};
    for (const [k, v] of Object.entries(shape)) walk(v, `${path}[].${k}`, out, variant);
  } else if (d.type === 'union' && d.options) {
    for (const opt of d.options) {
      const disc = discriminatorOf(opt);
      const shape = defOf(unwrap(opt).core).shape ?? {};
      for (const [k, v] of Object.entries(shape)) {
        walk(v, path === '' ? k : `${path}.${k}`, out, disc ? `${path}.${disc.key} = ${disc.value}` : variant);
      }
    }
  }
}

/** Every option of the task file, in schema order (default: the shipped plug-ins' task schema; a registry's `taskSchemas().file` for its own). */
export function describeOptions(schema: TaskSchemas['file'] = shippedSchemas().file): OptionDoc[] {
  const out: OptionDoc[] = [];
  walk(schema, '', out, undefined);
  return out;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The configuration reference as markdown: one table per top-level option. */
export function generateConfigDocs(schema: TaskSchemas['file'] = shippedSchemas().file): string {
  const rows = describeOptions(schema);
  const top = schema.shape;
  const lines: string[] = [
    '# Task configuration reference',
    '',
    'Generated from the task schema (`src/config/schema.ts` and each registered plug-in\'s `config.ts`). Files are YAML or JSON; string values may use',
    '`${NAME}` or `${NAME:-default}` to read environment variables (`$${` writes a literal `${`).',
    'Secrets (passwords, URI credentials) are masked in logs and error messages.',
    '',
  ];
  for (const key of Object.keys(top)) {
    const section = rows.filter((r) => r.path === key || r.path.startsWith(`${key}.`) || r.path.startsWith(`${key}[]`));
    const head = section.find((r) => r.path === key);
    lines.push(`## \`${key}\``, '');
    if (head?.description) lines.push(head.description, '');
    lines.push('| Option | Type | Default | Required | Description |', '| --- | --- | --- | --- | --- |');
    for (const r of section) {
      const desc = r.variant !== undefined ? `*(${r.variant})* ${r.description}` : r.description;
      lines.push(`| \`${r.path}\` | ${r.type.includes('\\|') ? r.type : cell(r.type)} | ${r.default !== undefined ? `\`${cell(r.default)}\`` : ''} | ${r.required ? 'yes' : ''} | ${cell(desc)} |`);
    }
    lines.push('');
  }
  lines.push(
    '## ETL language (`etl.expression`)',
    '',
    'One rule per line (or separated by `;`); `#` starts a comment. No JavaScript is evaluated.',
    '',
    '```',
    '[on <table pattern>:] set <column> = <expression>',
    '[on <table pattern>:] drop <column>',
    '[on <table pattern>:] keep when <expression>',
    '```',
    '',
    'A table pattern is `table`, `schema.table` or `database.schema.table` (`database.collection` for MongoDB); any part may be `*`.',
    'Expressions: literals, column names, `+ - * / %`, `||`, `= != <> < <= > >=`, `is [not] null`, `and`, `or`, `not`, parentheses,',
    `and the functions ${ETL_FUNCTIONS.map((f) => `\`${f}\``).join(', ')}.`,
    '',
    'The embedding API can also pass `etlFunction: (event) => event | null` in code.',
    '',
  );
  return lines.join('\n');
}
