import type { Subscription } from 'rxjs';
import type { Logger } from '../core/contracts.js';
import { redactText } from '../config/redact.js';
import type { TaskRunner, TaskStatus } from '../runtime/task.js';

export interface Alert {
  task: string;
  kind: 'latency' | 'failure' | 'recovered';
  message: string;
  at: number;
  status: Pick<TaskStatus, 'state' | 'latencyMs' | 'lastError'>;
}

export interface AlertOptions {
  latencyThresholdSeconds?: number;
  alertOnFailure: boolean;
  webhookUrl?: string;
  logger: Logger;
  /** Also called for every alert (tests, embedding). */
  onAlert?: (a: Alert) => void;
  /** How often latency is checked. */
  checkIntervalMs?: number;
}

/**
 * Raises an alert when latency crosses the threshold (once per crossing) and when the task fails;
 * delivers it to the log and, when set, POSTs it as JSON to the webhook.
 */
export function watchAlerts(task: TaskRunner, opts: AlertOptions): { stop(): void } {
  let latencyAlerted = false;
  let failedAlerted = false;
  const deliver = (a: Alert) => {
    opts.logger.warn(`alert: ${a.message}`, { task: a.task, kind: a.kind });
    opts.onAlert?.(a);
    if (opts.webhookUrl) {
      const url = opts.webhookUrl;
      void fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(a) }).catch((err: unknown) =>
        opts.logger.warn('alert webhook failed', { url: redactText(url, [new URL(url).search]), error: (err as Error).message }),
      );
    }
  };
  const check = (s: TaskStatus) => {
    const snapshot = { state: s.state, latencyMs: s.latencyMs, lastError: s.lastError };
    if (opts.alertOnFailure && s.state === 'failed' && !failedAlerted) {
      failedAlerted = true;
      deliver({ task: s.taskId, kind: 'failure', message: `task ${s.taskId} failed: ${s.lastError?.message ?? 'unknown error'}`, at: Date.now(), status: snapshot });
    }
    if (s.state !== 'failed') failedAlerted = false;
    const limit = opts.latencyThresholdSeconds;
    if (limit !== undefined && s.latencyMs !== null && s.state === 'incremental') {
      if (s.latencyMs > limit * 1000 && !latencyAlerted) {
        latencyAlerted = true;
        deliver({ task: s.taskId, kind: 'latency', message: `task ${s.taskId} is ${(s.latencyMs / 1000).toFixed(1)} s behind its source (threshold ${limit} s)`, at: Date.now(), status: snapshot });
      } else if (s.latencyMs <= limit * 1000 && latencyAlerted) {
        latencyAlerted = false;
        deliver({ task: s.taskId, kind: 'recovered', message: `task ${s.taskId} latency back under ${limit} s`, at: Date.now(), status: snapshot });
      }
    }
  };
  const sub: Subscription = task.status$.subscribe(check);
  const timer = setInterval(() => check(task.status), opts.checkIntervalMs ?? 1000);
  return {
    stop() {
      sub.unsubscribe();
      clearInterval(timer);
    },
  };
}
