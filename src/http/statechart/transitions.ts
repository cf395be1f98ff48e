/**
 * Transitions of task machines, read from XState inspection events: the state-chart page's timeline
 * and the lines `tributary inspect --live` prints (`time from -> to (event)`).
 */
import type { InspectionEvent, StateValue } from 'xstate';

/** One change of a machine's state. */
export interface TransitionRecord {
  /** When it was observed, Unix ms. */
  at: number;
  /** '' for the task machine itself, else the id of the invoked machine (e.g. `fullSync`). */
  actor: string;
  /** The state before, as text (`incremental`, `retrying.waiting`, `fullSync.copying`). */
  from: string;
  /** The state after, as text. */
  to: string;
  /** The event that caused it (`xstate.done.actor.fullSync`, `PAUSE`, ...). */
  event: string;
}

/** A state value as dotted text: `retrying.waiting`; parallel regions are joined with `, `. */
export function stateText(value: StateValue | string | null | undefined): string {
  if (value === null || value === undefined) return '(none)';
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, sub]) => {
      if (sub === undefined) return key;
      const inner = stateText(sub as StateValue);
      return inner.includes(', ') ? `${key}.{${inner}}` : `${key}.${inner}`;
    })
    .join(', ');
}

function eventType(event: string | { type: string } | null | undefined): string {
  if (event === null || event === undefined) return '?';
  return typeof event === 'string' ? event : event.type;
}

/**
 * One transition as a line: `2024-05-01T12:00:00.000Z full -> incremental (xstate.done.actor.fullSync)`.
 * `prev` and `next` are state values or their text; `at` is Unix ms or a Date.
 */
export function formatTransition(
  prev: StateValue | string | null | undefined,
  next: StateValue | string | null | undefined,
  event: string | { type: string } | null | undefined,
  at: number | Date,
): string {
  const time = new Date(typeof at === 'number' ? at : at.getTime()).toISOString();
  return `${time} ${stateText(prev)} -> ${stateText(next)} (${eventType(event)})`;
}

/** The same line for a recorded transition. */
export function formatTransitionRecord(t: TransitionRecord): string {
  return formatTransition(t.from, t.to, t.event, t.at);
}

interface MachineSnapshotLike {
  value: StateValue;
  machine: unknown;
}

function isMachineSnapshot(s: unknown): s is MachineSnapshotLike {
  return typeof s === 'object' && s !== null && 'value' in s && 'machine' in s;
}

/** What is read of an inspection event's actor. */
export interface ActorLike {
  id?: string;
  _parent?: ActorLike | undefined;
  getSnapshot(): unknown;
}

/** The id path of an actor below the root: '' for the root, `fullSync` for a machine it invoked. */
export function actorPath(ref: ActorLike): string {
  const ids: string[] = [];
  let at: ActorLike | undefined = ref;
  while (at?._parent) {
    ids.unshift(at.id ?? '?');
    at = at._parent;
  }
  return ids.join('/');
}

/**
 * Turns inspection events into transitions: calls `onTransition` whenever a machine actor's state
 * value changes (the task machine, and with `children` the machines it invoked, such as full sync).
 * The first snapshot seen of an actor is its starting point, not a transition.
 */
export function transitionTracker(
  onTransition: (t: TransitionRecord, event: InspectionEvent) => void,
  options: { children?: boolean; now?: () => number } = {},
): (event: InspectionEvent) => void {
  const last = new WeakMap<object, string>();
  const now = options.now ?? Date.now;
  return (event) => {
    if (event.type !== '@xstate.snapshot' || !isMachineSnapshot(event.snapshot)) return;
    const path = actorPath(event.actorRef as ActorLike);
    if (path !== '' && options.children !== true) return;
    const prefix = path === '' ? '' : `${path}.`;
    const to = `${prefix}${stateText(event.snapshot.value)}`;
    const from = last.get(event.actorRef);
    last.set(event.actorRef, to);
    if (from === undefined || from === to) return;
    onTransition({ at: now(), actor: path, from, to, event: eventType(event.event) }, event);
  };
}

/**
 * What `tributary inspect --live` needs: an inspection listener that writes one line per transition
 * of the task machine (`time from -> to (event)`), and with `children: true` of the machines it
 * invoked too (their states prefixed with the invoke id, e.g. `fullSync.planning`).
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ inspect: transitionPrinter((line) => process.stdout.write(`${line}\n`)) });
 * ```
 */
export function transitionPrinter(write: (line: string) => void, options: { children?: boolean } = {}): (event: InspectionEvent) => void {
  return transitionTracker((t) => write(formatTransitionRecord(t)), options);
}
