import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LosslessPgoutputPlugin } from '../../src/sources/postgres/pgoutput.js';
import { FastReplicationService } from '../../src/sources/postgres/replication.js';
import { createTestDatabase, pgConfig, withPg } from './support.js';

/**
 * A stopped replication service's pg client must not turn a late server error into an unhandled
 * 'error' event. Seen in the cluster failover test: a worker resumed after SIGSTOP stops its tasks
 * while the new owner terminates its replication backend (57P01); the library's stop removes every
 * listener from the ending client, and the process died.
 */
describe('replication service stop', () => {
  let db: { database: string; drop: () => Promise<void> };
  const slot = 'stop_race_slot';

  beforeAll(async () => {
    db = await createTestDatabase('replstop');
    await withPg(db.database, async (c) => {
      await c.query('CREATE TABLE t (id int PRIMARY KEY)');
      await c.query('CREATE PUBLICATION stop_race_pub FOR TABLE t');
      await c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    });
  });
  afterAll(async () => {
    await withPg(db.database, (c) => c.query('SELECT pg_drop_replication_slot($1)', [slot])).catch(() => undefined);
    await db.drop();
  });

  it('a server error arriving after stop (a terminated backend) is not an unhandled error', async () => {
    const service = new FastReplicationService({ ...pgConfig(db.database) }, () => undefined);
    const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
    const done = service.subscribe(new LosslessPgoutputPlugin({ publicationNames: ['stop_race_pub'] }), slot).catch((e: unknown) => e);
    await started;
    const client = (service as unknown as { _client: pg.Client })._client;
    const backend = (await withPg(db.database, (c) => c.query<{ pid: number }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [slot]))).rows[0]?.pid;
    expect(typeof backend).toBe('number');
    await service.stop();
    await done;
    // What pg does when the server's FATAL 57P01 reaches a client nobody listens to any more.
    const late = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    expect(() => client.emit('error', late)).not.toThrow();
  }, 30_000);
});
