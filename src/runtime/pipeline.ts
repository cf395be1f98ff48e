import { defer, filter, finalize, firstValueFrom, identity, mergeMap, tap, type Observable, type OperatorFunction } from 'rxjs';
import { createBatch } from '../core/batch.js';
import type { FlowControl, OpenBatch, Sink } from '../core/contracts.js';
import type { ChangeEvent } from '../core/events.js';
import { qualifiedName } from '../core/events.js';
import type { AckTracker, InflightWindow, ThrottleController } from '../operators/index.js';
import { batchInto, throttleRate } from '../operators/index.js';
import type { DestinationLag } from './destinationLag.js';

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
  maxWaitMs: number;
}

/** What the pipeline reports for every batch the destination acknowledged. */
export interface AckedBatch {
  /** Changes acknowledged (heartbeats excluded). */
  events: number;
  /** Heartbeats acknowledged (they keep latency and the source position moving when idle). */
  heartbeats: number;
  bytes: number;
  last: ChangeEvent;
  /** Per destination table (`qualifiedName`): events and bytes of this batch. */
  byTable: Map<string, { events: number; bytes: number }>;
}

const tableNames = new WeakMap<object, string>();
function tableName(e: ChangeEvent): string {
  let n = tableNames.get(e.shape);
  if (n === undefined) tableNames.set(e.shape, (n = qualifiedName(e.shape.ref)));
  return n;
}

/** Flow control for readers: wait while the in-flight window is full. */
export function flowControlOf(window: InflightWindow): FlowControl {
  return {
    waitForRoom() {
      if (!window.paused) return undefined;
      return firstValueFrom(window.paused$.pipe(filter((p) => !p))).then(() => undefined);
    },
  };
}

export interface WritePipeline {
  sink: Sink;
  /** Selection, filters, name mapping, ETL: synchronous per event. */
  transform: OperatorFunction<ChangeEvent, ChangeEvent>;
  window: InflightWindow;
  throttle: ThrottleController;
  batch: BatchLimits;
  /** Incremental sync tracks positions so only the contiguous acked position is confirmed. */
  tracker?: AckTracker;
  /** Measures how far the destination is behind the source (commit times of pending events). */
  lag?: DestinationLag;
}

/**
 * Reader → transform → in-flight window → throttle → batches → destination. Batches are handed to
 * the sink in order, up to the sink's `maxInFlightWrites` at once (default 1: one after the other;
 * a sink that allows more keeps them ordered itself, e.g. the Kafka producer thread is FIFO), and
 * counted out of the window only when the destination acknowledged them (the AckTracker confirms
 * only contiguous positions, whatever order acknowledgements arrive in). Emits one AckedBatch per
 * acknowledged batch.
 */
export function writeThrough(events$: Observable<ChangeEvent>, p: WritePipeline): Observable<AckedBatch> {
  return defer(() => {
    // What this run admitted into the shared window and the destination has not acknowledged:
    // when the run ends (error, stop, or a write that failed), it leaves the window, so a task that
    // retries after an outage does not find its window still full of writes that will never be acked.
    let heldEvents = 0;
    let heldBytes = 0;
    return writeRun(events$, p, {
      admit(bytes) {
        heldEvents += 1;
        heldBytes += bytes;
        p.window.admit(bytes);
      },
      release(events, bytes) {
        heldEvents -= events;
        heldBytes -= bytes;
        p.window.release(events, bytes);
      },
    }).pipe(
      finalize(() => {
        if (heldEvents > 0 || heldBytes > 0) p.window.release(heldEvents, heldBytes);
        heldEvents = 0;
        heldBytes = 0;
      }),
    );
  });
}

interface WindowShare {
  admit(bytes: number): void;
  release(events: number, bytes: number): void;
}

/**
 * One batch as the pipeline fills it: what the acknowledgement needs (counts per table, bytes, the
 * first commit time, the last event) and the events themselves, either handed to the sink as they
 * arrive (`Sink.openBatch`: the sink encodes them at once) or kept until the batch is written.
 */
class Filling {
  count = 0;
  events = 0;
  bytes = 0;
  firstCommitTime = 0;
  last: ChangeEvent | undefined;
  readonly byTable = new Map<string, { events: number; bytes: number }>();
  readonly items: ChangeEvent[] | null;
  private lastShape: object | null = null;
  private lastCounter: { events: number; bytes: number } | undefined;

  constructor(readonly open: OpenBatch | null) {
    this.items = open === null ? [] : null;
  }

  add(e: ChangeEvent): void {
    if (this.count === 0) this.firstCommitTime = e.commitTime;
    this.count += 1;
    this.bytes += e.bytes;
    this.last = e;
    if (e.op !== 'heartbeat') {
      this.events += 1;
      // Runs of one table (a full-sync chunk, most transactions) reuse the last table's counter.
      let c = e.shape === this.lastShape ? this.lastCounter : undefined;
      if (c === undefined) {
        const name = tableName(e);
        c = this.byTable.get(name);
        if (c === undefined) this.byTable.set(name, (c = { events: 0, bytes: 0 }));
        this.lastShape = e.shape;
        this.lastCounter = c;
      }
      c.events += 1;
      c.bytes += e.bytes;
    }
    if (this.open !== null) this.open.add(e);
    else this.items?.push(e);
  }
}

function writeRun(events$: Observable<ChangeEvent>, p: WritePipeline, window: WindowShare): Observable<AckedBatch> {
  const filler = {
    open: () => new Filling(p.sink.openBatch?.() ?? null),
    add: (f: Filling, e: ChangeEvent) => f.add(e),
  };
  return events$.pipe(
    p.transform,
    tap((e) => {
      window.admit(e.bytes);
      p.lag?.admitted(e.commitTime);
    }),
    throttleRate(p.throttle),
    batchInto(filler, { maxEvents: p.batch.maxEvents, maxBytes: p.batch.maxBytes, maxWaitMs: p.batch.maxWaitMs }),
    mergeMap(({ batch: f }) => {
      // Everything the acknowledgement needs was taken while the batch filled, so the pipeline
      // does not hold the events while the write is in flight (the sink releases them once encoded).
      const last = f.last as ChangeEvent;
      const { count, bytes, events, byTable } = f;
      const ticket = p.tracker?.track(last.position);
      const lagTicket = p.lag?.sent(f.firstCommitTime, last.commitTime, count);
      let failure: Error | undefined;
      const write = (): Promise<void> => {
        if (f.open !== null) return f.open.write();
        const batch = createBatch(f.items ?? [], bytes, (err) => (failure = err));
        return p.sink.write(batch).then(() => batch.ack());
      };
      return defer(async () => {
        await write();
        if (failure) throw failure;
        window.release(count, bytes);
        if (ticket !== undefined) p.tracker?.ack(ticket);
        if (lagTicket !== undefined) p.lag?.acked(lagTicket);
        // Heartbeats travel (and are acknowledged) like changes but are not counted as events.
        return { events, heartbeats: count - events, bytes, last, byTable } satisfies AckedBatch;
      });
    },
      Math.max(1, p.sink.capabilities.maxInFlightWrites),
    ),
  );
}

export const passThrough: OperatorFunction<ChangeEvent, ChangeEvent> = identity;
