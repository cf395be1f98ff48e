/**
 * The task schema of the plug-ins Tributary ships (runtime/defaults.ts), composed once: what
 * `tributary validate`, `tributary docs` and the HTTP API's JSON schema use. A runtime created
 * with its own registry validates with that registry's composition instead.
 */
import { SHIPPED_PLUGINS } from '../runtime/defaults.js';
import { Registry } from '../runtime/registry.js';
import type { TaskSchemas } from './compose.js';

let shipped: TaskSchemas | null = null;

export function shippedSchemas(): TaskSchemas {
  if (shipped === null) {
    const registry = new Registry();
    for (const plugin of SHIPPED_PLUGINS) registry.register(plugin);
    shipped = registry.taskSchemas();
  }
  return shipped;
}
