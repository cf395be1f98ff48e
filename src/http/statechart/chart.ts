/**
 * The data the state-chart page draws: the task machine's states and transitions as a graph (with
 * the full-sync machine nested in `full`, where it is invoked), and a task's current state.
 */
import type { AnyActorRef, AnyStateMachine, StateValue } from 'xstate';
import { fullSyncMachine, taskMachine } from '../../../machines/index.js';
import type { TaskStatus } from '../../runtime/task.js';
import { machineConfigJson, plainJson, rootOf, type Json, type StateNodeLike, type TransitionLike } from './machineConfig.js';
import { stateText } from './transitions.js';

/** A state (or an invoked machine) of the chart. */
export interface ChartNode {
  /** The state id (`task.retrying.waiting`, `fullSync.copying`); an invoked machine's id is its own (`fullSync`). */
  id: string;
  /** What the box shows as its name. */
  label: string;
  /** The enclosing state or invoked machine; null at the top. */
  parent: string | null;
  /** `atomic`, `compound`, `final`, `parallel`, `history`, or `machine` for an invoked machine. */
  type: string;
  /** The initial state of its parent. */
  initial: boolean;
  tags: string[];
  /** Actors it invokes while in it. */
  invokes: string[];
  /** Events it handles without leaving (actions only), e.g. `PROGRESS`. */
  internal: string[];
}

/** The transitions from one state to another, merged (one label line each). */
export interface ChartEdge {
  id: string;
  source: string;
  target: string;
  /** `EVENT [guard]` per transition, e.g. `error fullSync [isFatal]`, `after retryBackoff`, `always [retryExpired]`. */
  labels: string[];
  /** For an edge into a "return" pseudo-state: the states it may lead to (one of them, chosen by the guard). */
  via?: string[];
}

/**
 * Draws transitions that return to a state chosen by one guard (the task machine's `phaseIs`:
 * back into the phase it left) as one edge into a pseudo-state, instead of one edge per phase.
 */
export interface ReturnPseudoState {
  /** The guard type that picks the state (alone or inside `and`). */
  guard: string;
  /** The pseudo-state's id. */
  id: string;
  label: string;
  /** A line under the label. */
  note?: string;
}

export interface ChartGraph {
  /** The machine's id (`task`). */
  id: string;
  nodes: ChartNode[];
  edges: ChartEdge[];
  /** Transitions the machine takes from any state (its root's), as `EVENT → target` text. */
  global: string[];
}

/** A task's state as the page shows it. */
export interface ChartState {
  value: StateValue;
  /** The state as text, e.g. `retrying.waiting`. */
  text: string;
  /** Ids of every active state, of every region, outermost first (with an invoked machine's). */
  active: string[];
  /** The task machine's context (phase, progress and positions, retry episode, throttles, last error...). */
  context: Json;
  /** The runtime's view of the task (counters, latency, checkpointed position, health). */
  status: TaskStatus;
  /** When this was read, Unix ms. */
  at: number;
}

/** `GET /tasks/:id/chart`. */
export interface TaskChart {
  taskId: string;
  /** The layout-free graph the page lays out with ELK. */
  graph: ChartGraph;
  /** The machine config XState loads (`createMachine(chart.machine)`), as `tributary inspect` prints it. */
  machine: { [key: string]: Json };
  state: ChartState;
}

/** What {@link chartOf} reads of a task: a `TaskRunner` has it. */
export interface ChartSource {
  readonly id: string;
  readonly status: TaskStatus;
  readonly machineSnapshot: { value: StateValue; context: unknown; children: unknown };
}

// ---------------------------------------------------------------------------------------------

/** The short event name on an edge. */
export function eventLabel(eventType: string): string {
  if (eventType === '') return 'always';
  let m = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (m) return `done ${m[1]}`;
  m = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (m) return `error ${m[1]}`;
  m = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (m) return `after ${m[1]}`;
  if (eventType.startsWith('xstate.done.state.')) return 'done';
  return eventType;
}

function combinedGuardLabel(kind: string, operands: readonly unknown[]): string {
  const parts = operands.map(guardLabel);
  if (kind === 'not') return `¬${parts.join('')}`;
  return parts.join(kind === 'or' ? ' ∨ ' : ' ∧ ');
}

/** A guard as short text: `phaseEnabled(full)`, `autoRestartAllowed ∧ phaseIs(full)`, `¬hasUnignoredWarnings`. */
export function guardLabel(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const fn = guard as { name: string; guards?: readonly unknown[] };
    if (Array.isArray(fn.guards)) return combinedGuardLabel(fn.name, fn.guards);
    return fn.name || 'guard';
  }
  if (typeof guard === 'object' && guard !== null && typeof (guard as { type?: unknown }).type === 'string') {
    const { type, params } = guard as { type: string; params?: unknown };
    // The same guards read back from a config (`machineConfigJson`): { type: 'and', params: { guards } }.
    const operands = (params as { guards?: unknown } | undefined)?.guards;
    if ((type === 'and' || type === 'or' || type === 'not') && Array.isArray(operands)) {
      return combinedGuardLabel(type, operands);
    }
    const p = plainJson(params);
    if (p !== undefined && p !== null && typeof p === 'object' && !Array.isArray(p)) {
      const values = Object.values(p).map((v) => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v)));
      if (values.length > 0) return `${type}(${values.join(', ')})`;
    }
    return type;
  }
  return 'guard';
}

/** A guard's operands when it is `and(...)`, else the guard alone. */
function guardParts(guard: unknown): unknown[] {
  if (guard === undefined) return [];
  if (typeof guard === 'function' && (guard as { name: string }).name === 'and') return [...((guard as { guards?: readonly unknown[] }).guards ?? [])];
  return [guard];
}

function guardType(guard: unknown): string | undefined {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && typeof (guard as { type?: unknown }).type === 'string') return (guard as { type: string }).type;
  return undefined;
}

function transitionLabel(t: TransitionLike): string {
  return t.guard === undefined ? eventLabel(t.eventType) : `${eventLabel(t.eventType)} [${guardLabel(t.guard)}]`;
}

function allTransitions(node: StateNodeLike): TransitionLike[] {
  return [...Object.values(node.on).flat(), ...(node.always ?? [])];
}

/**
 * A machine as a graph: its states (every level), the transitions between them merged per pair of
 * states, and the machines named in `invoked` drawn inside the states that invoke them.
 */
export function chartGraph(
  machine: AnyStateMachine,
  options: { invoked?: Record<string, AnyStateMachine>; returns?: readonly ReturnPseudoState[] } = {},
): ChartGraph {
  const invoked = options.invoked ?? {};
  const nodes: ChartNode[] = [];
  const pseudo = new Map<string, { spec: ReturnPseudoState; targets: Set<string> }>();
  const edges = new Map<string, ChartEdge>();
  const global: string[] = [];

  const edgeTo = (source: string, target: string, label: string, via?: string) => {
    const key = `${source}->${target}`;
    const edge = edges.get(key) ?? { id: `e${edges.size}`, source, target, labels: [] };
    if (!edge.labels.includes(label)) edge.labels.push(label);
    if (via !== undefined && !(edge.via ??= []).includes(via)) edge.via.push(via);
    edges.set(key, edge);
  };

  /** The transition's guard without the return guard, when it has that guard. */
  const returnOf = (t: TransitionLike): { spec: ReturnPseudoState; rest: unknown[] } | null => {
    const parts = guardParts(t.guard);
    for (const spec of options.returns ?? []) {
      const i = parts.findIndex((g) => guardType(g) === spec.guard);
      if (i !== -1) return { spec, rest: parts.filter((_, j) => j !== i) };
    }
    return null;
  };

  const addEdges = (node: StateNodeLike) => {
    for (const t of allTransitions(node)) {
      const ret = (t.target ?? []).length === 1 ? returnOf(t) : null;
      for (const target of t.target ?? []) {
        if (ret) {
          const p = pseudo.get(ret.spec.id) ?? { spec: ret.spec, targets: new Set<string>() };
          p.targets.add(target.id);
          pseudo.set(ret.spec.id, p);
          const rest = ret.rest.map(guardLabel).join(' ∧ ');
          edgeTo(node.id, ret.spec.id, rest ? `${eventLabel(t.eventType)} [${rest}]` : eventLabel(t.eventType), target.id);
        } else edgeTo(node.id, target.id, transitionLabel(t));
      }
    }
  };

  const walk = (node: StateNodeLike, parent: string | null, initialKey: string | undefined, label?: string) => {
    const internal = [...new Set(allTransitions(node).filter((t) => (t.target ?? []).length === 0).map((t) => eventLabel(t.eventType)))];
    nodes.push({
      id: node.id,
      label: label ?? node.key,
      parent,
      type: label !== undefined ? 'machine' : node.type,
      initial: initialKey !== undefined && node.key === initialKey,
      tags: [...node.tags],
      invokes: node.invoke.map((i) => (typeof i.src === 'string' ? i.src : i.id)),
      internal,
    });
    addEdges(node);
    const initial = typeof node.config.initial === 'string' ? node.config.initial : undefined;
    for (const child of Object.values(node.states)) walk(child, node.id, initial);
    for (const inv of node.invoke) {
      const sub = invoked[typeof inv.src === 'string' ? inv.src : inv.id];
      if (sub) walkMachine(sub, node.id, `invoke ${inv.id}`);
    }
  };

  const walkMachine = (m: AnyStateMachine, parent: string, label: string) => {
    walk(rootOf(m), parent, undefined, label);
  };

  const root = rootOf(machine);
  // The root's own transitions apply in every state: listed, not drawn from every box.
  for (const t of allTransitions(root)) {
    const target = (t.target ?? []).map((n) => n.id.slice(root.id.length + 1)).join(', ');
    global.push(target ? `${transitionLabel(t)} → ${target}` : `${transitionLabel(t)} (stays)`);
  }
  const initial = typeof root.config.initial === 'string' ? root.config.initial : undefined;
  for (const child of Object.values(root.states)) walk(child, null, initial);
  for (const inv of root.invoke) {
    const sub = invoked[typeof inv.src === 'string' ? inv.src : inv.id];
    if (sub) walkMachine(sub, root.id, `invoke ${inv.id}`);
  }
  for (const { spec, targets } of pseudo.values()) {
    const names = [...targets].map((id) => id.slice(id.lastIndexOf('.') + 1));
    nodes.push({ id: spec.id, label: spec.label, parent: null, type: 'return', initial: false, tags: [], invokes: [], internal: [spec.note ?? `to ${names.join(' | ')}`] });
  }
  return { id: root.id, nodes, edges: [...edges.values()], global };
}

let taskGraph: ChartGraph | undefined;
let taskConfig: { [key: string]: Json } | undefined;

/** The task machine's graph, with the full-sync machine inside `full`. */
export function taskChartGraph(): ChartGraph {
  taskGraph ??= chartGraph(taskMachine, {
    invoked: { fullSync: fullSyncMachine },
    returns: [{ guard: 'phaseIs', id: 'task.(phase)', label: '↩ the phase it left' }],
  });
  return taskGraph;
}

/** Ids of the active states of a value under a machine (or region) id, outermost first. */
export function activeStateIds(prefix: string, value: StateValue): string[] {
  if (typeof value === 'string') return [`${prefix}.${value}`];
  const out: string[] = [];
  for (const [key, sub] of Object.entries(value)) {
    out.push(`${prefix}.${key}`);
    if (sub !== undefined) out.push(...activeStateIds(`${prefix}.${key}`, sub as StateValue));
  }
  return out;
}

function invokedMachineState(children: unknown, id: string): { value: StateValue; status: string } | null {
  const ref = (children as Record<string, AnyActorRef | undefined> | null)?.[id];
  if (!ref) return null;
  try {
    const snap = ref.getSnapshot() as { value?: StateValue; status?: string; machine?: unknown };
    return snap.value !== undefined && snap.machine !== undefined ? { value: snap.value, status: snap.status ?? 'active' } : null;
  } catch {
    return null;
  }
}

/** The current state of a task (what the page highlights and lists). */
export function chartState(task: ChartSource): ChartState {
  const snap = task.machineSnapshot;
  const active = activeStateIds(taskChartGraph().id, snap.value);
  const full = invokedMachineState(snap.children, 'fullSync');
  if (full?.status === 'active') active.push('fullSync', ...activeStateIds('fullSync', full.value));
  return {
    value: snap.value,
    text: stateText(snap.value),
    active,
    context: plainJson(JSON.parse(JSON.stringify(snap.context ?? null)) as unknown) ?? null,
    status: task.status,
    at: Date.now(),
  };
}

/**
 * `GET /tasks/:id/chart`: the task machine's graph (for the page to lay out), its XState config (as
 * `inspect` prints it), and the task's current state and context.
 */
export function chartOf(task: ChartSource): TaskChart {
  taskConfig ??= machineConfigJson(taskMachine);
  return { taskId: task.id, graph: taskChartGraph(), machine: taskConfig, state: chartState(task) };
}
