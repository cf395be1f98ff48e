import type { Subscription } from 'rxjs';
import type { Logger } from '../core/contracts.js';
import { redactText } from '../config/redact.js';
import type { TaskRunner, TaskStatus } from '../runtime/task.js';

/** One alert, as logged, passed to `onAlert` and POSTed as JSON to the webhook. */
export interface Alert {
  /** The task's name. */
  task: string;
  /** `latency`: over the threshold; `recovered`: back under it; `failure`: the task failed. */
  kind: 'latency' | 'failure' | 'recovered';
  /** One line for people, e.g. `task orders is 42.0 s behind its source (threshold 30 s)`. */
  message: string;
  /** When it was raised, Unix ms. */
  at: number;
  /** The task's state, latency and last error then. */
  status: Pick<TaskStatus, 'state' | 'latencyMs' | 'lastError'>;
}

/** Options of {@link watchAlerts}; the task config's `monitoring` section has the same fields. */
export interface AlertOptions {
  /** Alert when incremental sync falls further behind than this; no latency alerts without it. */
  latencyThresholdSeconds?: number;
  /** Alert when the task fails (once per failure). */
  alertOnFailure: boolean;
  /** Where each alert is POSTed as JSON; a failed POST is logged, not retried. */
  webhookUrl?: string;
  /** Every alert is logged here as a warning. */
  logger: Logger;
  /** Also called for every alert (tests, embedding). */
  onAlert?: (a: Alert) => void;
  /** How often latency is checked. */
  checkIntervalMs?: number;
}

/**
 * Raises an alert when latency crosses the threshold (once per crossing) and when the task fails;
 * delivers it to the log and, when set, POSTs it as JSON to the webhook. `stop()` ends the watch.
 *
 * @example
 * ```ts
 * import { createLogger, watchAlerts } from 'tributary';
 *
 * const alerts = watchAlerts(task, {
 *   latencyThresholdSeconds: 30,
 *   alertOnFailure: true,
 *   webhookUrl: 'https://hooks.example.com/tributary',
 *   logger: createLogger(),
 *   onAlert: (a) => console.log(a.kind, a.message),
 * });
 * // later
 * alerts.stop();
 * ```
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
  // The runtime watches every task: the check alone never keeps a process alive.
  timer.unref();
  return {
    stop() {
      sub.unsubscribe();
      clearInterval(timer);
    },
  };
}
