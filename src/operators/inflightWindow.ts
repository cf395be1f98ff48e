import { BehaviorSubject, tap, type MonoTypeOperatorFunction, type Observable } from 'rxjs';

export interface InflightLimits {
  /** Events read and not yet acked; undefined or 0: no limit. */
  maxEvents?: number;
  /** Bytes read and not yet acked; undefined or 0: no limit. */
  maxBytes?: number;
  /**
   * Once paused, resume when both counts are below this fraction of their limits (default 0.8),
   * so the reader is not toggled on every ack at the edge.
   */
  resumeRatio?: number;
}

/**
 * The bounded in-flight window between the reader and the destination's acks. The pipeline
 * `admit`s what the reader produced, the ack path `release`s it; `paused$` tells the reader to
 * stop reading (flow control on the replication stream, cursor not advanced) instead of buffering.
 */
export class InflightWindow {
  private events = 0;
  private bytes = 0;
  private maxEvents: number;
  private maxBytes: number;
  private resumeRatio: number;
  private busySinceMs = 0;
  private readonly state = new BehaviorSubject<boolean>(false);
  /** true: stop reading; false: read. Emits the current state on subscribe, then changes only. */
  readonly paused$: Observable<boolean> = this.state.asObservable();

  constructor(limits: InflightLimits) {
    this.maxEvents = 0;
    this.maxBytes = 0;
    this.resumeRatio = 0.8;
    this.setLimits(limits);
  }

  get paused(): boolean {
    return this.state.getValue();
  }

  get inflightEvents(): number {
    return this.events;
  }

  get inflightBytes(): number {
    return this.bytes;
  }

  /** The limits in force (Infinity when unlimited). */
  get limits(): { maxEvents: number; maxBytes: number } {
    return { maxEvents: this.maxEvents, maxBytes: this.maxBytes };
  }

  /** Changes the limits while running. */
  setLimits(limits: InflightLimits): void {
    this.maxEvents = limits.maxEvents !== undefined && limits.maxEvents > 0 ? limits.maxEvents : Infinity;
    this.maxBytes = limits.maxBytes !== undefined && limits.maxBytes > 0 ? limits.maxBytes : Infinity;
    const r = limits.resumeRatio ?? 0.8;
    if (!(r > 0 && r <= 1)) throw new RangeError(`resumeRatio must be in (0, 1], got ${r}`);
    this.resumeRatio = r;
    this.update();
  }

  /** Wall clock when the window last went from empty to holding something. */
  get busySince(): number {
    return this.busySinceMs;
  }

  /** Counts items entering the window (read by the reader). */
  admit(bytes: number, events = 1): void {
    if (this.events === 0) this.busySinceMs = Date.now();
    this.events += events;
    this.bytes += bytes;
    if (!this.state.getValue() && (this.events >= this.maxEvents || this.bytes >= this.maxBytes)) this.state.next(true);
  }

  /** Counts items leaving the window (acked, or dropped by a filter). */
  release(events: number, bytes: number): void {
    this.events -= events;
    this.bytes -= bytes;
    if (this.events < 0 || this.bytes < 0) {
      this.events = Math.max(0, this.events);
      this.bytes = Math.max(0, this.bytes);
      throw new RangeError('InflightWindow: released more than was admitted');
    }
    if (this.state.getValue()) this.update();
  }

  private update(): void {
    const full = this.events >= this.maxEvents || this.bytes >= this.maxBytes;
    const paused = this.state.getValue();
    if (!paused && full) this.state.next(true);
    else if (paused && this.events < this.maxEvents * this.resumeRatio && this.bytes < this.maxBytes * this.resumeRatio) this.state.next(false);
  }
}

/** Admits every passing item into the window (one event, `item.bytes` bytes). */
export function inflightWindow<T extends { bytes: number }>(window: InflightWindow): MonoTypeOperatorFunction<T> {
  return tap((item) => window.admit(item.bytes));
}
