/**
 * Server-sent events of the task machines' inspection events: the state-chart page's live feed.
 *
 * A hub listens to a runtime's `inspection$` (or is fed with `hub.inspect(event)`), keeps each
 * task's recent transitions, and streams to every subscriber of a task, as SSE text:
 * - `event: timeline` — on connect, the recent transitions (oldest first);
 * - `event: snapshot` — on connect, after every change of the task's machines (at most every
 *   `minSnapshotGapMs`) and every `snapshotIntervalMs`: {@link ChartState};
 * - `event: transition` — each transition: {@link TransitionRecord} with `taskId`;
 * - `: keep-alive` comments every `keepAliveMs`.
 */
import type { Subscription } from 'rxjs';
import type { InspectionEvent } from 'xstate';
import type { Runtime } from '../../runtime/createRuntime.js';
import { chartState, type ChartSource } from './chart.js';
import { transitionTracker, type ActorLike, type TransitionRecord } from './transitions.js';

/** Response headers of an SSE stream (`GET /tasks/:id/events`). */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/** One server-sent event as text. */
export function sseMessage(event: string, data: unknown): string {
  const json = JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return `event: ${event}\ndata: ${json}\n\n`;
}

export interface InspectionHub {
  /**
   * Feeds one inspection event (what `createRuntime({ inspect })` receives). Not needed when the
   * hub was made from a runtime with `inspection$`: it listens there by itself.
   */
  inspect(event: InspectionEvent, taskId?: string): void;
  /**
   * Streams a task's live state to `send` (SSE text, to write as is after {@link SSE_HEADERS}),
   * starting with its timeline and current snapshot. Returns the function that stops it (call it
   * when the client disconnects). Throws the runtime's `UNKNOWN_TASK` error for an unknown task.
   */
  subscribe(taskId: string, send: (chunk: string) => void): () => void;
  /** The task's recent transitions, oldest first. */
  timeline(taskId: string): readonly TransitionRecord[];
  /** Stops listening and ends every stream's timers (subscribers are not called again). */
  close(): void;
}

export interface InspectionHubOptions {
  /** Transitions kept per task. Default 200. */
  timelineSize?: number;
  /** A snapshot is sent at least this often while someone listens (counters and latency move). Default 1000 ms. */
  snapshotIntervalMs?: number;
  /** Least gap between two snapshots caused by machine events. Default 100 ms. */
  minSnapshotGapMs?: number;
  /** SSE comment sent this often to keep proxies from closing the stream. Default 15000 ms. */
  keepAliveMs?: number;
}

type HubRuntime = Pick<Runtime, 'get'> & Partial<Pick<Runtime, 'inspection$'>>;

interface Listener {
  send: (chunk: string) => void;
  stop: () => void;
}

interface TaskFeed {
  timeline: TransitionRecord[];
  listeners: Set<Listener>;
  timer: ReturnType<typeof setInterval> | null;
  pending: ReturnType<typeof setTimeout> | null;
  lastSnapshotAt: number;
}

/** The task a machine's inspection event belongs to: the `taskId` in its root actor's context. */
function taskIdOf(ref: ActorLike): string | undefined {
  let root: ActorLike = ref;
  while (root._parent) root = root._parent;
  try {
    const ctx = (root.getSnapshot() as { context?: { taskId?: unknown } } | undefined)?.context;
    return typeof ctx?.taskId === 'string' ? ctx.taskId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes the SSE source of the state-chart page for a runtime: it listens to `runtime.inspection$`
 * and reads tasks' state with `runtime.get(id)`.
 *
 * @example
 * ```ts
 * const hub = createInspectionHub(runtime);
 * // GET /tasks/:id/events
 * res.writeHead(200, SSE_HEADERS);
 * const stop = hub.subscribe(id, (chunk) => res.write(chunk));
 * req.on('close', stop);
 * ```
 */
export function createInspectionHub(runtime: HubRuntime, options: InspectionHubOptions = {}): InspectionHub {
  const timelineSize = options.timelineSize ?? 200;
  const snapshotIntervalMs = options.snapshotIntervalMs ?? 1000;
  const minGap = options.minSnapshotGapMs ?? 100;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const feeds = new Map<string, TaskFeed>();
  const streams = new Set<() => void>();
  let closed = false;
  /** The task of the inspection event being handled. */
  let current: string | undefined;

  const feedOf = (taskId: string): TaskFeed => {
    let feed = feeds.get(taskId);
    if (!feed) {
      feed = { timeline: [], listeners: new Set(), timer: null, pending: null, lastSnapshotAt: 0 };
      feeds.set(taskId, feed);
    }
    return feed;
  };

  const deliver = (feed: TaskFeed, chunk: string) => {
    for (const l of [...feed.listeners]) {
      try {
        l.send(chunk);
      } catch {
        l.stop(); // the connection is gone
      }
    }
  };

  const snapshotOf = (taskId: string): string | null => {
    let task: ChartSource;
    try {
      task = runtime.get(taskId);
    } catch {
      return null; // removed
    }
    return sseMessage('snapshot', { taskId, ...chartState(task) });
  };

  const sendSnapshot = (taskId: string, feed: TaskFeed) => {
    if (feed.pending) clearTimeout(feed.pending);
    feed.pending = null;
    feed.lastSnapshotAt = Date.now();
    const msg = snapshotOf(taskId);
    if (msg) deliver(feed, msg);
  };

  /** A snapshot soon: at once when the last one is old enough, else once the gap has passed. */
  const scheduleSnapshot = (taskId: string, feed: TaskFeed) => {
    if (feed.listeners.size === 0 || feed.pending || closed) return;
    const wait = Math.max(0, feed.lastSnapshotAt + minGap - Date.now());
    feed.pending = setTimeout(() => sendSnapshot(taskId, feed), wait);
    feed.pending.unref?.();
  };

  const track = transitionTracker(
    (t) => {
      const taskId = current;
      if (taskId === undefined) return;
      const feed = feedOf(taskId);
      feed.timeline.push(t);
      if (feed.timeline.length > timelineSize) feed.timeline.splice(0, feed.timeline.length - timelineSize);
      if (feed.listeners.size > 0) deliver(feed, sseMessage('transition', { taskId, ...t }));
    },
    { children: true },
  );

  const inspect = (event: InspectionEvent, taskId?: string) => {
    if (closed || event.type !== '@xstate.snapshot') return;
    const id = taskId ?? taskIdOf(event.actorRef as ActorLike);
    current = id;
    try {
      track(event);
    } finally {
      current = undefined;
    }
    const feed = id === undefined ? undefined : feeds.get(id);
    if (id !== undefined && feed) scheduleSnapshot(id, feed);
  };

  const sub: Subscription | undefined = runtime.inspection$?.subscribe(({ taskId, event }) => inspect(event, taskId));

  return {
    inspect,
    subscribe(taskId, send) {
      if (closed) throw new Error('the inspection hub is closed');
      runtime.get(taskId); // UNKNOWN_TASK for a task the runtime does not hold
      const feed = feedOf(taskId);
      const listener: Listener = { send, stop: () => stop() };
      send(`retry: 2000\n\n`);
      send(sseMessage('timeline', { taskId, transitions: feed.timeline }));
      const first = snapshotOf(taskId);
      if (first) send(first);
      feed.listeners.add(listener);
      if (!feed.timer) {
        feed.timer = setInterval(() => sendSnapshot(taskId, feed), snapshotIntervalMs);
        feed.timer.unref?.();
      }
      const keepAlive = setInterval(() => {
        try {
          send(': keep-alive\n\n');
        } catch {
          stop();
        }
      }, keepAliveMs);
      keepAlive.unref?.();
      let stopped = false;
      function stop(): void {
        if (stopped) return;
        stopped = true;
        streams.delete(stop);
        clearInterval(keepAlive);
        feed.listeners.delete(listener);
        if (feed.listeners.size === 0) {
          if (feed.timer) clearInterval(feed.timer);
          if (feed.pending) clearTimeout(feed.pending);
          feed.timer = null;
          feed.pending = null;
        }
      }
      streams.add(stop);
      return stop;
    },
    timeline: (taskId) => [...(feeds.get(taskId)?.timeline ?? [])],
    close() {
      closed = true;
      sub?.unsubscribe();
      for (const stop of [...streams]) stop();
      for (const feed of feeds.values()) {
        if (feed.timer) clearInterval(feed.timer);
        if (feed.pending) clearTimeout(feed.pending);
        feed.listeners.clear();
      }
    },
  };
}
