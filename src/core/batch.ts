/** A group of items travelling together, acknowledged once when the destination has them. */
export interface Batch<T> {
  readonly items: readonly T[];
  readonly bytes: number;
  /** Called once: with no argument when durable at the destination, with an error when it failed. */
  ack(err?: Error): void;
}

export function createBatch<T>(items: readonly T[], bytes: number, onAck: (err?: Error) => void): Batch<T> {
  let acked = false;
  return {
    items,
    bytes,
    ack(err?: Error) {
      if (acked) return;
      acked = true;
      onAck(err);
    },
  };
}
