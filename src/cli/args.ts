/**
 * The command line: each command declares its positionals and flags, and one parser reads
 * `--flag`, `--key value`, `--key=value` and `-h` against that declaration. Whatever the
 * declaration does not name is an error, never silently ignored.
 */

export interface FlagSpec {
  /** The name without its dashes: `http` for `--http`. */
  name: string;
  /** What the value is called in help (`port`, `ids`); absent for a flag that takes no value. */
  value?: string;
  /** The only values accepted, when the set is closed. */
  choices?: readonly string[];
  help: string;
}

export interface PositionalSpec {
  name: string;
  optional?: boolean;
}

export interface CommandSpec {
  name: string;
  positionals: readonly PositionalSpec[];
  /** One line for the command list. */
  summary: string;
  /** More lines for the command's own help. */
  details?: string;
  flags: readonly FlagSpec[];
}

export interface Args {
  command: string;
  positionals: string[];
  flags: Map<string, string | true>;
  /** Every problem found; the caller reports them unless --help was given. */
  errors: string[];
}

/** Every command takes this one. */
export const HELP_FLAG: FlagSpec = { name: 'help', help: 'show this help and do nothing else' };

function flagsOf(spec: CommandSpec): FlagSpec[] {
  return [...spec.flags, HELP_FLAG];
}

function flagLabel(f: FlagSpec): string {
  const name = f.name === 'help' ? '-h, --help' : `--${f.name}`;
  return f.value ? `${name} <${f.value}>` : name;
}

export function synopsis(spec: CommandSpec): string {
  const pos = spec.positionals.map((p) => (p.optional ? `[${p.name}]` : `<${p.name}>`));
  return [spec.name, ...pos].join(' ');
}

/** The command's help: usage line, description, and every flag with its help. */
export function commandHelp(spec: CommandSpec): string {
  const flags = flagsOf(spec);
  const width = Math.max(...flags.map((f) => flagLabel(f).length));
  const lines = [`usage: tributary ${synopsis(spec)}${spec.flags.length > 0 ? ' [options]' : ''}`, '', spec.summary];
  if (spec.details) lines.push('', spec.details);
  lines.push('', 'options:');
  for (const f of flags) {
    const choices = f.choices ? `; one of ${f.choices.join(', ')}` : '';
    lines.push(`  ${flagLabel(f).padEnd(width)}  ${f.help}${choices}`);
  }
  return lines.join('\n');
}

/** Reads `argv` (the words after the command) against the command's declaration. */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): Args {
  const known = flagsOf(spec);
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  const errors: string[] = [];
  const valid = () => known.map((f) => `--${f.name}`).join(', ');
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '-h') {
      flags.set('help', true);
      continue;
    }
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const written = eq > 0 ? word.slice(0, eq) : word;
    const f = written.startsWith('--') ? known.find((k) => k.name === written.slice(2)) : undefined;
    if (!f) {
      errors.push(`unknown option '${written}' for '${spec.name}'; its options are ${valid()}`);
      continue;
    }
    if (!f.value) {
      if (eq > 0) errors.push(`${written} takes no value`);
      flags.set(f.name, true);
      continue;
    }
    let value: string;
    if (eq > 0) value = word.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        errors.push(`${written} needs a value: ${flagLabel(f)}`);
        continue;
      }
      value = next;
      i++;
    }
    if (f.choices && !f.choices.includes(value)) {
      errors.push(`${written} must be one of ${f.choices.join(', ')}; got '${value}'`);
      continue;
    }
    flags.set(f.name, value);
  }
  const required = spec.positionals.filter((p) => !p.optional).length;
  if (positionals.length < required) {
    const missing = spec.positionals.slice(positionals.length).filter((p) => !p.optional);
    errors.push(`'${spec.name}' needs ${missing.map((p) => `<${p.name}>`).join(' ')}: tributary ${synopsis(spec)}`);
  }
  for (const extra of positionals.slice(spec.positionals.length)) errors.push(`unexpected argument '${extra}': tributary ${synopsis(spec)}`);
  return { command: spec.name, positionals, flags, errors };
}

export function flag(args: Args, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}
