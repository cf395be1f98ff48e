import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/run-task.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface StatusLine {
  state: string;
  events: number;
  position: string | null;
  error: unknown;
}

/**
 * A Tributary runtime running one task in a child process (`node --import tsx`, the Node process
 * itself, so a SIGKILL kills exactly the runtime). Collects the status lines it prints.
 */
export class TaskProcess {
  readonly proc: ChildProcess;
  readonly lines: StatusLine[] = [];
  stderr = '';

  constructor(config: unknown, env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let buf = '';
    this.proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.lines.push(JSON.parse(line) as StatusLine);
        } catch {
          /* not a status line */
        }
      }
    });
    this.proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Resolves once the task reported `state`; throws when it failed or the process exited first. */
  async waitForState(state: string, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.lines.some((l) => l.state === state)) return;
      const bad = this.lines.find((l) => l.state === 'failed' || l.state === 'precheckFailed');
      if (bad) throw new Error(`child task ended in ${bad.state}: ${JSON.stringify(bad)}`);
      if (this.proc.exitCode !== null) throw new Error(`child exited ${this.proc.exitCode}: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`child did not reach ${state} within ${timeoutMs} ms; states ${this.lines.map((l) => l.state).join(',')}; stderr ${this.stderr}`);
  }

  /** Sends `signal` and resolves when the process is gone. */
  kill(signal: NodeJS.Signals): Promise<void> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) return resolve();
      this.proc.once('exit', () => resolve());
      this.proc.kill(signal);
    });
  }
}
