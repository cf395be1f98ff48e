/**
 * A machine as a config that XState reads back: `createMachine(machineConfigJson())` builds the same
 * states and transitions. Functions cannot travel as JSON, so actions, guards, actors and delays
 * become named references (`'beginRetry'`, `{ type: 'phaseEnabled', params: { phase: 'full' } }`,
 * `{ type: 'and', params: { guards: [...] } }`); params computed from the event are left out.
 */
import type { AnyStateMachine, StateValue } from 'xstate';
import { taskMachine } from '../../../machines/index.js';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The parts of XState's (v5) normalized state nodes read here. */
export interface TransitionLike {
  eventType: string;
  target?: readonly { id: string }[] | undefined;
  guard?: unknown;
  actions?: readonly unknown[];
  reenter?: boolean;
  delay?: unknown;
  description?: string;
}

export interface StateNodeLike {
  id: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  parent?: StateNodeLike | undefined;
  config: { initial?: unknown; history?: unknown; context?: unknown; description?: string };
  description?: string;
  states: Record<string, StateNodeLike>;
  tags: readonly string[];
  entry: readonly unknown[];
  exit: readonly unknown[];
  on: Record<string, readonly TransitionLike[]>;
  after: readonly TransitionLike[];
  always?: readonly TransitionLike[] | undefined;
  invoke: readonly { id: string; src: unknown }[];
}

export const rootOf = (machine: AnyStateMachine): StateNodeLike => machine.root as unknown as StateNodeLike;

/** A value as JSON, or undefined when it holds a function (or anything JSON cannot carry). */
export function plainJson(value: unknown): Json | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value)) {
    const out: Json[] = [];
    for (const v of value) {
      const j = plainJson(v);
      if (j === undefined) return undefined;
      out.push(j);
    }
    return out;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const j = plainJson(v);
      if (j === undefined) return undefined;
      out[k] = j;
    }
    return out;
  }
  return undefined;
}

type FnRef = ((...args: never[]) => unknown) & { type?: unknown; guards?: readonly unknown[] };

/**
 * An action or guard as a named reference: a name stays a name, `{ type, params }` keeps static
 * params only, `and`/`or`/`not` keep their operands, any other function is referred to by its name.
 */
export function namedRef(ref: unknown): Json {
  if (typeof ref === 'string') return ref;
  if (typeof ref === 'function') {
    const fn = ref as FnRef;
    if (Array.isArray(fn.guards)) return { type: fn.name || 'guard', params: { guards: fn.guards.map(namedRef) } };
    if (typeof fn.type === 'string' && fn.type !== '') return fn.type;
    return fn.name || 'anonymous';
  }
  if (typeof ref === 'object' && ref !== null && typeof (ref as { type?: unknown }).type === 'string') {
    const { type, params } = ref as { type: string; params?: unknown };
    const p = plainJson(params);
    return p === undefined || p === null ? type : { type, params: p };
  }
  return 'anonymous';
}

function transitionJson(t: TransitionLike): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  const targets = (t.target ?? []).map((n) => `#${n.id}`);
  if (targets.length === 1) out.target = targets[0] as string;
  else if (targets.length > 1) out.target = targets;
  if (t.guard !== undefined) out.guard = namedRef(t.guard);
  if (t.actions && t.actions.length > 0) out.actions = t.actions.map(namedRef);
  if (t.reenter === true) out.reenter = true;
  if (typeof t.description === 'string') out.description = t.description;
  return out;
}

const transitionsJson = (ts: readonly TransitionLike[]): Json => {
  const list = ts.map(transitionJson);
  return list.length === 1 ? (list[0] as Json) : list;
};

function defaultId(node: StateNodeLike): string {
  return node.parent ? `${node.parent.id}.${node.key}` : node.key;
}

function delayName(t: TransitionLike): string {
  if (typeof t.delay === 'string' || typeof t.delay === 'number') return String(t.delay);
  // xstate.after.<delay>.<state id>
  const m = /^xstate\.after\.([^.]+)\./.exec(t.eventType);
  return m?.[1] ?? 'delay';
}

function nodeJson(node: StateNodeLike): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (!node.parent || node.id !== defaultId(node)) out.id = node.id;
  if (node.type === 'parallel' || node.type === 'final' || node.type === 'history') out.type = node.type;
  if (node.type === 'history' && typeof node.config.history === 'string') out.history = node.config.history;
  if (typeof node.config.initial === 'string') out.initial = node.config.initial;
  const description = node.description ?? node.config.description;
  if (typeof description === 'string') out.description = description;
  if (node.tags.length > 0) out.tags = [...node.tags];
  // XState adds a raise (entry) and a cancel (exit) for each delayed transition: `after` says it.
  const delayed = new Set(node.after.map((t) => t.eventType));
  const own = (a: unknown) => {
    const f = a as { type?: unknown; id?: unknown; sendId?: unknown };
    return !(typeof a === 'function' && ((f.type === 'xstate.raise' && delayed.has(f.id as string)) || (f.type === 'xstate.cancel' && delayed.has(f.sendId as string))));
  };
  const entry = node.entry.filter(own);
  const exit = node.exit.filter(own);
  if (entry.length > 0) out.entry = entry.map(namedRef);
  if (exit.length > 0) out.exit = exit.map(namedRef);

  const on = { ...node.on };
  if (node.invoke.length > 0) {
    out.invoke = node.invoke.map((inv) => {
      const def: { [key: string]: Json } = { id: inv.id, src: typeof inv.src === 'string' ? inv.src : inv.id };
      for (const [key, prefix] of [
        ['onDone', 'xstate.done.actor.'],
        ['onError', 'xstate.error.actor.'],
        ['onSnapshot', 'xstate.snapshot.'],
      ] as const) {
        const ts = on[`${prefix}${inv.id}`];
        if (ts) {
          def[key] = transitionsJson(ts);
          delete on[`${prefix}${inv.id}`];
        }
      }
      return def;
    });
  }
  const done = on[`xstate.done.state.${node.id}`];
  if (done) {
    out.onDone = transitionsJson(done);
    delete on[`xstate.done.state.${node.id}`];
  }
  if (node.after.length > 0) {
    const after: { [delay: string]: TransitionLike[] } = {};
    for (const t of node.after) {
      (after[delayName(t)] ??= []).push(t);
      delete on[t.eventType];
    }
    out.after = Object.fromEntries(Object.entries(after).map(([d, ts]) => [d, transitionsJson(ts)]));
  }
  if (node.always && node.always.length > 0) out.always = transitionsJson(node.always);
  const events = Object.entries(on);
  if (events.length > 0) out.on = Object.fromEntries(events.map(([e, ts]) => [e, transitionsJson(ts)]));
  const children = Object.entries(node.states);
  if (children.length > 0) out.states = Object.fromEntries(children.map(([k, child]) => [k, nodeJson(child)]));
  return out;
}

/** The machine's default context (its context function called with an empty input), when it is JSON. */
function defaultContext(machine: AnyStateMachine): Json | undefined {
  const ctx = (machine.config as { context?: unknown }).context;
  if (typeof ctx !== 'function') return plainJson(ctx);
  try {
    return plainJson((ctx as (args: { input: unknown }) => unknown)({ input: {} }));
  } catch {
    return undefined;
  }
}

/**
 * The machine (by default the task machine) as a config XState can load again:
 * `createMachine(machineConfigJson())` has the same state ids, events, targets and named guards,
 * actions, actors and delays. What `tributary inspect` prints; paste it into a visualizer.
 */
export function machineConfigJson(machine: AnyStateMachine = taskMachine): { [key: string]: Json } {
  const root = rootOf(machine);
  const out: { [key: string]: Json } = { id: root.id };
  const context = defaultContext(machine);
  if (context !== undefined) out.context = context;
  const rest = nodeJson(root);
  delete rest.id;
  return { ...out, ...rest };
}

/** A live task for `inspect`: its machine config and where it is. */
export interface InspectDocument {
  /** `createMachine(doc.machine)` */
  machine: { [key: string]: Json };
  /** `createMachine(doc.machine).resolveState(doc.state)` restores the current state. */
  state: { value: Json; context: Json };
  /** The state as text, e.g. `retrying.waiting`. */
  text?: string;
}

/**
 * What `tributary inspect` prints for a live task: the machine config plus its current state, in
 * the form XState loads (`createMachine(doc.machine).resolveState(doc.state)`).
 */
export function inspectDocument(current: { value: StateValue | Json; context: unknown; text?: string }, machine: AnyStateMachine = taskMachine): InspectDocument {
  return {
    machine: machineConfigJson(machine),
    state: { value: plainJson(current.value) ?? null, context: plainJson(JSON.parse(JSON.stringify(current.context ?? null)) as unknown) ?? null },
    ...(current.text !== undefined ? { text: current.text } : {}),
  };
}
