/**
 * The task schema composed from the registered plug-ins: `source` is the union of the source
 * descriptors' schemas (by `type`), `destination` has one optional section per sink descriptor,
 * a sink's format option lists the registered formats, and each plug-in's own rules run beside the
 * task-wide ones. The shipped composition is `shippedSchemas()` (shipped.ts).
 */
import { z } from 'zod';
import type { ConfigReport } from '../core/plugin.js';
import { checkTask, finalizeTask, taskFileSchema, type CheckPlugins, type Loose, type TaskConfig, type TaskConfigInput, type TaskConfigParsed } from './schema.js';

/** What composing needs of a descriptor. */
export interface SchemaPlugin {
  readonly type: string;
  readonly title: string;
  readonly configSchema: z.ZodType;
  checkConfig?(config: unknown, report: ConfigReport): void;
  titleOf?(config: unknown): string;
}
export interface SourceSchemaPlugin extends SchemaPlugin {
  readonly capabilities: { readonly documents: boolean; database?(config: unknown): string | undefined };
}
export interface SinkSchemaPlugin extends SchemaPlugin {
  readonly capabilities: { readonly formatOption?: string };
}

/** The file schema (what a task file may contain) and the task schema (cross-field rules, derived defaults). */
export interface TaskSchemas {
  file: z.ZodObject & z.ZodType<TaskConfigParsed, TaskConfigInput>;
  task: z.ZodType<TaskConfig, TaskConfigInput>;
}

type AnyObject = z.ZodObject<{ type: z.ZodLiteral<string> }>;

/** A sink's schema with its format option listing the registered formats. */
function withFormats(sink: SinkSchemaPlugin, formats: readonly string[]): z.ZodType {
  const option = sink.capabilities.formatOption;
  const schema = sink.configSchema as z.ZodObject;
  if (option === undefined || formats.length === 0) return schema;
  const described = schema.shape[option]?.description ?? 'Message format.';
  return schema.extend({ [option]: z.enum(formats as [string, ...string[]]).optional().describe(described) }).describe(schema.description ?? sink.title);
}

export function composeTaskSchemas(plugins: { sources: readonly SourceSchemaPlugin[]; sinks: readonly SinkSchemaPlugin[]; formats: readonly { type: string }[] }): TaskSchemas {
  const sources = new Map(plugins.sources.map((d) => [d.type, d]));
  const sinks = new Map(plugins.sinks.map((d) => [d.type, d]));
  const formats = plugins.formats.map((f) => f.type);
  const [first, ...rest] = plugins.sources.map((d) => d.configSchema as AnyObject);
  if (first === undefined) throw new Error('a task schema needs at least one registered source');
  const source = z.discriminatedUnion('type', [first, ...rest]).describe('Where changes are read from.');
  const destination = z
    .strictObject(Object.fromEntries(plugins.sinks.map((d) => [d.type, withFormats(d, formats).optional()])))
    .describe(`Where changes are written: exactly one of ${plugins.sinks.map((d) => `\`${d.type}\``).join(' or ')}.`);
  const file = taskFileSchema(source, destination) as unknown as TaskSchemas['file'];

  const sourceOf = (src: unknown): SourceSchemaPlugin | undefined => {
    const type = (src as { type?: unknown } | undefined)?.type;
    return typeof type === 'string' ? sources.get(type) : undefined;
  };
  const check: CheckPlugins = {
    sourceTitle: (src) => {
      const d = sourceOf(src);
      return d === undefined ? 'this' : (d.titleOf?.(src) ?? d.title);
    },
    sourceDatabase: (src) => sourceOf(src)?.capabilities.database?.(src),
    checkSections: (input, report) => {
      if (input.source !== null && typeof input.source === 'object') sourceOf(input.source)?.checkConfig?.(input.source, report);
      const dst = input.destination;
      if (dst === null || typeof dst !== 'object') return;
      for (const [key, section] of Object.entries(dst)) {
        if (section !== null && typeof section === 'object') sinks.get(key)?.checkConfig?.(section, report);
      }
    },
  };
  const task = file
    .superRefine(
      (value, ctx) => {
        if (value === null || typeof value !== 'object') return;
        checkTask(value as Loose<TaskConfigParsed>, (path, message, fix) => ctx.addIssue({ code: 'custom', path, message, params: { fix } }), check);
      },
      { when: () => true },
    )
    .transform((cfg) => finalizeTask(cfg, sourceOf(cfg.source)?.capabilities.documents ?? false));
  return { file, task };
}
