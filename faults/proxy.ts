import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * The fault harness's own TCP proxy, on 127.0.0.1 between the runtime and one server. Normally it
 * forwards both ways. Faults, each until `restore()`:
 *
 * - `cut()`: every open connection is reset (RST, not FIN) and new ones are reset as soon as they
 *   are accepted: the network is gone and peers learn it at once.
 * - `blackhole()`: nothing passes and nothing is closed, open or new (a half-open network: no RST,
 *   no data, no FIN); `restore()` then cuts the connections that went dark, as the peers' own
 *   timeouts would have.
 * - `latency(ms)`: every chunk is delayed by `ms` each way (order kept).
 * - `bandwidth(bytesPerSecond)`: each direction of each connection is paced to that rate.
 * - `resetAfter(bytes)`: each connection is reset once it has carried `bytes` (both directions).
 */
export class FaultProxy {
  private server: Server | null = null;
  private readonly conns = new Set<Conn>();
  private mode: 'pass' | 'cut' | 'dark' = 'pass';
  private latencyMs = 0;
  private bytesPerSecond = 0;
  private resetAfterBytes = 0;
  /** Connections accepted since start (for reports). */
  accepted = 0;
  port = 0;

  constructor(
    readonly name: string,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  private accept(client: Socket): void {
    this.accepted += 1;
    client.on('error', () => undefined);
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    const conn = new Conn(client, upstream, this);
    this.conns.add(conn);
    conn.onClose = () => this.conns.delete(conn);
  }

  /** @internal */ get state(): { mode: 'pass' | 'cut' | 'dark'; latencyMs: number; bytesPerSecond: number; resetAfterBytes: number } {
    return { mode: this.mode, latencyMs: this.latencyMs, bytesPerSecond: this.bytesPerSecond, resetAfterBytes: this.resetAfterBytes };
  }

  /** Reset every connection (RST) and reset new ones until `restore()`. */
  cut(): void {
    this.mode = 'cut';
    for (const c of [...this.conns]) c.reset();
  }

  /** Pass nothing and close nothing until `restore()`. */
  blackhole(): void {
    this.mode = 'dark';
  }

  latency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  bandwidth(bytesPerSecond: number): void {
    this.bytesPerSecond = Math.max(0, bytesPerSecond);
  }

  resetAfter(bytes: number): void {
    this.resetAfterBytes = Math.max(0, bytes);
  }

  /** Normal forwarding again; connections that went dark are reset. Latency, bandwidth and reset limits are lifted. */
  restore(): void {
    const wasDark = this.mode === 'dark';
    this.mode = 'pass';
    this.latencyMs = 0;
    this.bytesPerSecond = 0;
    this.resetAfterBytes = 0;
    if (wasDark) for (const c of [...this.conns]) if (c.wentDark) c.reset();
  }

  /** Open connections now. */
  get connections(): number {
    return this.conns.size;
  }

  async stop(): Promise<void> {
    for (const c of [...this.conns]) c.reset();
    this.conns.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }
}

/** One proxied connection: a client socket, its upstream socket, and a paced queue each way. */
class Conn {
  onClose: () => void = () => undefined;
  wentDark = false;
  private carried = 0;
  private closed = false;
  private readonly lanes: [Lane, Lane];

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly proxy: FaultProxy,
  ) {
    this.lanes = [new Lane(upstream, this), new Lane(client, this)];
    client.on('data', (d: Buffer) => this.incoming(d, 0));
    upstream.on('data', (d: Buffer) => this.incoming(d, 1));
    upstream.on('error', () => this.reset());
    const closed = (other: Socket) => () => {
      // In a black hole the other side never learns of a close.
      if (this.proxy.state.mode === 'dark') {
        this.wentDark = true;
        return;
      }
      other.end();
      this.finish();
    };
    client.on('close', closed(upstream));
    upstream.on('close', closed(client));
  }

  private incoming(d: Buffer, lane: 0 | 1): void {
    const s = this.proxy.state;
    if (s.mode === 'dark') {
      this.wentDark = true;
      return;
    }
    if (s.mode === 'cut') return this.reset();
    this.carried += d.length;
    if (s.resetAfterBytes > 0 && this.carried > s.resetAfterBytes) return this.reset();
    this.lanes[lane].push(d, s.latencyMs, s.bytesPerSecond);
  }

  reset(): void {
    if (this.closed) return;
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.lanes) l.clear();
    this.onClose();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** One direction: chunks written to `out` in order, each no earlier than its due time. */
class Lane {
  private readonly queue: Array<{ data: Buffer; due: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  /** When the paced lane is free again (bandwidth). */
  private freeAt = 0;

  constructor(
    private readonly out: Socket,
    private readonly conn: Conn,
  ) {}

  push(data: Buffer, latencyMs: number, bytesPerSecond: number): void {
    const now = Date.now();
    if (latencyMs === 0 && bytesPerSecond === 0 && this.queue.length === 0) {
      this.out.write(data);
      return;
    }
    let due = now + latencyMs;
    if (bytesPerSecond > 0) {
      const start = Math.max(due, this.freeAt);
      this.freeAt = start + (data.length / bytesPerSecond) * 1000;
      due = this.freeAt;
    }
    this.queue.push({ data, due });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const head = this.queue[0];
    if (!head) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = Date.now();
      while (this.queue.length > 0 && (this.queue[0]?.due ?? Infinity) <= now) {
        const item = this.queue.shift();
        if (item && !this.conn.isClosed) this.out.write(item.data);
      }
      this.schedule();
    }, Math.max(0, head.due - Date.now()));
  }

  clear(): void {
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
