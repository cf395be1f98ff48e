/** What every command prints with: its output (human or `--json`), usage errors, the log level. */
import type { LogLevel } from '../observe/logger.js';
import { flag, has, type Invocation } from './args.js';

/** A command line that parsed but cannot run (exit 64, the message on stderr). */
export class UsageError extends Error {}

/** One result: a line for people, or one JSON line with `--json`. */
export function out(args: Invocation, human: string, json: unknown): void {
  if (has(args, 'json')) process.stdout.write(`${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  else process.stdout.write(`${human}\n`);
}

/** `--log-level`, else the command's default. */
export function logLevel(args: Invocation, dflt: LogLevel): LogLevel {
  return (flag(args, 'logLevel') as LogLevel | undefined) ?? dflt;
}
