import { describe, expect, it } from 'vitest';
import { fullSyncOptionsOf } from '../../../src/cluster/fullSyncOptions.js';

describe('joinCluster({ fullSync }) options', () => {
  it('fills in the defaults: spread on, 2 helper slots, 64 in flight, the session timeout', () => {
    expect(fullSyncOptionsOf(undefined, 10_000)).toEqual({ spread: true, helpers: 2, maxInFlight: 64, helperTimeoutMs: 10_000 });
    expect(fullSyncOptionsOf({ spread: false, helpers: 0, maxInFlight: 8, helperTimeoutMs: 3000 }, 10_000)).toEqual({ spread: false, helpers: 0, maxInFlight: 8, helperTimeoutMs: 3000 });
  });

  it.each([
    [{ helpers: -1 }, 'fullSync.helpers'],
    [{ helpers: 1.5 }, 'fullSync.helpers'],
    [{ maxInFlight: 0 }, 'fullSync.maxInFlight'],
    [{ helperTimeoutMs: 0 }, 'fullSync.helperTimeoutMs'],
    [{ spread: 'yes' as unknown as boolean }, 'fullSync.spread'],
  ])('refuses %j, naming %s', (o, field) => {
    expect(() => fullSyncOptionsOf(o, 10_000)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field }));
  });
});
