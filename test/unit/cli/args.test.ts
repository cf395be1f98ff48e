import { describe, expect, it } from 'vitest';
import type { Invocation } from '../../../src/cli/args.js';
import { parseTributaryArgs } from '../../../src/cli/main.js';

/** The command line as `tributary` reads it, in process: what it returns and what it printed. */
function parse(...argv: string[]): { invocation?: Invocation; exit?: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const r = parseTributaryArgs(
    argv,
    (s) => (stdout += s),
    (s) => (stderr += s),
  );
  return { ...r, stdout, stderr };
}

describe('the command line (commander)', () => {
  it('reads arguments and options into values: --key value, --key=value, negated and numeric options', () => {
    expect(parse('run', 'task.yaml', '--http', '8470', '--log-level=debug', '--no-progress', '--ignore', 'a,b')).toMatchObject({
      invocation: { command: 'run', positionals: ['task.yaml'], options: { http: '8470', logLevel: 'debug', progress: false, ignore: 'a,b' } },
    });
    expect(parse('throttle', 'orders', '--fullRps', '1500', '--incrementalMBps=2.5', '--fullQps', '0').invocation?.options).toMatchObject({ fullRps: 1500, incrementalMBps: 2.5, fullQps: 0 });
    expect(parse('inspect').invocation).toEqual({ command: 'inspect', positionals: [], options: { progress: true } });
    expect(parse('demo', '--pg-port', '5432').invocation?.options).toEqual({ pgPort: '5432' });
  });

  it('--help or -h prints the command help and nothing else, even beside a bad option, a bad value or in a value position', () => {
    const plain = parse('offsets', '--help');
    expect(plain.exit).toBe(0);
    expect(plain.stdout.startsWith('usage: tributary offsets <task.yaml> [options]')).toBe(true);
    for (const argv of [
      ['offsets', 't.yaml', '--set', '0/1', '--reset', '-h'],
      ['offsets', 't.yaml', '--set', '-h'],
      ['offsets', '--bogus', '--help'],
      ['offsets', '--url'], // missing value: an error...
    ]) {
      const r = parse(...argv);
      if (argv.includes('-h') || argv.includes('--help')) expect({ argv, exit: r.exit, stdout: r.stdout, stderr: r.stderr }).toEqual({ argv, exit: 0, stdout: plain.stdout, stderr: '' });
      else expect(r.exit).toBe(64);
    }
    expect(parse('precheck', 'x', '--log-level', 'verbose', '-h').exit).toBe(0);
    // `help <command>` is the same text; after `--`, -h is an argument.
    expect(parse('help', 'offsets').stdout).toBe(plain.stdout);
    expect(parse('validate', '--', '-h').invocation?.positionals).toEqual(['-h']);
  });

  it('the command list: no command prints it with exit 64, --help / help with exit 0', () => {
    const none = parse();
    expect(none.exit).toBe(64);
    expect(none.stdout).toMatch(/^ {2}throttle <task> +change the limits/m);
    expect(parse('--help')).toMatchObject({ exit: 0, stdout: none.stdout });
    expect(parse('help')).toMatchObject({ exit: 0, stdout: none.stdout });
  });

  it('every mistake is a usage error (64) naming what is wrong, on stderr, with where to read the usage', () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /^unknown command 'frobnicate'/],
      [['help', 'frobnicate'], /^unknown command 'frobnicate'/],
      [['validate', 'x', '--bogus'], /^unknown option '--bogus' for 'validate'; its options are --print, --json, --help/],
      [['validate', 'x', '--prnt'], /^unknown option '--prnt' for 'validate'.*\(Did you mean --print\?\)/],
      [['validate', 'x', '-p'], /^unknown option '-p' for 'validate'/],
      [['precheck', 'x', '--log-level', 'verbose'], /'--log-level <level>' argument 'verbose' is invalid\. Allowed choices are debug, info, warn, error, silent/],
      [['offsets', 'x', '--set', '0/1', '--reset'], /option '--set <position>' cannot be used with option '--reset'/],
      [['throttle', 't', '--fullRps', '1e400'], /'--fullRps <n>' argument '1e400' is invalid\. It must be a finite non-negative number/],
      [['throttle', 't', '--incrementalRps', '-5'], /'--incrementalRps <n>' argument '-5' is invalid/],
      [['throttle', 't', '--fullMBps', 'fast'], /'--fullMBps <n>' argument 'fast' is invalid/],
      [['run', 'x', '--http', '99999'], /'--http <port>' argument '99999' is invalid\. It must be a port number/],
      [['status', '--url'], /option '--url <url>' argument missing/],
      [['validate'], /missing required argument 'task\.yaml'/],
      [['validate', 'a.yaml', 'b.yaml'], /too many arguments for 'validate'/],
      [['docs', '--json'], /^unknown option '--json' for 'docs'/],
    ];
    for (const [argv, says] of cases) {
      const r = parse(...argv);
      expect({ argv, exit: r.exit, stdout: r.stdout }).toEqual({ argv, exit: 64, stdout: '' });
      expect(r.stderr).toMatch(says);
      if (argv[0] !== 'frobnicate' && argv[0] !== 'help') expect(r.stderr).toContain(`(tributary ${argv[0]} --help shows its usage)`);
    }
  });
});
