/**
 * Task config loaders: YAML or JSON text, `${ENV}` / `${ENV:-default}` interpolation, validation
 * against the one schema. Every problem is reported at once as one ConfigError; no message ever
 * contains a secret value.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { ConfigIssue } from '../core/errors.js';
import { collectSecrets, isSecretKey, redactText } from './redact.js';
import { shippedSchemas } from './shipped.js';
import type { TaskSchemas } from './compose.js';
import type { TaskConfig } from './schema.js';

export type ConfigFormat = 'yaml' | 'json';

export interface ParseOptions {
  /** `yaml` (default; JSON is valid YAML too) or `json`. */
  format?: ConfigFormat;
  /** Variables for `${NAME}` interpolation. Default: `process.env`. */
  env?: Record<string, string | undefined>;
  /** Name of the config in error messages (a file path). */
  source?: string;
  /**
   * `${NAME}` placeholders: `'env'` (default) replaces them from `env`. `'refuse'` never reads the
   * environment: every string holding `${` is reported as an issue (by path, without its value).
   * Interpolation is for files the operator owns; a config that arrives over the network (the
   * management API) must use `'refuse'`, or a caller could read the server's environment back.
   */
  interpolation?: 'env' | 'refuse';
  /** The task schema to validate with (a registry's `taskSchemas().task`). Default: the shipped plug-ins'. */
  schema?: TaskSchemas['task'];
}

/** Formats a path as `destination.kafka.compression` / `objects[2].filter`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Environment interpolation
// ---------------------------------------------------------------------------------------------

const PLACEHOLDER = /\$\$\{|\$\{([^}]*)\}?/g;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value (not in keys). `$${` writes a
 * literal `${`. `:-` uses the default when the variable is unset or empty. A missing variable
 * without a default becomes an issue naming the variable and the path.
 */
export function interpolateEnv(value: unknown, env: Record<string, string | undefined>, issues: ConfigIssue[], path: PropertyKey[] = []): unknown {
  if (typeof value === 'string') return interpolateString(value, env, issues, path);
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, issues, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = interpolateEnv(v, env, issues, [...path, k]);
    return out;
  }
  return value;
}

/**
 * Reports every string value holding `${` (the start of a placeholder, or of the `$${` escape) as an
 * issue, without reading any environment and without repeating the value. Keys are not looked at
 * (they are never interpolated).
 */
export function refusePlaceholders(value: unknown, issues: ConfigIssue[], source = 'this config', path: PropertyKey[] = []): void {
  if (typeof value === 'string') {
    if (value.includes('${')) {
      issues.push({
        path: formatPath(path),
        message: `contains "\${": \${ENV} interpolation is not available for ${source} (it is only for task files the operator loads)`,
        fix: 'Send the value itself: resolve your own variables before sending the config, or load the task from a file with `tributary run task.yaml`.',
      });
    }
  } else if (Array.isArray(value)) value.forEach((v, i) => refusePlaceholders(v, issues, source, [...path, i]));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) refusePlaceholders(v, issues, source, [...path, k]);
  }
}

function interpolateString(text: string, env: Record<string, string | undefined>, issues: ConfigIssue[], path: PropertyKey[]): string {
  if (!text.includes('${')) return text;
  return text.replace(PLACEHOLDER, (match: string, body: string | undefined) => {
    if (match === '$${') return '${';
    const where = formatPath(path);
    if (!match.endsWith('}') || body === undefined) {
      issues.push({ path: where, message: 'has an unterminated "${" placeholder', fix: 'Close it with "}", or write "$${" for a literal "${".' });
      return match;
    }
    const sep = body.indexOf(':-');
    const name = sep === -1 ? body : body.slice(0, sep);
    const fallback = sep === -1 ? undefined : body.slice(sep + 2);
    if (!VAR_NAME.test(name)) {
      issues.push({ path: where, message: `"\${${name}}" is not a valid environment variable reference`, fix: 'Use ${NAME} or ${NAME:-default} with letters, digits and "_"; write "$${" for a literal "${".' });
      return match;
    }
    const v = env[name];
    if (fallback !== undefined) return v === undefined || v === '' ? fallback : v;
    if (v === undefined) {
      issues.push({ path: where, message: `environment variable ${name} is not set`, fix: `Set ${name} in the environment, or give a default: \${${name}:-value}.` });
      return '';
    }
    return v;
  });
}

// ---------------------------------------------------------------------------------------------
// Parsing text
// ---------------------------------------------------------------------------------------------

/** Finds secret-looking values in raw text before it could be parsed (`password: x`, `"token": "x"`). */
function secretsInText(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/["']?([A-Za-z_]+)["']?\s*:\s*["']?([^"'\s,}#][^"',}\n]*?)["']?\s*(?:[,}#\n]|$)/g)) {
    if (m[1] !== undefined && m[2] !== undefined && isSecretKey(m[1])) out.push(m[2].trim());
  }
  return [...out, ...collectSecrets(text)];
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lines = before.split('\n');
  return { line: lines.length, col: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

/**
 * Older JSON.parse messages carry no position: scan the text with a small JSON grammar and
 * return where the first mistake is.
 */
function locateJsonError(text: string): { line: number; col: number } | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    } else if (c === '"') str();
    else {
      const m = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
      if (m === null) fail();
      else i += m[0].length;
    }
  };
  const str = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (at) {
    return typeof at === 'number' ? lineCol(text, at) : undefined;
  }
  return undefined;
}

function parseText(text: string, format: ConfigFormat, issues: ConfigIssue[]): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const pos = /position (\d+)/.exec(msg);
      const loc = /line (\d+) column (\d+)/.exec(msg);
      const at = loc ? { line: Number(loc[1]), col: Number(loc[2]) } : pos ? lineCol(text, Number(pos[1])) : locateJsonError(text);
      const reason = msg.replace(/\s*(in JSON )?at position \d+.*$/s, '').replace(/^(.*?)(, ".*)$/s, '$1');
      issues.push({
        path: '',
        message: `JSON syntax error${at ? ` at line ${at.line}, column ${at.col}` : ''}: ${reason}`,
        fix: 'Fix the JSON syntax at that location (check commas, quotes and brackets).',
      });
      return undefined;
    }
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = err.linePos?.[0] ?? lineCol(text, err.pos[0]);
      const reason = (err.message.split('\n')[0] ?? err.message).replace(/\s*at line \d+, column \d+:?\s*$/, '');
      issues.push({
        path: '',
        message: `YAML syntax error at line ${pos.line}, column ${pos.col}: ${reason}`,
        fix: err.code === 'DUPLICATE_KEY' ? 'Remove the repeated key.' : 'Fix the YAML syntax at that location (check indentation, colons and quotes).',
      });
    }
    return undefined;
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

/** zod does not keep the input in issues (good: no secrets); a missing value reads "received undefined". */
function isMissing(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
}

function fixFor(issue: z.core.$ZodIssue): string | undefined {
  const params = (issue as { params?: { fix?: unknown } }).params;
  if (typeof params?.fix === 'string') return params.fix;
  switch (issue.code) {
    case 'invalid_value':
      return `Use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`;
    case 'invalid_union': {
      const u = issue as { discriminator?: string; options?: unknown[] };
      if (u.options !== undefined) return `Set ${u.discriminator ?? 'the type'} to one of: ${u.options.map((o) => JSON.stringify(o)).join(', ')}.`;
      return undefined;
    }
    case 'unrecognized_keys':
      return 'Remove the key(s) or check the spelling; see the configuration reference (tributary validate --print).';
    case 'too_small':
      if (issue.origin === 'array') return `Give at least ${String(issue.minimum)} item(s).`;
      if (issue.origin === 'string') return 'Give a non-empty value.';
      return `Use a value ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}.`;
    case 'too_big':
      if (issue.origin === 'array') return `Give at most ${String(issue.maximum)} item(s).`;
      return `Use a value ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}.`;
    case 'invalid_type':
      return isMissing(issue) ? `Add this required ${issue.expected} option.` : `Give a ${issue.expected}.`;
    case 'invalid_format':
      if (issue.path[0] === 'name') return 'Use lowercase letters, digits, "-" and "_", for example "orders-to-kafka".';
      return issue.format === 'regex' ? 'Change the value to the required form.' : `Give a valid ${issue.format}.`;
    default:
      return undefined;
  }
}

function messageFor(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && isMissing(issue)) return `is required (expected ${issue.expected})`;
  if (issue.code === 'unrecognized_keys') return `unknown option${issue.keys.length === 1 ? '' : 's'}: ${issue.keys.join(', ')}`;
  const m = issue.message;
  return /^[A-Z][a-z]/.test(m) ? m.charAt(0).toLowerCase() + m.slice(1) : m;
}

/** Turns zod issues into config issues (dotted paths, fixes), scrubbed of secret values. */
export function toConfigIssues(issues: readonly z.core.$ZodIssue[], secrets: readonly string[] = []): ConfigIssue[] {
  return issues.map((i) => {
    const fix = fixFor(i);
    const out: ConfigIssue = { path: formatPath(i.path), message: redactText(messageFor(i), secrets) };
    if (fix !== undefined) out.fix = redactText(fix, secrets);
    return out;
  });
}

/**
 * Validates an already-parsed config object (the embedded API) and fills defaults. Strings may
 * still contain `${ENV}` placeholders. Throws one ConfigError listing every problem.
 */
export function validateTaskConfig(input: unknown, options: Omit<ParseOptions, 'format'> = {}): TaskConfig {
  const issues: ConfigIssue[] = [];
  let interpolated: unknown = input;
  if (options.interpolation === 'refuse') refusePlaceholders(input, issues, options.source);
  else interpolated = interpolateEnv(input, options.env ?? process.env, issues);
  const secrets = collectSecrets(interpolated);
  const result = (options.schema ?? shippedSchemas().task).safeParse(interpolated);
  if (!result.success) issues.push(...toConfigIssues(result.error.issues, secrets));
  if (issues.length > 0) throw new ConfigError(issues.map((i) => scrub(i, secrets)), options.source);
  return (result as { data: TaskConfig }).data;
}

function scrub(i: ConfigIssue, secrets: readonly string[]): ConfigIssue {
  const out: ConfigIssue = { path: i.path, message: redactText(i.message, secrets) };
  if (i.fix !== undefined) out.fix = redactText(i.fix, secrets);
  return out;
}

/**
 * Parses YAML or JSON task text, interpolates the environment (unless `interpolation: 'refuse'`)
 * and validates it.
 */
export function parseTaskConfig(text: string, options: ParseOptions = {}): TaskConfig {
  const issues: ConfigIssue[] = [];
  const raw = parseText(text, options.format ?? 'yaml', issues);
  if (issues.length > 0) {
    const secrets = secretsInText(text);
    throw new ConfigError(issues.map((i) => scrub(i, secrets)), options.source);
  }
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ path: '', message: 'the task config must be a mapping of options', fix: 'Start the file with `name:`, `source:`, `destination:` and `objects:`.' }], options.source);
  }
  return validateTaskConfig(raw, options);
}

/** Detects the format from a file name: `.json` is JSON, anything else YAML. */
export function formatOf(path: string): ConfigFormat {
  return extname(path).toLowerCase() === '.json' ? 'json' : 'yaml';
}

/**
 * Reads, interpolates and validates a task file (`.yaml`, `.yml` or `.json`). Throws a
 * `ConfigError` listing every problem with its path and fix.
 *
 * @example
 * ```ts
 * const runtime = createRuntime();
 * const task = runtime.add(await loadTaskConfig('orders.yaml')); // ${PGPASSWORD} etc. from process.env
 * task.start();
 * ```
 */
export async function loadTaskConfig(path: string, options: Omit<ParseOptions, 'source'> = {}): Promise<TaskConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new ConfigError(
      [{ path: '(file)', message: `cannot read ${path}${typeof code === 'string' ? ` (${code})` : ''}`, fix: 'Check the path and its permissions.' }],
      path,
    );
  }
  return parseTaskConfig(text, { format: options.format ?? formatOf(path), env: options.env ?? process.env, source: path });
}
