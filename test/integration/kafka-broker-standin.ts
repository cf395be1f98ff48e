/**
 * A one-node Kafka broker stand-in that records the Produce requests it receives, for tests that
 * must see what a producer actually put on the wire (the `acks` of each request) rather than
 * what its settings say.
 *
 * It speaks just enough of the protocol for a kafkajs producer and admin: ApiVersions, Metadata
 * v0 (every topic has one partition, led by the stand-in) and Produce v3. Like a real broker it
 * answers a Produce request only when its acks is not 0, and it appends nothing anywhere: each
 * request is recorded with its acks and the number of records of its record batches.
 */
import { createServer, type Server, type Socket } from 'node:net';

const API = { produce: 0, metadata: 3, apiVersions: 18 } as const;
const NODE_ID = 1;

export interface ProduceRequestSeen {
  acks: number;
  timeoutMs: number;
  /** Records per topic in the request (summed over its partitions and record batches). */
  records: Record<string, number>;
}

export interface BrokerStandIn {
  /** host:port, for the producer's broker list. */
  readonly broker: string;
  /** Every Produce request received, in arrival order. */
  readonly produced: ProduceRequestSeen[];
  /** Requests the stand-in could not serve (it then closed the connection). */
  readonly errors: string[];
  close: () => Promise<void>;
}

class Reader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  int16(): number {
    const v = this.buf.readInt16BE(this.off);
    this.off += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }
  /** A STRING or NULLABLE_STRING (int16 length, -1 = null). */
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }
  /** BYTES / RECORDS (int32 length, -1 = null). */
  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  array<T>(item: () => T): T[] {
    const n = this.int32();
    return n < 0 ? [] : Array.from({ length: n }, item);
  }
}

class Writer {
  private readonly parts: Buffer[] = [];
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  int64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    this.parts.push(b);
    return this;
  }
  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.int16(b.length);
    this.parts.push(b);
    return this;
  }
  array<T>(items: readonly T[], each: (w: this, item: T) => void): this {
    this.int32(items.length);
    for (const i of items) each(this, i);
    return this;
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Records in a RECORDS field: record batches (magic 2) back to back, `recordsCount` at byte 57 of each. */
function countRecords(set: Buffer | null): number {
  let n = 0;
  for (let off = 0; set !== null && off + 61 <= set.length; ) {
    const batchLength = set.readInt32BE(off + 8);
    if (set.readInt8(off + 16) !== 2) throw new Error(`record batch magic ${set.readInt8(off + 16)}, expected 2`);
    n += set.readInt32BE(off + 57);
    off += 12 + batchLength;
  }
  return n;
}

export async function startBrokerStandIn(topics: readonly string[]): Promise<BrokerStandIn> {
  const produced: ProduceRequestSeen[] = [];
  const errors: string[] = [];
  const offsets = new Map<string, bigint>();
  const sockets = new Set<Socket>();
  let port = 0;

  const metadata = (requested: string[]): Buffer => {
    const names = requested.length > 0 ? requested : [...topics];
    return new Writer()
      .array([NODE_ID], (w, id) => w.int32(id).string('127.0.0.1').int32(port))
      .array(names, (w, name) =>
        w.int16(0).string(name).array([0], (pw, partition) => pw.int16(0).int32(partition).int32(NODE_ID).array([NODE_ID], (rw, r) => rw.int32(r)).array([NODE_ID], (iw, r) => iw.int32(r))),
      )
      .buffer();
  };

  /** The response body, or null when none is due (acks=0). */
  const handle = (apiKey: number, apiVersion: number, r: Reader): Buffer | null => {
    switch (apiKey) {
      case API.apiVersions: {
        const w = new Writer().int16(0).array(
          [
            [API.produce, 0, 3],
            [API.metadata, 0, 0],
            [API.apiVersions, 0, 2],
          ] as const,
          (aw, [key, min, max]) => aw.int16(key).int16(min).int16(max),
        );
        if (apiVersion >= 1) w.int32(0);
        return w.buffer();
      }
      case API.metadata:
        return metadata(r.array(() => r.string() ?? ''));
      case API.produce: {
        if (apiVersion !== 3) throw new Error(`Produce v${apiVersion} asked, the stand-in speaks v3`);
        r.string(); // transactional_id
        const acks = r.int16();
        const timeoutMs = r.int32();
        const records: Record<string, number> = {};
        const data = r.array(() => {
          const topic = r.string() ?? '';
          const partitions = r.array(() => {
            const partition = r.int32();
            const count = countRecords(r.bytes());
            records[topic] = (records[topic] ?? 0) + count;
            const key = `${topic}/${partition}`;
            const base = offsets.get(key) ?? 0n;
            offsets.set(key, base + BigInt(count));
            return { partition, base };
          });
          return { topic, partitions };
        });
        produced.push({ acks, timeoutMs, records });
        if (acks === 0) return null;
        return new Writer()
          .array(data, (w, t) => w.string(t.topic).array(t.partitions, (pw, p) => pw.int32(p.partition).int16(0).int64(p.base).int64(-1n)))
          .int32(0)
          .buffer();
      }
      default:
        throw new Error(`api key ${apiKey} v${apiVersion} is not spoken by the stand-in`);
    }
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        const r = new Reader(frame);
        const apiKey = r.int16();
        const apiVersion = r.int16();
        const correlationId = r.int32();
        r.string(); // client_id
        let body: Buffer | null;
        try {
          body = handle(apiKey, apiVersion, r);
        } catch (err) {
          errors.push((err as Error).message);
          socket.destroy();
          return;
        }
        if (body === null) continue;
        const head = Buffer.alloc(8);
        head.writeInt32BE(4 + body.length, 0);
        head.writeInt32BE(correlationId, 4);
        socket.write(Buffer.concat([head, body]));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the stand-in broker has no TCP address');
  port = address.port;
  return {
    broker: `127.0.0.1:${port}`,
    produced,
    errors,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
