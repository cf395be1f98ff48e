import { FatalError } from '../core/errors.js';
import type { ClusterFullSyncOptions } from './cluster.js';

/** `joinCluster({ fullSync })` with its defaults filled in; a value out of range is refused, naming it. */
export function fullSyncOptionsOf(o: ClusterFullSyncOptions | undefined, sessionTimeoutMs: number): Required<ClusterFullSyncOptions> {
  const int = (field: keyof ClusterFullSyncOptions, v: number | undefined, min: number, fallback: number): number => {
    if (v === undefined) return fallback;
    if (!Number.isInteger(v) || v < min) {
      throw new FatalError('CONFIG_INVALID', `Cluster option fullSync.${field} is ${String(v)}; it takes an integer of at least ${min}.`, { field: `fullSync.${field}`, fix: `Set fullSync.${field} to an integer ≥ ${min}, or leave it out for the default (${fallback}).` });
    }
    return v;
  };
  if (o?.spread !== undefined && typeof o.spread !== 'boolean') {
    throw new FatalError('CONFIG_INVALID', `Cluster option fullSync.spread is ${String(o.spread)}; it takes true or false.`, { field: 'fullSync.spread', fix: 'Set fullSync.spread to true or false.' });
  }
  return {
    spread: o?.spread ?? true,
    helpers: int('helpers', o?.helpers, 0, 2),
    maxInFlight: int('maxInFlight', o?.maxInFlight, 1, 64),
    helperTimeoutMs: int('helperTimeoutMs', o?.helperTimeoutMs, 1, sessionTimeoutMs),
  };
}
