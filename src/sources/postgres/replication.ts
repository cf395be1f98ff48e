import type pg from 'pg';
import { LogicalReplicationService } from 'pg-logical-replication';

/**
 * Handles one XLogData payload (the pgoutput message, without the 25-byte XLogData header). Returns
 * a promise to hold every later message back until it settles (backpressure), or undefined to go on.
 */
export type XLogDataHandler = (payload: Buffer) => Promise<void> | undefined;

/** What a plugin must offer: the START_REPLICATION command. Decoding happens in the handler. */
export interface ReplicationPlugin {
  start(client: pg.Client, slotName: string, lastLsn: string): Promise<unknown>;
}

/** The library's internals this subclass reaches (plain properties at run time). */
interface Internals {
  _lastLsn: string | null;
  _stop: boolean;
  _connection: (NodeJS.EventEmitter & { stream?: { pause?: () => void; resume?: () => void } }) | null;
  client(): Promise<[pg.Client, NodeJS.EventEmitter]>;
  stop(): Promise<unknown>;
  checkStandbyStatus(enable: boolean): void;
}

const hex = (n: number) => n.toString(16).toUpperCase();

/**
 * pg-logical-replication's LogicalReplicationService with a cheaper data path for one consumer:
 * each XLogData payload goes synchronously to `handler` (no eventemitter2 `emitAsync`, no promise
 * and no LSN string per message), and backpressure pauses the socket only when the handler returns
 * a promise. While it is pending, messages already read from the socket wait (copied) in a queue, in order,
 * so no message is handled before the previous one's promise settled (as with the library's
 * `flowControl`). Never acknowledges anything by itself: status updates go through `acknowledge`,
 * as before; keepalives are still emitted as `heartbeat` events, errors as `error` events.
 */
export class FastReplicationService extends LogicalReplicationService {
  private walHi = 0;
  private walLo = 0;
  private walSeen = false;
  private queue: Buffer[] = [];
  private head = 0;
  private waiting = false;
  private lastReceivedAt = Date.now();

  constructor(
    clientConfig: pg.ClientConfig,
    private readonly handler: XLogDataHandler,
  ) {
    // No automatic acknowledgement and no status timer: the caller confirms only acked positions.
    super(clientConfig, { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } });
    let start: string | null = null;
    // The last WAL end read, as text only when asked for (lastLsn(), resubscription).
    Object.defineProperty(this, '_lastLsn', {
      configurable: true,
      enumerable: true,
      get: () => (this.walSeen ? `${hex(this.walHi)}/${hex(this.walLo)}` : start),
      set: (v: string | null) => {
        start = v;
        this.walSeen = false;
      },
    });
  }

  /**
   * The library's stop ends its pg client and then removes every listener from it; an error the
   * server sends while the client is ending, or after (a new owner terminating this backend, a
   * server shutdown), would then be an unhandled 'error' event that kills the process. The client
   * being stopped keeps a listener that ignores them: nothing reads from it any more.
   */
  override async stop(): Promise<this> {
    const client = (this as unknown as { _client: pg.Client | null })._client;
    const ignore = () => undefined;
    client?.on('error', ignore);
    try {
      await super.stop();
    } finally {
      if (client && client.listenerCount('error') === 0) client.on('error', ignore);
    }
    return this;
  }

  /** Resolves when replication ends (as the library's: with START_REPLICATION's result). */
  override async subscribe(plugin: ReplicationPlugin, slotName: string, uptoLsn?: string): Promise<this> {
    const self = this as unknown as Internals;
    try {
      const [client, connection] = await self.client();
      self._lastLsn = uptoLsn || self._lastLsn;
      this.queue = [];
      this.head = 0;
      this.waiting = false;
      connection.once('replicationStart', () => {
        self._stop = false;
        this.emit('start');
        self.checkStandbyStatus(true);
      });
      this.lastReceivedAt = Date.now();
      connection.on('copyData', ({ chunk: buffer }: { chunk: Buffer }) => {
        this.lastReceivedAt = Date.now();
        const kind = buffer[0];
        if (kind === 0x77) {
          // XLogData: 'w', start LSN (8), WAL end (8), send time (8), payload.
          this.walHi = buffer.readUInt32BE(1);
          this.walLo = buffer.readUInt32BE(5);
          this.walSeen = true;
          const payload = buffer.subarray(25);
          // pg-protocol reuses its read buffer: a payload kept for later must be copied.
          if (this.waiting) this.queue.push(Buffer.from(payload));
          else this.deliver(payload);
        } else if (kind === 0x6b) {
          // Primary keepalive: 'k', WAL end (8), send time (8), reply requested (1).
          const lsn = `${hex(buffer.readUInt32BE(1))}/${hex(buffer.readUInt32BE(5))}`;
          const timestamp = Math.floor(buffer.readUInt32BE(9) * 4294967.296 + buffer.readUInt32BE(13) / 1000 + 946080000000);
          this.emit('heartbeat', lsn, timestamp, buffer.readInt8(17) !== 0);
          this.walHi = buffer.readUInt32BE(1);
          this.walLo = buffer.readUInt32BE(5);
          this.walSeen = true;
        } else {
          console.warn('Unknown message', kind);
        }
      });
      // Not awaited here, as in the library: a failed START_REPLICATION rejects the returned promise only.
      return (plugin.start(client, slotName, self._lastLsn || '0/00000000').catch((e: unknown) => {
        if (!self._stop || !/Connection\s+terminated/i.test(String(e))) throw e;
      }) as Promise<this>);
    } catch (e) {
      await self.stop();
      this.emit('error', e);
      throw e;
    }
  }

  /**
   * Answers a primary keepalive: everything up to `walEnd` was received (write = `walEnd`), and no
   * flush position (invalid, 0). A logical slot is confirmed only by a valid flush position, which
   * the source sends on its own timer with what the destination acknowledged; so this reply never
   * confirms anything. And it is what lets the server shut down: a walsender stopping for
   * `pg_ctl stop -m fast` waits until the client's flush position, or its write position when the
   * flush is invalid, equals what it sent. Answering with an older flush position (the confirmed
   * one) would keep the server waiting for as long as the task stays connected.
   */
  replyKeepalive(walEnd: bigint): void {
    this.sendReceived(walEnd, false);
  }

  /**
   * Asks the server for a keepalive (a status update with "reply requested", reporting what was
   * received and no flush position), so a live connection always has traffic to show.
   */
  ping(): void {
    this.sendReceived(this.walSeen ? (BigInt(this.walHi) << 32n) | BigInt(this.walLo) : 0n, true);
  }

  /** Milliseconds since the server last sent anything; 0 while reading is paused on purpose. */
  silentForMs(now = Date.now()): number {
    return this.waiting ? 0 : Math.max(0, now - this.lastReceivedAt);
  }

  private sendReceived(written: bigint, replyRequested: boolean): void {
    const self = this as unknown as Internals & { _connection: { sendCopyFromChunk?: (b: Buffer) => void } | null };
    if (self._stop) return;
    const msg = Buffer.alloc(34);
    msg[0] = 0x72; // 'r': standby status update
    msg.writeBigUInt64BE(written, 1); // written
    msg.writeBigUInt64BE(0n, 9); // flushed: invalid
    msg.writeBigUInt64BE(0n, 17); // applied: invalid
    // Microseconds since 2000-01-01.
    msg.writeBigInt64BE(BigInt(Date.now() - 946_684_800_000) * 1000n, 25);
    msg.writeInt8(replyRequested ? 1 : 0, 33);
    self._connection?.sendCopyFromChunk?.(msg);
  }

  /** Hands one payload to the handler; pauses reading while the promise it returns is pending. */
  private deliver(payload: Buffer): void {
    const wait = this.handler(payload);
    if (wait !== undefined) this.hold(wait);
  }

  private hold(wait: Promise<void>): void {
    const self = this as unknown as Internals;
    this.waiting = true;
    self._connection?.stream?.pause?.();
    wait.then(
      () => this.drain(),
      (err: unknown) => {
        this.waiting = false;
        this.emit('error', err);
      },
    );
  }

  /** Handles the messages that arrived while waiting, then reads from the socket again. */
  private drain(): void {
    const self = this as unknown as Internals;
    this.waiting = false;
    while (this.head < this.queue.length) {
      if (self._stop) break;
      const payload = this.queue[this.head] as Buffer;
      this.queue[this.head++] = undefined as unknown as Buffer;
      const wait = this.handler(payload);
      if (wait !== undefined) {
        this.hold(wait);
        return;
      }
    }
    this.queue = [];
    this.head = 0;
    this.lastReceivedAt = Date.now();
    if (!self._stop) self._connection?.stream?.resume?.();
  }
}
