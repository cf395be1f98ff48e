import type { Message } from 'kafkajs';
import { RECORD_OVERHEAD } from './workerProducer.js';

function bufLen(v: unknown): number {
  return v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : (v as Buffer).length;
}

/** Bytes a message takes in a record batch, roughly: key, value, headers and a per-record overhead. */
export function messageSize(m: Message): number {
  let n = RECORD_OVERHEAD + bufLen(m.key) + bufLen(m.value);
  if (m.headers) for (const [k, v] of Object.entries(m.headers)) n += Buffer.byteLength(k) + (Array.isArray(v) ? v.reduce((a: number, x) => a + bufLen(x), 0) : bufLen(v));
  return n;
}
