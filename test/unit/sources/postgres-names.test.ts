import { describe, expect, it } from 'vitest';
import { validateTaskConfig } from '../../../src/config/index.js';
import { REPLICATION_SLOT_NAME } from '../../../src/config/schema.js';
import type { ComponentContext } from '../../../src/runtime/registry.js';
import { planObjects } from '../../../src/runtime/objects.js';
import { defaultRegistry } from '../../../src/runtime/defaults.js';
import { PostgresSource } from '../../../src/sources/postgres/source.js';
import { markedTask, publicationMark } from '../../../src/sources/postgres/publication.js';
import { SLOT_NAME_PATTERN, defaultReplicationName, slotMismatch } from '../../../src/sources/postgres/slot.js';
import { issuesOf, pgTask } from '../config/helpers.js';

/** The Postgres source the default registry builds for a task config (nothing connects). */
function sourceFor(overrides: Record<string, unknown>, name = 'pg-task'): PostgresSource {
  const config = validateTaskConfig(pgTask({ name, source: { type: 'postgres', host: 'db', user: 'u', password: 'pg-Secret-1', database: 'shop', ...overrides } }), { env: {} });
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const ctx = { config, plan: planObjects(config), selector: { selectsTable: () => true }, logger: quiet } as unknown as ComponentContext;
  const source = defaultRegistry().source('postgres')(ctx);
  if (!(source instanceof PostgresSource)) throw new Error('expected a PostgresSource');
  return source;
}

describe('PostgreSQL slot and publication names', () => {
  it('uses source.slotName and source.publication verbatim', () => {
    const s = sourceFor({ slotName: 'my_slot', publication: 'My_Pub' });
    expect(s.slot).toBe('my_slot');
    expect(s.publication).toBe('My_Pub');
    // A name that happens to carry the old prefix is not stripped either.
    expect(sourceFor({ slotName: 'dts_sync_orders' }).slot).toBe('dts_sync_orders');
  });

  it('defaults both to tributary_<task name>, with "-" written "_", as the configuration reference says', () => {
    const s = sourceFor({}, 'orders-to-kafka');
    expect(s.slot).toBe('tributary_orders_to_kafka');
    expect(s.publication).toBe('tributary_orders_to_kafka');
    // The publication defaults on its own when only the slot is named.
    expect(sourceFor({ slotName: 'my_slot' }, 'orders-to-kafka').publication).toBe('tributary_orders_to_kafka');
  });

  it('shortens a default past 63 characters to a valid, distinct slot name', () => {
    const a = `${'a'.repeat(60)}-1`;
    const b = `${'a'.repeat(60)}-2`;
    for (const n of [a, b]) {
      const name = defaultReplicationName(n);
      expect(name).toHaveLength(63);
      expect(name).toMatch(SLOT_NAME_PATTERN);
      expect(name.startsWith(`tributary_${'a'.repeat(44)}`)).toBe(true);
    }
    expect(defaultReplicationName(a)).not.toBe(defaultReplicationName(b));
    expect(defaultReplicationName(a)).toBe(defaultReplicationName(a));
    expect(defaultReplicationName('x'.repeat(53))).toBe(`tributary_${'x'.repeat(53)}`);
  });

  it('refuses a slotName that is no valid replication slot name, naming the field and the rule', () => {
    for (const bad of ['My_Slot', 'orders-slot', 'slot.1', 's'.repeat(64)]) {
      const issues = issuesOf(pgTask({ source: { type: 'postgres', host: 'db', database: 'shop', slotName: bad } }));
      expect(issues, bad).toHaveLength(1);
      expect(issues[0]?.path).toBe('source.slotName');
      expect(issues[0]?.message).toBe('is not a valid replication slot name: PostgreSQL takes 1-63 characters, only lowercase letters, digits and "_"');
      expect(issues[0]?.fix).toMatch(/orders_slot/);
    }
    expect(() => validateTaskConfig(pgTask({ source: { type: 'postgres', host: 'db', database: 'shop', slotName: 's'.repeat(63) } }), { env: {} })).not.toThrow();
    // The config and the source apply one rule.
    expect(REPLICATION_SLOT_NAME.source).toBe(SLOT_NAME_PATTERN.source);
  });

  it('refuses a publication name PostgreSQL would truncate', () => {
    const issues = issuesOf(pgTask({ source: { type: 'postgres', host: 'db', database: 'shop', publication: 'é'.repeat(32) } }));
    expect(issues.map((i) => [i.path, i.message])).toEqual([['source.publication', 'is not a valid publication name: PostgreSQL keeps at most 63 bytes of a name']]);
  });

  it('a source built with an invalid slot name fails at once', () => {
    expect(
      () =>
        new PostgresSource({
          taskId: 't',
          slotName: 'Bad-Name',
          connection: { database: 'd' },
          flavour: 'postgres',
          select: () => true,
          heartbeat: { enabled: false, intervalMs: 1000, schema: 'public' },
          chunkRows: 1000,
        }),
    ).toThrow(/'Bad-Name' is not a valid replication slot name: 1-63 characters, only lowercase letters, digits and "_"/);
  });

  it('marks the publications it creates with the task, and reads the mark back', () => {
    expect(markedTask(publicationMark('orders-to-kafka'))).toBe('orders-to-kafka');
    expect(markedTask(null)).toBeNull();
    expect(markedTask('publication for the analytics team')).toBeNull();
  });

  it('judges an existing slot: another database, another plugin, another reader', () => {
    const ok = { slotType: 'logical', plugin: 'pgoutput', database: 'shop', activePid: null, application: null, clientAddress: null };
    expect(slotMismatch(ok, 's', 'shop', 'tributary/t')).toBeNull();
    expect(slotMismatch({ ...ok, database: 'other' }, 's', 'shop', 'tributary/t')?.detail).toBe('replication slot s exists but belongs to database other, not shop (slot names are unique per server)');
    expect(slotMismatch({ ...ok, plugin: 'wal2json' }, 's', 'shop', 'tributary/t')?.detail).toBe('replication slot s exists but decodes with plugin wal2json; Tributary reads pgoutput');
    expect(slotMismatch({ ...ok, slotType: 'physical', plugin: null, database: null }, 's', 'shop', 'tributary/t')?.detail).toBe('replication slot s exists and is a physical slot, not a logical one');
    const busy = { ...ok, activePid: 42, application: 'debezium', clientAddress: '10.0.0.5' };
    expect(slotMismatch(busy, 's', 'shop', 'tributary/t')?.detail).toMatch(/^replication slot s is in use by another connection \(pid 42, application_name 'debezium', from 10\.0\.0\.5\)/);
    expect(slotMismatch(busy, 's', 'shop', 'tributary/t')?.fix).toContain('SELECT pg_terminate_backend(42);');
    // The task's own walsender, and use when use is not judged, are no mismatch.
    expect(slotMismatch({ ...busy, application: 'tributary/t' }, 's', 'shop', 'tributary/t')).toBeNull();
    expect(slotMismatch(busy, 's', 'shop', null)).toBeNull();
  });
});
