/**
 * The command line, read by commander. Each command declares its arguments and options; commander
 * parses `--flag`, `--key value`, `--key=value` and `-h`, and checks choices, conflicting options,
 * missing values, missing and extra arguments and unknown options. This module lays out the help
 * (`usage: tributary <command> ...`, then the options) and turns every parse error into one usage
 * error (exit 64) that names what is wrong and how to see the command's usage. `--help` or `-h`
 * anywhere on the line prints the command's help and nothing else, whatever else is there.
 */
import { Command, CommanderError, type Help, type Option } from 'commander';

/** A parsed command line: which command, its arguments, its options. */
export interface Invocation {
  command: string;
  positionals: string[];
  /** Option values by commander's attribute name: `logLevel` for `--log-level`, `progress: false` for `--no-progress`. */
  options: Record<string, unknown>;
}

/** A string option's value. */
export function flag(inv: Invocation, name: string): string | undefined {
  const v = inv.options[name];
  return typeof v === 'string' ? v : undefined;
}

/** Whether a boolean option was given. */
export function has(inv: Invocation, name: string): boolean {
  return inv.options[name] === true;
}

export interface CommandSpec {
  name: string;
  /** In order: `<task.yaml>` (required) or `[task.yaml]` (optional). */
  arguments: readonly string[];
  /** One line for the command list. */
  summary: string;
  /** More lines for the command's own help. */
  details?: string;
  /** Its options (made fresh for each command: commander keeps state on them). */
  options: () => Option[];
}

export const HELP_FLAGS = '-h, --help';
const HELP_TEXT = 'show this help and do nothing else';

/** `run <task.yaml>`: the command with its arguments. */
export function synopsis(cmd: Command): string {
  return [cmd.name(), ...cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`))].join(' ');
}

function commandHelp(cmd: Command, helper: Help): string {
  const options = helper.visibleOptions(cmd);
  const terms = options.map((o) => helper.optionTerm(o));
  const width = Math.max(...terms.map((t) => t.length));
  const lines = [`usage: tributary ${synopsis(cmd)}${cmd.options.length > 0 ? ' [options]' : ''}`, '', cmd.summary()];
  const details = cmd.description();
  if (details && details !== cmd.summary()) lines.push('', details);
  lines.push('', 'options:');
  options.forEach((o, i) => lines.push(`  ${(terms[i] ?? '').padEnd(width)}  ${helper.optionDescription(o)}`));
  return `${lines.join('\n')}\n`;
}

/** The command list (`tributary --help`); `intro` comes first, `outro` last. */
function programHelp(program: Command, intro: string, outro: string): string {
  const width = Math.max(...program.commands.map((c) => synopsis(c).length));
  return [
    intro,
    '',
    'usage: tributary <command> [options]',
    "       tributary <command> --help     that command's options",
    '',
    'commands:',
    ...program.commands.map((c) => `  ${synopsis(c).padEnd(width)}  ${c.summary()}`),
    '',
    outro,
    '',
  ].join('\n');
}

/** The program: every command of `specs`, with Tributary's help layout and errors thrown, never printed. */
export function buildProgram(specs: readonly CommandSpec[], text: { intro: string; outro: string }): Command {
  const program = new Command('tributary')
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .helpOption(HELP_FLAGS, HELP_TEXT)
    .helpCommand('help [command]', "show a command's help")
    .configureHelp({ formatHelp: (cmd, helper) => (cmd.parent ? commandHelp(cmd, helper) : programHelp(cmd, text.intro, text.outro)) });
  for (const spec of specs) {
    // Subcommands made with .command() inherit the settings above (exitOverride, output, help).
    const cmd = program.command(spec.name).summary(spec.summary).description(spec.details ?? spec.summary).helpOption(HELP_FLAGS, HELP_TEXT);
    for (const a of spec.arguments) cmd.argument(a);
    for (const o of spec.options()) cmd.addOption(o);
  }
  return program;
}

export type Parsed = { invocation: Invocation } | { exit: number };

const USAGE_EXIT = 64;

/**
 * Reads `argv` (the words after `tributary`). Help is printed here (stdout, exit 0); a usage error
 * is written to `stderr` (exit 64); otherwise the invocation is returned for the caller to run.
 */
export function parseCommandLine(program: Command, argv: readonly string[], stdout: (s: string) => void, stderr: (s: string) => void): Parsed {
  const [name, ...rest] = argv;
  const find = (n: string | undefined) => program.commands.find((c) => c.name() === n);
  const unknownCommand = (n: string) => {
    stderr(`unknown command '${n}'\n\n${program.helpInformation()}`);
    return { exit: USAGE_EXIT };
  };
  if (name === undefined) {
    stdout(program.helpInformation());
    return { exit: USAGE_EXIT };
  }
  if (name === 'help' && rest[0] !== undefined && !find(rest[0])) return unknownCommand(rest[0]);
  const sub = find(name);
  // `--help` or `-h` anywhere before a `--`, even as what looks like another option's value or
  // beside a bad one: the command's help and nothing else.
  const words = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (sub && (words.includes('--help') || words.includes('-h'))) {
    stdout(sub.helpInformation());
    return { exit: 0 };
  }
  let invocation = null as Invocation | null;
  // Help that commander prints itself (`tributary --help`, `help <command>`) goes where ours goes.
  for (const c of [program, ...program.commands]) c.configureOutput({ writeOut: stdout, writeErr: stderr, outputError: () => undefined });
  for (const c of program.commands) {
    c.action((...received: unknown[]) => {
      const self = received[received.length - 1] as Command;
      invocation = { command: self.name(), positionals: self.processedArgs.filter((v): v is string => typeof v === 'string'), options: self.opts() };
    });
  }
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return { exit: err.exitCode };
    if (err.code === 'commander.unknownCommand') return unknownCommand(name);
    const message = err.message.replace(/^error: /, '');
    if (!sub) {
      stderr(`${message}\n\n${program.helpInformation()}`);
      return { exit: USAGE_EXIT };
    }
    const unknown = err.code === 'commander.unknownOption' ? /unknown option '([^']*)'/.exec(err.message)?.[1] : undefined;
    const valid = [...sub.options.map((o) => o.long ?? o.short ?? o.flags), '--help'].join(', ');
    const suggestion = /\(Did you mean [^)]*\)/.exec(err.message)?.[0];
    const line = unknown !== undefined ? `unknown option '${unknown}' for '${sub.name()}'; its options are ${valid}${suggestion ? ` ${suggestion}` : ''}` : message;
    stderr(`${line}\n(tributary ${sub.name()} --help shows its usage)\n`);
    return { exit: USAGE_EXIT };
  }
  if (invocation === null) return unknownCommand(name);
  return { invocation };
}
