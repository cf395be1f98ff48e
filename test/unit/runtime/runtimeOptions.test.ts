import { EMPTY } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { TaskConfigInput } from '../../../src/config/schema.js';
import type { Logger, Sink, Source } from '../../../src/core/contracts.js';
import { FatalError } from '../../../src/core/errors.js';
import type { Alert } from '../../../src/observe/alerts.js';
import { createRuntime } from '../../../src/runtime/createRuntime.js';
import { defaultRegistry } from '../../../src/runtime/defaults.js';
import { MemoryStore } from './memoryStore.js';

function pgTask(name: string, extra: Record<string, unknown> = {}, source: Record<string, unknown> = {}): TaskConfigInput {
  return {
    name,
    source: { type: 'postgres', host: 'db.example', port: 5432, user: 'u', database: 'shop', ...source },
    destination: { kafka: { brokers: ['k1'], topic: 't', format: 'canal-json' } },
    objects: [{ schema: 'public', table: 'orders' }],
    ...extra,
  } as unknown as TaskConfigInput;
}

/** A source whose full sync fails at once with a fatal error; a sink that accepts everything. */
function failingRegistry() {
  const source: Source = {
    kind: 'postgres',
    precheck: () => Promise.resolve([]),
    prepare: () => Promise.reject(new FatalError('BROKEN_SOURCE', 'the source is broken for this test', { fix: 'none' })),
    snapshot: () => EMPTY,
    stream: () => EMPTY,
    confirm: () => Promise.resolve(),
    decodePosition: () => {
      throw new Error('not used');
    },
    close: () => Promise.resolve(),
    release: () => Promise.resolve(),
  };
  const sink: Sink = { kind: 'kafka', capabilities: { maxInFlightWrites: 1, transactional: false }, precheck: () => Promise.resolve([]), write: () => Promise.resolve(), close: () => Promise.resolve() };
  return defaultRegistry()
    .registerSource('postgres', () => source)
    .registerSink('kafka', () => sink);
}

function recordingLogger(): { logger: Logger; lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields: fields ?? {} });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

describe('createRuntime: monitoring, environment and labels for every task', () => {
  it('raises the failure alert of monitoring.alertOnFailure for a task added through the library, logged with environment and labels', async () => {
    const { logger, lines } = recordingLogger();
    const alerts: Array<{ alert: Alert; taskId: string }> = [];
    const runtime = createRuntime({ registry: failingRegistry(), checkpoints: new MemoryStore(), logger, alerts: { onAlert: (alert, taskId) => alerts.push({ alert, taskId }), checkIntervalMs: 50 } });
    const task = runtime.add(pgTask('lib-task', { environment: 'prod', labels: { team: 'payments' } }));
    task.start();
    await task.waitFor((s) => s.state === 'failed', 10_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(alerts.map((a) => [a.taskId, a.alert.kind])).toEqual([['lib-task', 'failure']]);
    const alertLine = lines.find((l) => l.msg.startsWith('alert: '));
    expect(alertLine?.fields).toMatchObject({ task: 'lib-task', kind: 'failure', environment: 'prod', labels: { team: 'payments' } });
    await runtime.shutdown();
  });

  it('monitoring.alertOnFailure: false raises none', async () => {
    const alerts: Alert[] = [];
    const runtime = createRuntime({ registry: failingRegistry(), checkpoints: new MemoryStore(), alerts: { onAlert: (a) => alerts.push(a), checkIntervalMs: 50 } });
    const task = runtime.add(pgTask('quiet-task', { monitoring: { alertOnFailure: false } }));
    task.start();
    await task.waitFor((s) => s.state === 'failed', 10_000);
    await new Promise((r) => setTimeout(r, 150));
    expect(alerts).toEqual([]);
    await runtime.shutdown();
  });

  it('a task without environment or labels logs neither field', async () => {
    const { logger, lines } = recordingLogger();
    const runtime = createRuntime({ registry: failingRegistry(), checkpoints: new MemoryStore(), logger, alerts: { checkIntervalMs: 50 } });
    const task = runtime.add(pgTask('plain-task'));
    task.start();
    await task.waitFor((s) => s.state === 'failed', 10_000);
    await new Promise((r) => setTimeout(r, 100));
    const line = lines.find((l) => l.msg.startsWith('alert: '));
    expect(line?.fields.task).toBe('plain-task');
    expect(line?.fields).not.toHaveProperty('environment');
    expect(line?.fields).not.toHaveProperty('labels');
    await runtime.shutdown();
  });
});

describe('createRuntime: the shortest retry window among tasks sharing a source endpoint', () => {
  it('is set on every task of the endpoint, and follows tasks being added and removed', async () => {
    const runtime = createRuntime({ checkpoints: new MemoryStore(), alerts: false });
    const a = runtime.add(pgTask('a', { retry: { connectionMinutes: 60 } }));
    expect(a.sharedWindowMinutes).toBeNull();
    const b = runtime.add(pgTask('b', { retry: { connectionMinutes: 30 } }, { host: 'db.example', port: 5432 }));
    const other = runtime.add(pgTask('c', { retry: { connectionMinutes: 20 } }, { database: 'billing' }));
    const viaUri = runtime.add(pgTask('d', { retry: { connectionMinutes: 45 } }, { host: undefined, uri: 'postgres://u:pw@db.example:5432/shop' }));
    expect([a.sharedWindowMinutes, b.sharedWindowMinutes, viaUri.sharedWindowMinutes]).toEqual([30, 30, 30]);
    expect(other.sharedWindowMinutes).toBeNull();
    // The machine's retry episodes use it: the effective window is the shorter one.
    expect(a.machineSnapshot.context.settings.sharedWindowMinutes).toBe(30);
    await runtime.remove('b');
    expect([a.sharedWindowMinutes, viaUri.sharedWindowMinutes]).toEqual([45, 45]);
    await runtime.remove('d');
    expect(a.sharedWindowMinutes).toBeNull();
    await runtime.shutdown();
  });
});
