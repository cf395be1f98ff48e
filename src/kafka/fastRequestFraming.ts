/**
 * kafkajs frames every request (size, api key, version, correlation id, client id, body) by
 * copying the body into a new zero-filled encoder rounded up to a power of two, and then again
 * into a second one for the size prefix: for a 1 MB Produce request, two copies and 4 MB of
 * zeroed memory. This replacement of `kafkajs/src/protocol/request.js` (same contract: `({
 * correlationId, clientId, request }) → Promise<Encoder>`, same bytes — tested) allocates the
 * frame once at its exact size and copies the body once. Installed in Node's CommonJS module
 * cache before kafkajs loads (src/kafka/patches.ts).
 */
import { kafkajsRequire, replaceKafkajsModule } from './moduleCache.js';

interface EncoderLike {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
}
type EncoderClass = new () => EncoderLike;
interface FramedRequest {
  correlationId: number;
  clientId: string | null;
  request: { apiKey: number; apiVersion: number; encode(): Promise<EncoderLike> | EncoderLike };
}

/** The whole request frame as one buffer: int32 size, then header and body. */
export function frameRequest(correlationId: number, clientId: string | null, apiKey: number, apiVersion: number, body: Buffer): Buffer {
  const client = clientId === null || clientId === undefined ? null : Buffer.from(clientId, 'utf8');
  const header = 2 + 2 + 4 + 2 + (client?.length ?? 0);
  const frame = Buffer.allocUnsafe(4 + header + body.length);
  let o = frame.writeInt32BE(header + body.length, 0);
  o = frame.writeInt16BE(apiKey, o);
  o = frame.writeInt16BE(apiVersion, o);
  o = frame.writeInt32BE(correlationId, o);
  o = frame.writeInt16BE(client ? client.length : -1, o);
  if (client) o += client.copy(frame, o);
  body.copy(frame, o);
  return frame;
}

/** Installs the replacement (before kafkajs loads it); returns whether the cache still holds it. */
export function installFastRequestFraming(): () => boolean {
  return replaceKafkajsModule('kafkajs/src/protocol/request.js', () => {
    const Encoder = kafkajsRequire('kafkajs/src/protocol/encoder.js') as EncoderClass;
    return async ({ correlationId, clientId, request }: FramedRequest): Promise<EncoderLike> => {
      const payload = await request.encode();
      const frame = frameRequest(correlationId, clientId, request.apiKey, request.apiVersion, payload.buffer);
      const enc = new Encoder();
      enc.buf = frame;
      enc.offset = frame.length;
      return enc;
    };
  });
}
