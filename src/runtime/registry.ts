import type { Checkpoint } from '../checkpoints/store.js';
import type { Logger, Sink, Source } from '../core/contracts.js';
import { FatalError } from '../core/errors.js';
import type { PluginDescriptor, SourceCapabilities } from '../core/plugin.js';
import type { TaskConfig } from '../config/schema.js';
import { composeTaskSchemas, type TaskSchemas } from '../config/compose.js';
import type { Format, FormatDescriptor } from '../formats/format.js';
import type { ObjectSelector } from '../operators/index.js';
import type { ObjectPlan } from './objects.js';

/** What a source or sink gets to build its component for one task. */
export interface ComponentContext {
  config: TaskConfig;
  plan: ObjectPlan;
  selector: ObjectSelector;
  logger: Logger;
  registry: Registry;
  /** The task's checkpoint, for sinks that commit it with the data (Kafka exactly-once). */
  checkpoint?: { current(): Checkpoint; committed(cp: Checkpoint): void };
}

/** What a sink gets besides the task: the source it writes for (its shapes, for destination prechecks). */
export interface SinkContext extends ComponentContext {
  source: Source;
}

/** What a sink declares before it is created. */
export interface SinkDescriptorCapabilities {
  /** It can commit the data together with the task's positions (exactly-once), when configured to. */
  readonly transactional: boolean;
  /** It creates destination objects from the source's definitions (`syncTypes.schema`). */
  readonly createsObjects: boolean;
  /** The name of its option that selects a registered format, when it writes through one. */
  readonly formatOption?: string;
}

// The config type parameter is `never` for a registered descriptor: the runtime only hands a
// descriptor the config its own schema parsed, so a descriptor of any config type may be registered.
export interface SourceDescriptor<Config = never> extends PluginDescriptor<Config, ComponentContext, Source, SourceCapabilities> {
  readonly role: 'source';
}
export interface SinkDescriptor<Config = never> extends PluginDescriptor<Config, SinkContext, Sink, SinkDescriptorCapabilities> {
  readonly role: 'sink';
}
export type AnyDescriptor = SourceDescriptor | SinkDescriptor | FormatDescriptor;

export type SourceFactory = (ctx: ComponentContext) => Source;
export type SinkFactory = (ctx: ComponentContext, source: Source) => Sink;
export type FormatFactory = () => Format;

/**
 * Plug-ins by name. A runtime is created with a registry; nothing registers itself on import.
 * `defaultRegistry()` (in defaults.ts) registers everything Tributary ships, one line per plug-in.
 * Sources are looked up by `source.type`, sinks by the destination key (`kafka`, `mongodb`),
 * formats by `destination.kafka.format`. The task schema is composed from the registered
 * descriptors' schemas (`taskSchemas()`).
 *
 * @example
 * ```ts
 * // A plug-in of your own: one descriptor, one line.
 * const registry = defaultRegistry().register(myCsvSource);
 * // A dry run: every task's Kafka destination only counts what it would write.
 * registry.registerSink('kafka', () => ({
 *   kind: 'kafka',
 *   capabilities: { maxInFlightWrites: 1, transactional: false },
 *   precheck: async () => [],
 *   write: async (batch) => console.log(`${batch.items.length} events`), // resolving = durable
 *   close: async () => {},
 * }));
 * const runtime = createRuntime({ registry });
 * ```
 */
export class Registry {
  private readonly sources = new Map<string, SourceDescriptor>();
  private readonly sinks = new Map<string, SinkDescriptor>();
  private readonly formats = new Map<string, FormatDescriptor>();
  private schemas: TaskSchemas | null = null;

  /** Registers a plug-in by its descriptor (replacing one of the same role and type). */
  register(descriptor: AnyDescriptor): this {
    const by: Map<string, AnyDescriptor> = descriptor.role === 'source' ? this.sources : descriptor.role === 'sink' ? this.sinks : this.formats;
    by.set(descriptor.type, descriptor);
    this.schemas = null;
    return this;
  }

  /** Replaces how a registered source is created (its options and capabilities stay), e.g. with a test double. */
  registerSource(type: string, factory: SourceFactory): this {
    const d = this.sourceDescriptor(type);
    return this.register({ ...d, create: (_config: never, ctx: ComponentContext) => factory(ctx) });
  }
  /** Replaces how a registered sink is created (its options and capabilities stay). */
  registerSink(type: string, factory: SinkFactory): this {
    const d = this.sinkDescriptor(type);
    return this.register({ ...d, create: (_config: never, ctx: SinkContext) => factory(ctx, ctx.source) });
  }
  /** Replaces how a registered format is created. */
  registerFormat(name: string, factory: FormatFactory): this {
    const d = this.formats.get(name);
    if (!d) throw unknownFormat(name, this.formats.keys());
    return this.register({ ...d, create: () => factory() });
  }

  sourceDescriptor(type: string): SourceDescriptor {
    const d = this.sources.get(type);
    if (!d) throw new FatalError('UNKNOWN_SOURCE', `No source named '${type}' is registered.`, { field: 'source.type', fix: `Register one, or use one of: ${[...this.sources.keys()].join(', ')}.` });
    return d;
  }
  sinkDescriptor(type: string): SinkDescriptor {
    const d = this.sinks.get(type);
    if (!d) throw new FatalError('UNKNOWN_DESTINATION', `No destination named '${type}' is registered.`, { field: 'destination', fix: `Register one, or use one of: ${[...this.sinks.keys()].join(', ')}.` });
    return d;
  }

  /** The source a task reads, created from its own section of the config. */
  source(type: string): SourceFactory {
    const d = this.sourceDescriptor(type);
    return (ctx) => d.create(ctx.config.source as never, ctx);
  }
  /** The sink a task writes, created from its own section of the config. */
  sink(type: string): SinkFactory {
    const d = this.sinkDescriptor(type);
    return (ctx, source) => d.create((ctx.config.destination as Record<string, unknown>)[type] as never, { ...ctx, source });
  }
  format(name: string): Format {
    const d = this.formats.get(name);
    if (!d) throw unknownFormat(name, this.formats.keys());
    return d.create({}, {});
  }

  /** The registered descriptors, in registration order. */
  descriptors(): { sources: SourceDescriptor[]; sinks: SinkDescriptor[]; formats: FormatDescriptor[] } {
    return { sources: [...this.sources.values()], sinks: [...this.sinks.values()], formats: [...this.formats.values()] };
  }

  /** The task schema (and the file schema it refines) composed from the registered descriptors. */
  taskSchemas(): TaskSchemas {
    this.schemas ??= composeTaskSchemas(this.descriptors());
    return this.schemas;
  }
}

function unknownFormat(name: string, known: Iterable<string>): FatalError {
  return new FatalError('UNKNOWN_FORMAT', `No format named '${name}' is registered.`, { field: 'destination.kafka.format', fix: `Use one of: ${[...known].join(', ')}.` });
}
