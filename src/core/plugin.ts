/**
 * The plug-in contract: a source, a sink or a format is one folder that exports one descriptor.
 * The descriptor says what the plug-in is called, which options it takes (a zod schema: the task
 * schema and `tributary docs` are composed from the registered descriptors), how it is created,
 * how its errors are classified, and what it can do. The runtime reads the capabilities; it never
 * probes an instance.
 */
import type { ZodType } from 'zod';
import type { TributaryError } from './errors.js';

/** Where a cross-field rule reports a problem: the option's path, what is wrong, what to do. */
export type ConfigReport = (path: (string | number)[], message: string, fix: string) => void;

export interface PluginDescriptor<Config, Context, Instance, Capabilities> {
  /** The name configs use: `source.type`, the `destination` key, `destination.kafka.format`. */
  readonly type: string;
  /** How messages and the docs name it (`PostgreSQL`, `Apache Kafka`, `Canal JSON`). */
  readonly title: string;
  /** How messages name a configured instance, when that depends on its options (a flavour). */
  titleOf?(config: unknown): string;
  /** Its own options (validation, defaults and documentation in one); `create` gets them parsed. */
  readonly configSchema: ZodType;
  /**
   * Rules between its own options, run on a value that may be partly invalid (every field
   * checked before use), so that every problem of a config is reported at once.
   */
  checkConfig?(config: unknown, report: ConfigReport): void;
  create(config: Config, context: Context): Instance;
  /** Which of its errors pass with time: only those are retried; the rest fail the task at once. */
  classifyError(err: unknown, context: string): TributaryError;
  readonly capabilities: Capabilities;
}

/** What a source declares about itself. */
export interface SourceCapabilities {
  /** Reads existing data (full synchronization). */
  readonly snapshot: boolean;
  /** Streams later changes (incremental synchronization). */
  readonly stream: boolean;
  /** The name the formats' clients know it by (DTS Avro `source.sourceType`: `PostgreSQL`, `DB2`). */
  readonly productName: string;
  /** Its rows are whole documents keyed by `_id` (MongoDB-like), not rows of columns. */
  readonly documents: boolean;
  /** Delivers DDL events. */
  readonly ddl: boolean;
  /** Reports the change log it keeps for the task (`Source.retainedWalBytes`), for the lag metrics. */
  readonly retainedLog: boolean;
  /** Describes its objects for destinations that create them (`Source.objectDefinitions`). */
  readonly objectDefinitions: boolean;
  /**
   * The one database a task of this source reads, from its config (relational sources); absent
   * when a task spans databases (MongoDB).
   */
  database?(config: unknown): string | undefined;
}
