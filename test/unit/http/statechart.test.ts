import { createRequire } from 'node:module';
import type { ELK as ElkApi, ElkNode } from 'elkjs/lib/elk-api.js';
import { NEVER, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createActor, createMachine, fromObservable, fromPromise, type AnyStateMachine, type InspectionEvent } from 'xstate';
import { fullSyncMachine, taskMachine, taskMachineDefinition } from '../../../machines/index.js';
import {
  chartOf,
  createInspectionHub,
  formatTransition,
  inspectDocument,
  machineConfigJson,
  statechartPage,
  taskChartGraph,
  transitionPrinter,
  type ChartSource,
} from '../../../src/http/statechart/index.js';
import { guardLabel } from '../../../src/http/statechart/chart.js';
import { rootOf, type StateNodeLike } from '../../../src/http/statechart/machineConfig.js';
import type { TaskInspectionEvent } from '../../../src/runtime/createRuntime.js';
import type { TaskStatus } from '../../../src/runtime/task.js';

/** The same bundle the page loads (a UMD script: module.exports is the constructor). */
const ELK = createRequire(import.meta.url)('elkjs/lib/elk.bundled.js') as new () => ElkApi;
const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

/** Every state's transitions as comparable text: `state: EVENT -> #targets [guard]`. */
function shape(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  const walk = (node: StateNodeLike) => {
    const all = [...Object.values(node.on).flat(), ...(node.always ?? [])];
    for (const t of all) {
      out.push(`${node.id}: ${t.eventType || 'always'} -> ${(t.target ?? []).map((n) => n.id).join(',')} [${t.guard === undefined ? '' : guardLabel(t.guard)}]`);
    }
    out.push(`${node.id}: type ${node.type} initial ${String(node.config.initial)} tags ${node.tags.join(',')} invoke ${node.invoke.map((i) => `${i.id}=${String(i.src)}`).join(',')}`);
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(rootOf(machine));
  return out.sort();
}

function harness() {
  const machine = taskMachine.provide({
    actors: { precheck: fromPromise(async () => []), incrementalSync: fromObservable(() => NEVER) },
  });
  const events: InspectionEvent[] = [];
  const lines: string[] = [];
  const printer = transitionPrinter((l) => lines.push(l), { children: true });
  const actor = createActor(machine, {
    input: { taskId: 'orders', syncSchema: false, syncFull: false },
    inspect: (e) => {
      events.push(e);
      printer(e);
    },
  });
  return { actor, events, lines };
}

describe('machineConfigJson: the chart in a form XState loads', () => {
  for (const [name, machine] of [
    ['task', taskMachine],
    ['fullSync', fullSyncMachine],
  ] as const) {
    it(`${name}: createMachine(JSON) has the same states, events, targets, guards and actors`, () => {
      const json = JSON.stringify(machineConfigJson(machine));
      expect(json).not.toMatch(/function|=>/);
      const loaded = createMachine(JSON.parse(json) as Parameters<typeof createMachine>[0]);
      expect(shape(loaded)).toEqual(shape(machine));
    });
  }

  it('is much smaller than the machine definition that could not be loaded', () => {
    const json = JSON.stringify(machineConfigJson(), null, 2);
    expect(json.length).toBeLessThan(JSON.stringify(taskMachineDefinition(), null, 2).length / 2);
    const cfg = machineConfigJson() as { context?: { taskId?: string }; states: Record<string, { after?: unknown; entry?: unknown }> };
    expect(cfg.context?.taskId).toBe('task');
    expect(cfg.states.failed?.entry).toEqual(['markFailed']); // no generated raise/cancel for `after`
    expect(Object.keys(cfg.states.failed?.after as object)).toEqual(['autoRestartDelay']);
  });

  it('a loaded config runs with the named implementations', () => {
    const loaded = createMachine(JSON.parse(JSON.stringify(machineConfigJson())) as Parameters<typeof createMachine>[0]).provide({
      guards: { precheckHasFailures: () => false, hasUnignoredWarnings: () => false, phaseEnabled: () => true },
      actors: { precheck: fromPromise(async () => []), schemaSync: fromPromise(() => new Promise(() => {})) },
    });
    const actor = createActor(loaded).start();
    actor.send({ type: 'START' });
    return new Promise<void>((resolve) => {
      actor.subscribe((s) => {
        if (s.matches('schema')) resolve();
      });
    });
  });

  it('inspectDocument: the config plus the live state, restored by resolveState', () => {
    const { actor } = harness();
    actor.start();
    actor.send({ type: 'PAUSE' });
    const snap = actor.getSnapshot();
    const doc = JSON.parse(JSON.stringify(inspectDocument({ value: snap.value, context: snap.context, text: 'idle' }))) as ReturnType<typeof inspectDocument>;
    const restored = createMachine(doc.machine as Parameters<typeof createMachine>[0]).resolveState(doc.state as { value: string; context: Record<string, unknown> });
    expect(restored.value).toBe('idle');
    expect((restored.context as { taskId: string }).taskId).toBe('orders');
  });
});

describe('transitions', () => {
  it('formatTransition: time from -> to (event)', () => {
    expect(formatTransition('full', 'incremental', { type: 'xstate.done.actor.fullSync' }, Date.UTC(2024, 4, 1, 12, 0, 0, 5))).toBe(
      '2024-05-01T12:00:00.005Z full -> incremental (xstate.done.actor.fullSync)',
    );
    expect(formatTransition({ retrying: 'waiting' }, 'incremental', 'HEALTHY', new Date(0))).toBe('1970-01-01T00:00:00.000Z retrying.waiting -> incremental (HEALTHY)');
  });

  it('transitionPrinter prints each change of state of a live machine, not the events that leave it', async () => {
    const { actor, lines } = harness();
    actor.start();
    actor.send({ type: 'START' });
    await flush();
    actor.send({ type: 'PROGRESS', progress: { rowsDone: 1 } });
    actor.send({ type: 'PAUSE' });
    expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual([
      'idle -> prechecking (START)',
      'prechecking -> incremental (xstate.done.actor.precheck)',
      'incremental -> paused (PAUSE)',
    ]);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
  });
});

describe('chart data', () => {
  it('the graph has every state, the full-sync machine inside full, and lays out with ELK', async () => {
    const graph = taskChartGraph();
    const ids = graph.nodes.map((n) => n.id);
    for (const id of Object.keys(taskMachine.root.states)) expect(ids).toContain(`task.${id}`);
    for (const id of Object.keys(fullSyncMachine.root.states)) expect(ids).toContain(`fullSync.${id}`);
    expect(graph.nodes.find((n) => n.id === 'fullSync')?.parent).toBe('task.full');
    expect(graph.nodes.find((n) => n.id === 'task.retrying.waiting')).toMatchObject({ parent: 'task.retrying', initial: true });
    expect(graph.edges.find((e) => e.source === 'task.full' && e.target === 'task.incremental')?.labels).toEqual(['done fullSync [phaseEnabled(incremental)]']);
    // Returning to the phase it left is one edge into a pseudo-state, which knows where it may lead.
    const back = graph.edges.find((e) => e.source === 'task.paused');
    expect(back).toMatchObject({ target: 'task.(phase)', labels: ['RESUME'] });
    expect(back?.via).toEqual(['task.prechecking', 'task.schema', 'task.full', 'task.incremental']);
    expect(graph.edges.find((e) => e.source === 'task.failed' && e.target === 'task.(phase)')?.labels).toEqual(['START', 'after autoRestartDelay [autoRestartAllowed]']);
    expect(graph.global).toContain('STOP → stopped');

    const byParent = new Map<string, { id: string; width?: number; height?: number; children?: unknown[] }[]>();
    for (const n of graph.nodes) {
      const list = byParent.get(n.parent ?? '') ?? [];
      list.push({ id: n.id });
      byParent.set(n.parent ?? '', list);
    }
    const elkNode = (n: { id: string; width?: number; height?: number; children?: unknown[] }): object => {
      const kids = byParent.get(n.id) ?? [];
      return kids.length > 0 ? { id: n.id, children: kids.map(elkNode) } : { id: n.id, width: 80, height: 30 };
    };
    const laid = await new ELK().layout({
      id: 'root',
      layoutOptions: { 'elk.algorithm': 'layered', 'elk.hierarchyHandling': 'INCLUDE_CHILDREN' },
      children: (byParent.get('') ?? []).map(elkNode),
      edges: graph.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
    } as ElkNode);
    expect(laid.width).toBeGreaterThan(0);
    expect(laid.edges?.every((e) => ((e as { sections?: unknown[] }).sections?.length ?? 0) > 0)).toBe(true);
  });

  it('chartOf: the active state of every region, the context, and the loadable config', async () => {
    const { actor } = harness();
    actor.start();
    actor.send({ type: 'START' });
    await flush();
    const task: ChartSource = { id: 'orders', status: { taskId: 'orders' } as TaskStatus, machineSnapshot: actor.getSnapshot() };
    const chart = chartOf(task);
    expect(chart.state.text).toBe('incremental');
    expect(chart.state.active).toEqual(['task.incremental']);
    expect((chart.state.context as { phase: string }).phase).toBe('incremental');
    expect(chart.machine).toEqual(machineConfigJson());
    expect(() => JSON.stringify(chart)).not.toThrow();
  });
});

describe('inspection hub (server-sent events)', () => {
  it('streams the timeline, snapshots and transitions of one task to its subscribers', async () => {
    const { actor } = harness();
    const inspection$ = new Subject<TaskInspectionEvent>();
    const task: ChartSource = {
      id: 'orders',
      get status() {
        return { taskId: 'orders', state: String(actor.getSnapshot().value) } as TaskStatus;
      },
      get machineSnapshot() {
        return actor.getSnapshot();
      },
    };
    const runtime = {
      get: (id: string) => {
        if (id !== 'orders') throw Object.assign(new Error(`No task named '${id}'`), { code: 'UNKNOWN_TASK' });
        return task as never;
      },
      inspection$,
    };
    const hub = createInspectionHub(runtime, { minSnapshotGapMs: 0, snapshotIntervalMs: 60_000 });
    // Events reach the hub through runtime.inspection$.
    actor.system.inspect((event) => inspection$.next({ taskId: 'orders', event }));
    actor.start();
    actor.send({ type: 'START' });
    await flush();
    expect(hub.timeline('orders').map((t) => `${t.from}->${t.to}`)).toEqual(['idle->prechecking', 'prechecking->incremental']);

    const chunks: string[] = [];
    const stop = hub.subscribe('orders', (c) => chunks.push(c));
    const messages = () =>
      chunks
        .filter((c) => c.startsWith('event:'))
        .map((c) => ({ event: /^event: (\S+)/.exec(c)?.[1], data: JSON.parse(c.slice(c.indexOf('data: ') + 6)) as Record<string, unknown> }));
    expect(chunks[0]).toBe('retry: 2000\n\n');
    expect(messages().map((m) => m.event)).toEqual(['timeline', 'snapshot']);
    expect((messages()[1]?.data as { active: string[] }).active).toEqual(['task.incremental']);

    actor.send({ type: 'PAUSE' });
    await flush();
    const transition = messages().find((m) => m.event === 'transition');
    expect(transition?.data).toMatchObject({ taskId: 'orders', actor: '', from: 'incremental', to: 'paused', event: 'PAUSE' });
    expect(messages().at(-1)).toMatchObject({ event: 'snapshot', data: { text: 'paused', active: ['task.paused'] } });

    stop();
    const seen = chunks.length;
    actor.send({ type: 'RESUME' });
    await flush();
    expect(chunks.length).toBe(seen);
    expect(hub.timeline('orders').at(-1)).toMatchObject({ from: 'paused', to: 'incremental', event: 'RESUME' });
    expect(() => hub.subscribe('nope', () => {})).toThrow(/No task named/);
    hub.close();
    actor.stop();
  });
});

describe('statechartPage', () => {
  it('serves everything it loads itself: no address outside the page', () => {
    const page = statechartPage();
    expect(Object.keys(page.assets).sort()).toEqual(['elk.bundled.js', 'statechart.css', 'statechart.js']);
    const srcs = [...page.html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(srcs).toEqual(['/ui/assets/statechart.css', '/ui/assets/elk.bundled.js', '/ui/assets/statechart.js']);
    // The only URL in the page's own code is the SVG namespace (a name, never fetched).
    const ours = [page.html, page.assets['statechart.js']?.body, page.assets['statechart.css']?.body].join('\n');
    expect([...ours.matchAll(/\b(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s'"]*/gi)].map((m) => m[0])).toEqual(['http://www.w3.org/2000/svg']);
    expect(page.assets['elk.bundled.js']?.body).toContain('g.ELK = f()');
    expect(statechartPage({ base: '/api/' }).html).toContain('src="/api/ui/assets/statechart.js"');
  });

  it('its script parses', () => {
    const js = statechartPage().assets['statechart.js']?.body ?? '';
    expect(() => new Function(js)).not.toThrow();
  });
});
