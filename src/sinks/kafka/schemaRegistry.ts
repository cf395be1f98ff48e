import { ConnectionError, FatalError, TransientError } from '../../core/errors.js';
import type { ValueFramer } from './sink.js';

export interface SchemaRegistryOptions {
  /** Base URL of a Confluent-compatible schema registry, e.g. `http://registry:8081`. */
  url: string;
  /** The Avro schema registered for every topic (DTS Avro: `DTS_RECORD_SCHEMA`). */
  schema: unknown;
  /** Subject of a topic's values. Default: TopicNameStrategy, `<topic>-value`. */
  subjectFor?: (topic: string) => string;
  /** HTTP basic auth (`USER_INFO`); the password never appears in errors. */
  auth?: { username: string; password: string };
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * Client side of the Confluent schema registry protocol for DTS Avro values: registers the schema
 * once per subject (`POST /subjects/<topic>-value/versions`, body `{"schema": "<schema JSON>"}`,
 * answer `{"id": N}`; registering an identical schema again returns the same id), then frames each
 * Avro value in the Confluent wire format: magic byte 0, the schema id as a big-endian int32, the
 * Avro binary. Consumers using Confluent's KafkaAvroDeserializer look the schema up by that id.
 */
export class SchemaRegistryFramer implements ValueFramer {
  private readonly ids = new Map<string, number>();
  private readonly schemaText: string;
  private readonly base: string;

  constructor(private readonly opts: SchemaRegistryOptions) {
    this.schemaText = typeof opts.schema === 'string' ? opts.schema : JSON.stringify(opts.schema);
    this.base = opts.url.replace(/\/+$/, '');
  }

  subjectOf(topic: string): string {
    return this.opts.subjectFor?.(topic) ?? `${topic}-value`;
  }

  /** The registered schema id of a topic (after `prepare`). */
  idOf(topic: string): number | undefined {
    return this.ids.get(topic);
  }

  async prepare(topics: readonly string[]): Promise<void> {
    for (const topic of topics) if (!this.ids.has(topic)) this.ids.set(topic, await this.register(this.subjectOf(topic)));
  }

  frame(topic: string, value: Buffer): Buffer {
    const id = this.ids.get(topic);
    if (id === undefined) throw new FatalError('SCHEMA_NOT_REGISTERED', `no schema id for topic ${topic}: prepare() was not called`, { object: topic });
    const out = Buffer.allocUnsafe(5 + value.length);
    out[0] = 0;
    out.writeInt32BE(id, 1);
    value.copy(out, 5);
    return out;
  }

  private async register(subject: string): Promise<number> {
    const url = `${this.base}/subjects/${encodeURIComponent(subject)}/versions`;
    const headers: Record<string, string> = { 'content-type': CONTENT_TYPE, accept: CONTENT_TYPE };
    if (this.opts.auth) headers.authorization = `Basic ${Buffer.from(`${this.opts.auth.username}:${this.opts.auth.password}`).toString('base64')}`;
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(url, { method: 'POST', headers, body: JSON.stringify({ schema: this.schemaText }), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
    } catch (err) {
      throw new ConnectionError('SCHEMA_REGISTRY_UNREACHABLE', `schema registry ${this.base} unreachable while registering ${subject}: ${(err as Error).message}`, {
        object: this.base,
        field: 'destination.kafka.schemaRegistry.url',
        fix: 'Check the schema registry URL and that it is reachable from here.',
      });
    }
    const text = await res.text();
    let body: { id?: unknown; error_code?: unknown; message?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      /* not JSON: reported below */
    }
    if (res.ok && typeof body.id === 'number') return body.id;
    const detail = `schema registry ${this.base} answered ${res.status}${body.error_code !== undefined ? ` (error_code ${String(body.error_code)})` : ''} registering ${subject}: ${typeof body.message === 'string' ? body.message : text.slice(0, 200)}`;
    if (res.status === 409) throw new FatalError('SCHEMA_INCOMPATIBLE', detail, { object: subject, fix: `The subject ${subject} holds a schema incompatible with DTS Avro: use another topic, or change the subject's compatibility level.` });
    if (res.status === 422) throw new FatalError('SCHEMA_INVALID', detail, { object: subject, fix: 'The registry rejected the DTS Avro schema as invalid; check that it speaks the Confluent API.' });
    if (res.status === 401 || res.status === 403) throw new FatalError('SCHEMA_REGISTRY_AUTH', detail, { object: this.base, fix: 'Check the schema registry credentials and that they may register subjects.' });
    if (res.status >= 500) throw new TransientError('SCHEMA_REGISTRY_ERROR', detail, { object: this.base });
    throw new FatalError('SCHEMA_REGISTRY_ERROR', detail, { object: this.base, fix: 'Check destination.kafka.schemaRegistry.url: it must point at a Confluent-compatible registry.' });
  }
}
