/**
 * How far the destination is behind the source, measured where it matters: at the destination.
 *
 * The lag is now minus the source commit time of the oldest change that was read and is not yet
 * acknowledged by the destination; when nothing is pending, now minus the commit time of the last
 * acknowledged one (heartbeats included: they travel through the destination like changes). So
 * while the destination refuses writes the lag keeps growing, whatever the source does.
 *
 * Cost per event is one comparison: events are tracked per batch, in read order.
 */
export class DestinationLag {
  /** Events read (admitted) and not yet handed to the destination in a batch. */
  private unbatched = 0;
  /** Commit time of the oldest of those (the next batch's first event, or a lower bound of it). */
  private oldestUnbatched = 0;
  /** Batches sent and not acknowledged: ticket → commit time of their first event. */
  private readonly pending = new Map<number, { first: number; last: number }>();
  private nextTicket = 0;
  /** The oldest pending commit time of a run that ended before its writes were acknowledged. */
  private carriedOver: number | null = null;
  private lastAcked: number | null = null;

  /** A new run starts (after a retry, a pause or a restart): what the last one left pending stays pending. */
  restart(): void {
    const oldest = this.oldestPending();
    if (oldest !== null) this.carriedOver = oldest;
    this.pending.clear();
    this.unbatched = 0;
  }

  /** An event was read. */
  admitted(commitTime: number): void {
    if (this.unbatched === 0) this.oldestUnbatched = commitTime;
    this.unbatched += 1;
  }

  /** A batch of `count` events, in read order, was handed to the destination. Returns its ticket. */
  sent(firstCommitTime: number, lastCommitTime: number, count: number): number {
    const ticket = this.nextTicket++;
    this.pending.set(ticket, { first: this.unbatched > 0 ? Math.min(this.oldestUnbatched, firstCommitTime) : firstCommitTime, last: lastCommitTime });
    this.unbatched = Math.max(0, this.unbatched - count);
    // The next event read after this batch committed no earlier than its last one.
    if (this.unbatched > 0) this.oldestUnbatched = lastCommitTime;
    return ticket;
  }

  /** The destination acknowledged the batch of `ticket`. */
  acked(ticket: number): void {
    const b = this.pending.get(ticket);
    if (!b) return;
    this.pending.delete(ticket);
    if (this.lastAcked === null || b.last > this.lastAcked) this.lastAcked = b.last;
    if (this.carriedOver !== null && b.last >= this.carriedOver) this.carriedOver = null;
  }

  private oldestPending(): number | null {
    let oldest = this.carriedOver;
    for (const b of this.pending.values()) if (oldest === null || b.first < oldest) oldest = b.first;
    if (this.unbatched > 0 && (oldest === null || this.oldestUnbatched < oldest)) oldest = this.oldestUnbatched;
    return oldest;
  }

  /** Milliseconds the destination is behind at `now`; null before anything was read. */
  lagMs(now: number): number | null {
    const since = this.oldestPending() ?? this.lastAcked;
    return since === null ? null : Math.max(0, now - since);
  }

  /** True when something read has not been acknowledged. */
  get hasPending(): boolean {
    return this.oldestPending() !== null;
  }
}
