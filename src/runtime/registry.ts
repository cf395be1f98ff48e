import type { Checkpoint } from '../checkpoints/store.js';
import type { Logger, Sink, Source } from '../core/contracts.js';
import { FatalError } from '../core/errors.js';
import type { TaskConfig } from '../config/schema.js';
import type { Format } from '../formats/index.js';
import type { ObjectSelector } from '../operators/index.js';
import type { ObjectPlan } from './objects.js';

/** What a source or sink factory gets to build its component for one task. */
export interface ComponentContext {
  config: TaskConfig;
  plan: ObjectPlan;
  selector: ObjectSelector;
  logger: Logger;
  registry: Registry;
  /** The task's checkpoint, for sinks that commit it with the data (Kafka exactly-once). */
  checkpoint?: { current(): Checkpoint; committed(cp: Checkpoint): void };
}

export type SourceFactory = (ctx: ComponentContext) => Source;
export type SinkFactory = (ctx: ComponentContext, source: Source) => Sink;
export type FormatFactory = () => Format;

/**
 * Components by name. A runtime is created with a registry; nothing registers itself on import.
 * `defaultRegistry()` (in defaults.ts) registers everything Tributary ships. Sources are looked up
 * by `source.type`, sinks by the destination (`kafka`, `mongodb`), formats by `destination.kafka.format`.
 *
 * @example
 * ```ts
 * // A dry run: every task's Kafka destination only counts what it would write.
 * const registry = defaultRegistry().registerSink('kafka', () => ({
 *   kind: 'kafka',
 *   precheck: async () => [],
 *   write: async (batch) => console.log(`${batch.items.length} events`), // resolving = durable
 *   close: async () => {},
 * }));
 * const runtime = createRuntime({ registry });
 * ```
 */
export class Registry {
  private readonly sources = new Map<string, SourceFactory>();
  private readonly sinks = new Map<string, SinkFactory>();
  private readonly formats = new Map<string, FormatFactory>();

  registerSource(type: string, factory: SourceFactory): this {
    this.sources.set(type, factory);
    return this;
  }
  registerSink(type: string, factory: SinkFactory): this {
    this.sinks.set(type, factory);
    return this;
  }
  registerFormat(name: string, factory: FormatFactory): this {
    this.formats.set(name, factory);
    return this;
  }

  source(type: string): SourceFactory {
    const f = this.sources.get(type);
    if (!f) throw new FatalError('UNKNOWN_SOURCE', `No source named '${type}' is registered.`, { field: 'source.type', fix: `Register one, or use one of: ${[...this.sources.keys()].join(', ')}.` });
    return f;
  }
  sink(type: string): SinkFactory {
    const f = this.sinks.get(type);
    if (!f) throw new FatalError('UNKNOWN_DESTINATION', `No destination named '${type}' is registered.`, { field: 'destination', fix: `Register one, or use one of: ${[...this.sinks.keys()].join(', ')}.` });
    return f;
  }
  format(name: string): Format {
    const f = this.formats.get(name);
    if (!f) throw new FatalError('UNKNOWN_FORMAT', `No format named '${name}' is registered.`, { field: 'destination.kafka.format', fix: `Use one of: ${[...this.formats.keys()].join(', ')}.` });
    return f();
  }
}
