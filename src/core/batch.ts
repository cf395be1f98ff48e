/** A group of items travelling together, acknowledged once when the destination has them. */
export interface Batch<T> {
  readonly items: readonly T[];
  readonly bytes: number;
  /** Called once: with no argument when durable at the destination, with an error when it failed. */
  ack(err?: Error): void;
  /**
   * The destination has taken what it needs from the items (encoded them): the batch stops
   * holding them, so that while the write is in flight only its encoded bytes are held, not the
   * events. `items` is empty afterwards.
   */
  release(): void;
}

/**
 * Makes a {@link Batch}; `onAck` runs once, at the first `ack` (later calls are ignored).
 *
 * @example
 * ```ts
 * const batch = createBatch(events, events.reduce((n, e) => n + e.bytes, 0), (err) => {
 *   if (err) console.error('not written', err);
 * });
 * await sink.write(batch);
 * ```
 */
export function createBatch<T>(items: readonly T[], bytes: number, onAck: (err?: Error) => void): Batch<T> {
  let acked = false;
  let held = items;
  return {
    get items() {
      return held;
    },
    release() {
      held = [];
    },
    bytes,
    ack(err?: Error) {
      if (acked) return;
      acked = true;
      onAck(err);
    },
  };
}
