import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FAULTS } from './config.js';

const FIXTURE = fileURLToPath(new URL('./fixture/run-task.ts', import.meta.url));

export interface TaskError {
  code: string;
  kind: string;
  message: string;
  fix?: string;
}

/** One line the fixture printed (see faults/fixture/run-task.ts). */
export interface StatusLine {
  kind: 'state' | 'tick';
  t: number;
  pid: number;
  state: string;
  healthy: boolean;
  events: number;
  snapshotRows: number;
  latencyMs: number | null;
  position: string | null;
  retry: { cause: string; deadline: number; attempts: number } | null;
  error: TaskError | null;
  failedChecks: Array<{ id: string; status: string; detail?: string; fix?: string }>;
}

export interface ChildOptions {
  confirmMs?: number;
  retryConnectionMs?: number;
  retryOtherMs?: number;
}

const ENDED = new Set(['failed', 'precheckFailed', 'invalid', 'stopped', 'completed', 'released']);

/** A runtime running one task in a child process (node --import tsx), so it can be SIGKILLed or SIGSTOPped. */
export class RuntimeChild {
  readonly proc: ChildProcess;
  readonly lines: StatusLine[] = [];
  private stderrTail: string[] = [];
  /** stderr lines that are not the runtime's JSON log (a crash's stack trace), first 200. */
  readonly crashText: string[] = [];
  readonly startedAt = Date.now();
  /** The signal the harness sent (an exit after it is expected). */
  signalled: NodeJS.Signals | null = null;
  exit: { code: number | null; signal: string | null; at: number } | null = null;

  constructor(
    readonly label: string,
    config: unknown,
    opts: ChildOptions = {},
  ) {
    const env: NodeJS.ProcessEnv = { ...process.env, TRIBUTARY_CONFIRM_MS: String(opts.confirmMs ?? 1000) };
    if (opts.retryConnectionMs !== undefined) env.TRIBUTARY_FAULTS_RETRY_CONNECTION_MS = String(opts.retryConnectionMs);
    if (opts.retryOtherMs !== undefined) env.TRIBUTARY_FAULTS_RETRY_OTHER_MS = String(opts.retryOtherMs);
    this.proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(config)], { cwd: FAULTS.root, stdio: ['ignore', 'pipe', 'pipe'], env });
    let buf = '';
    this.proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.lines.push(JSON.parse(text) as StatusLine);
        } catch {
          /* not a status line */
        }
      }
    });
    this.proc.once('exit', (code, signal) => (this.exit = { code, signal, at: Date.now() }));
    let ebuf = '';
    this.proc.stderr?.on('data', (d: Buffer) => {
      ebuf += d.toString();
      const parts = ebuf.split('\n');
      ebuf = parts.pop() ?? '';
      const kept = parts.filter((p) => p.trim() !== '');
      this.stderrTail.push(...kept);
      for (const p of kept) if (!p.startsWith('{') && this.crashText.length < 200) this.crashText.push(p);
      if (this.stderrTail.length > 400) this.stderrTail = this.stderrTail.slice(-300);
    });
  }

  /** The process ended without the harness asking (SIGKILL, SIGTERM): a crash. */
  get crashed(): boolean {
    return this.exit !== null && (this.signalled === null || this.signalled === 'SIGSTOP' || this.signalled === 'SIGCONT');
  }

  /** What the crash said: the error line of the stack trace printed, with the exit code. */
  crashSummary(): string {
    // Node prints the thrown error right after the source line and its caret.
    const caret = this.crashText.findIndex((l) => l.trim() === '^');
    const err = (caret >= 0 ? this.crashText[caret + 1] : undefined) ?? this.crashText.find((l) => /error\b.*:/i.test(l) && !l.startsWith('    at ')) ?? '';
    return `the runtime process exited (${this.exit?.signal ?? `code ${this.exit?.code}`})${err ? `: ${err.trim()}` : ''}`;
  }

  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  get last(): StatusLine | undefined {
    return this.lines.at(-1);
  }

  /** The runtime's last log lines (JSON), for evidence. */
  logTail(n = 40): string[] {
    return this.stderrTail.slice(-n);
  }

  /** Distinct consecutive states reported. */
  states(): string[] {
    const out: string[] = [];
    for (const l of this.lines) if (out.at(-1) !== l.state) out.push(l.state);
    return out;
  }

  /** Every error reported, in order, without repeats. */
  errors(): TaskError[] {
    const seen = new Set<string>();
    const out: TaskError[] = [];
    for (const l of this.lines) {
      if (!l.error) continue;
      const k = `${l.error.code} ${l.error.message}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(l.error);
    }
    return out;
  }

  /** Polls until `pred` holds for a line (returns it), the process exits, or the time is up (null). */
  async waitFor(pred: (l: StatusLine) => boolean, timeoutMs: number, from = 0): Promise<StatusLine | null> {
    const end = Date.now() + timeoutMs;
    let i = from;
    while (Date.now() < end) {
      for (; i < this.lines.length; i++) {
        const l = this.lines[i];
        if (l && pred(l)) return l;
      }
      if (this.exited) return null;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  }

  /** Waits for `state` (or any state ending the task, returned instead). */
  async waitForState(state: string, timeoutMs: number): Promise<StatusLine | null> {
    return this.waitFor((l) => l.state === state || ENDED.has(l.state), timeoutMs);
  }

  /** Sends `signal`; resolves when the process is gone (for SIGSTOP/SIGCONT right away). */
  signal(signal: NodeJS.Signals, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve) => {
      if (this.exited) return resolve();
      this.signalled = signal;
      this.proc.kill(signal);
      if (signal === 'SIGSTOP' || signal === 'SIGCONT') return resolve();
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
      }, timeoutMs);
      this.proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Graceful stop (SIGTERM: confirm and checkpoint), SIGKILL after 30 s. */
  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }
}
