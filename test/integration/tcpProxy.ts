import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy of the tests' own between the runtime and a server, on 127.0.0.1: forwards both ways,
 * or, black-holed, keeps every socket open and passes nothing (a half-open network: no RST, no
 * data), until restored. New connections during the black hole are accepted and stay silent too.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private dark = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.on('data', (d: Buffer) => {
        if (!this.dark) upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => {
        if (!this.dark) client.write(d);
      });
      const close = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
      // A black hole hides closes too: the other side never learns.
      client.on('close', () => (this.dark ? undefined : close()));
      upstream.on('close', () => (this.dark ? undefined : close()));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  /** Stop passing anything, keeping every socket open. */
  blackhole(): void {
    this.dark = true;
  }

  /** Pass traffic again; connections that went dark are cut (as a real network's peers would have timed out). */
  restore(): void {
    this.dark = false;
    for (const p of [...this.pairs]) {
      p.client.destroy();
      p.upstream.destroy();
      this.pairs.delete(p);
    }
  }

  async stop(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
