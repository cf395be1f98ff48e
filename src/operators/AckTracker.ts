import type { Position } from '../core/position.js';
import { FatalError } from '../core/errors.js';

/**
 * The contiguous acked watermark. Positions are tracked in dispatch order (non-decreasing) and
 * acked in any order; `watermark()` is the highest position P such that every tracked position
 * <= P has been acked. Several items may share a position: P is reached only when all are acked.
 *
 * A ring buffer of positions with acked flags; acking the front pops every acked entry, so each
 * entry is pushed and popped once: O(1) amortized. `ack(ticket)` is O(1); `ack(position)` finds
 * the entry by binary search.
 */
export class AckTracker {
  private positions: (Position | undefined)[];
  private acked: Uint8Array;
  private mask: number;
  /** Ring index of the oldest entry and number of entries. */
  private start = 0;
  private count = 0;
  /** Ticket of the oldest entry. */
  private firstTicket = 0;
  private mark: Position | undefined;

  constructor(initialCapacity = 1024, from?: Position) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.positions = new Array<Position | undefined>(cap);
    this.acked = new Uint8Array(cap);
    this.mask = cap - 1;
    this.mark = from;
  }

  /** Entries dispatched and not yet popped (acked ones behind an unacked front included). */
  get size(): number {
    return this.count;
  }

  /** The contiguous acked watermark; undefined until something is acked (or the `from` given). */
  watermark(): Position | undefined {
    return this.mark;
  }

  /** Records a dispatched position; positions must not go backwards. Returns a ticket for `ack`. */
  track(position: Position): number {
    if (this.count > 0) {
      const last = this.positions[(this.start + this.count - 1) & this.mask] as Position;
      if (position.compare(last) < 0) {
        throw new FatalError('POSITION_ORDER', `AckTracker: position ${position.encode()} was dispatched after ${last.encode()}.`, {
          object: 'ack watermark',
          fix: 'dispatch events in source order',
        });
      }
    }
    if (this.count === this.positions.length) this.grow();
    const i = (this.start + this.count) & this.mask;
    this.positions[i] = position;
    this.acked[i] = 0;
    this.count++;
    return this.firstTicket + this.count - 1;
  }

  /**
   * Marks an entry acked, by ticket (from `track`) or by position (the oldest unacked entry at that
   * position). Returns true when the watermark moved.
   */
  ack(ref: number | Position): boolean {
    const offset = typeof ref === 'number' ? ref - this.firstTicket : this.find(ref);
    if (offset < 0) {
      if (typeof ref === 'number') return false; // popped already: acked twice
      throw this.unknown(ref);
    }
    if (offset >= this.count) throw this.unknown(ref);
    this.acked[(this.start + offset) & this.mask] = 1;
    return offset === 0 ? this.popAcked() : false;
  }

  private unknown(ref: number | Position): FatalError {
    const what = typeof ref === 'number' ? `ticket ${ref}` : `position ${ref.encode()}`;
    return new FatalError('ACK_UNKNOWN', `AckTracker: ack for ${what}, which was never dispatched or was already acked.`, { object: 'ack watermark' });
  }

  /** Offset of the oldest unacked entry at `position`; -1 when none. */
  private find(position: Position): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.positions[(this.start + mid) & this.mask] as Position).compare(position) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (let o = lo; o < this.count; o++) {
      const i = (this.start + o) & this.mask;
      if ((this.positions[i] as Position).compare(position) !== 0) break;
      if (this.acked[i] === 0) return o;
    }
    return -1;
  }

  private popAcked(): boolean {
    let moved = false;
    while (this.count > 0 && this.acked[this.start] === 1) {
      const popped = this.positions[this.start] as Position;
      this.positions[this.start] = undefined;
      this.start = (this.start + 1) & this.mask;
      this.count--;
      this.firstTicket++;
      // Only a position none of whose entries is still pending can become the watermark.
      const next = this.count > 0 ? (this.positions[this.start] as Position) : undefined;
      if (next === undefined || next.compare(popped) > 0) {
        this.mark = popped;
        moved = true;
      }
    }
    return moved;
  }

  private grow(): void {
    const cap = this.positions.length * 2;
    const positions = new Array<Position | undefined>(cap);
    const acked = new Uint8Array(cap);
    for (let o = 0; o < this.count; o++) {
      const i = (this.start + o) & this.mask;
      positions[o] = this.positions[i];
      acked[o] = this.acked[i] as number;
    }
    this.positions = positions;
    this.acked = acked;
    this.mask = cap - 1;
    this.start = 0;
  }
}
