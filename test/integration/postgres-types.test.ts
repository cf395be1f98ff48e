import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { createTestDatabase, createTopic, deleteTopics, kafkaClient, uniqueName, withPg } from './support.js';

interface CanalMessage {
  table: string;
  type: string;
  pkNames: string[] | null;
  data: Array<Record<string, string | null>> | null;
  old: Array<Record<string, string | null>> | null;
}

const COLUMNS = [
  'id', 'c_int2', 'c_int4', 'c_int8', 'c_numeric', 'c_float8', 'c_bool', 'c_text', 'c_bytea', 'c_uuid', 'c_json', 'c_jsonb',
  'c_int_arr', 'c_text_arr', 'c_date', 'c_ts', 'c_tstz', 'c_time', 'c_interval', 'c_enum', 'c_domain', 'c_composite', 'c_range', 'c_toast',
];

/** PostgreSQL's own text form of every column of row `id` (bytea as lowercase hex without `\x`, as Canal JSON writes it). */
async function textForm(database: string, id: number): Promise<Record<string, string | null>> {
  return withPg(database, async (c) => {
    const r = await c.query<Record<string, string | null>>(`SELECT ${COLUMNS.map((n) => `${n}::text AS ${n}`).join(', ')} FROM public.typed WHERE id = $1`, [id]);
    const row = r.rows[0];
    if (!row) throw new Error(`row ${id} missing`);
    if (row.c_bytea !== null && row.c_bytea !== undefined) row.c_bytea = row.c_bytea.replace(/^\\x/, '');
    return row;
  });
}

function diff(want: Record<string, string | null>, got: Record<string, string | null> | undefined): string[] {
  return COLUMNS.filter((c) => got?.[c] !== want[c]).map((c) => `${c}: Kafka ${JSON.stringify(got?.[c])?.slice(0, 120)} vs PostgreSQL ${JSON.stringify(want[c])?.slice(0, 120)}`);
}

describe('PostgreSQL types end to end (Canal JSON): every value in PostgreSQL text form, TOAST kept', () => {
  let db: { database: string; drop: () => Promise<void> };
  let runtime: Runtime;
  let dir: string;
  let consumer: Consumer;
  const topic = uniqueName('pgtypes');
  const messages: CanalMessage[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('pgtypes');
    dir = await mkdtemp(join(tmpdir(), 'trib-types-'));
    await createTopic(topic, 1);
    await withPg(db.database, async (c) => {
      await c.query(`CREATE TYPE mood AS ENUM ('happy', 'it''s "sad"')`);
      await c.query('CREATE DOMAIN posint AS int CHECK (VALUE > 0)');
      await c.query('CREATE TYPE pair AS (a int, b text)');
      await c.query(`CREATE TABLE public.typed (
        id int PRIMARY KEY, c_int2 int2, c_int4 int4, c_int8 int8, c_numeric numeric(38,10), c_float8 float8, c_bool bool,
        c_text text, c_bytea bytea, c_uuid uuid, c_json json, c_jsonb jsonb, c_int_arr int[], c_text_arr text[],
        c_date date, c_ts timestamp(6), c_tstz timestamptz(6), c_time time, c_interval interval,
        c_enum mood, c_domain posint, c_composite pair, c_range int4range, c_toast text)`);
      await c.query(`INSERT INTO public.typed VALUES (
        1, -32768, 2147483647, 9007199254740993, 1234567890123456789012345678.1234567891, 1.5e-7, true,
        E'it''s "quoted" \\\\ back\\\\slash, tab\\t, 日本語 😀', '\\x00ff10ABcd'::bytea, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
        '{"b": 1,  "a": [1.50, 12345678901234567890]}', '{"big": 123456789012345678901234567890, "f": 1.50, "s": "x\\"y"}',
        '{1,2,NULL,-3}', ARRAY['a b', 'c,d', 'e"f', NULL, 'g\\h'],
        '2024-02-29', '2024-02-29 12:34:56.123456', '2024-02-29 12:34:56.123456+05:30', '23:59:59.999999',
        '1 year 2 mons 3 days 04:05:06.789', 'it''s "sad"', 42, ROW(7, 'x, "y"'), '[1,10)',
        (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400)))`);
      await c.query(`INSERT INTO public.typed (id, c_bool, c_float8, c_int8, c_numeric, c_toast) VALUES (2, false, 1e20, -9223372036854775808, -0.0000000001, NULL)`);
    });
    runtime = createRuntime({ confirmIntervalMs: 200 });
    consumer = kafkaClient().consumer({ groupId: uniqueName('g') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        messages.push(JSON.parse(message.value?.toString() ?? 'null') as CanalMessage);
      },
    });
  }, 120_000);

  afterAll(async () => {
    await runtime?.shutdown();
    await consumer?.disconnect();
    await db?.drop();
    await deleteTopics(topic).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const waitFor = async (what: string, find: () => CanalMessage | undefined, timeoutMs = 30_000): Promise<CanalMessage> => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const m = find();
      if (m) return m;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}; got ${messages.length} messages: ${JSON.stringify(messages.map((m) => [m.type, m.data?.[0]?.id]))}`);
  };

  it('full sync and an update in the stream carry each value exactly as PostgreSQL prints it', async () => {
    // The TOASTed value is stored out of line (compressed it still exceeds 2 kB).
    const toasted = await withPg(db.database, async (c) => {
      const r = await c.query<{ len: number; stored: number }>(`SELECT octet_length(c_toast) AS len, pg_column_size(c_toast) AS stored FROM public.typed WHERE id = 1`);
      const t = await c.query<{ toast: string }>(`SELECT reltoastrelid::regclass::text AS toast FROM pg_class WHERE oid = 'public.typed'::regclass`);
      const n = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.rows[0]?.toast ?? 'missing'}`);
      return { ...r.rows[0], chunks: n.rows[0]?.n ?? 0 };
    });
    expect(toasted.len).toBe(12800);
    expect(toasted.stored).toBeGreaterThan(2048);
    expect(toasted.chunks).toBeGreaterThan(0);

    const full1 = await textForm(db.database, 1);
    const full2 = await textForm(db.database, 2);
    const task = runtime.add({
      name: uniqueName('types').replace(/_/g, '-'),
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: db.database },
      destination: { kafka: { brokers: [...servers.kafka.brokers], topic, format: 'canal-json' } },
      objects: [{ schema: 'public', table: 'typed' }],
      checkpoints: { store: 'file', dir },
    });
    task.start();
    await task.waitFor((s) => s.state === 'incremental' || s.state === 'failed' || s.state === 'precheckFailed', 60_000);
    expect(task.status.lastError).toBeNull();
    expect(task.status.state).toBe('incremental');

    const ins1 = await waitFor('snapshot row 1', () => messages.find((m) => m.type === 'INSERT' && m.data?.[0]?.id === '1'));
    const ins2 = await waitFor('snapshot row 2', () => messages.find((m) => m.type === 'INSERT' && m.data?.[0]?.id === '2'));
    expect(diff(full1, ins1.data?.[0])).toEqual([]);
    expect(diff(full2, ins2.data?.[0])).toEqual([]);
    expect(ins1.data?.[0]?.c_bool).toBe('true');
    expect(ins2.data?.[0]?.c_bool).toBe('false');
    expect(ins1.data?.[0]?.c_bytea).toBe('00ff10abcd');
    expect(ins1.data?.[0]?.c_int8).toBe('9007199254740993');

    // An update of one column in the stream: the unchanged TOASTed column arrives in full.
    await withPg(db.database, async (c) => {
      await c.query('UPDATE public.typed SET c_int4 = c_int4 - 1 WHERE id = 1');
      await c.query(`UPDATE public.typed SET c_float8 = -2.5e-300, c_bool = true, c_jsonb = '{"n": 18446744073709551616}', c_int_arr = '{}', c_interval = '-1 days +02:00:00', c_bytea = '\\x', c_tstz = 'infinity', c_date = '0044-03-15 BC' WHERE id = 2`);
    });
    const upd1 = await waitFor('update of row 1', () => messages.find((m) => m.type === 'UPDATE' && m.data?.[0]?.id === '1'));
    const upd2 = await waitFor('update of row 2', () => messages.find((m) => m.type === 'UPDATE' && m.data?.[0]?.id === '2'));
    const after1 = await textForm(db.database, 1);
    const after2 = await textForm(db.database, 2);
    expect(diff(after1, upd1.data?.[0])).toEqual([]);
    expect(diff(after2, upd2.data?.[0])).toEqual([]);
    expect(upd1.data?.[0]?.c_toast).toBe(full1.c_toast);
    expect(upd1.data?.[0]?.c_toast?.length).toBe(12800);
    expect(upd1.old?.[0]).toEqual({ c_int4: '2147483647' });
    console.log('[types] row 1 as Canal JSON:', JSON.stringify({ ...upd1.data?.[0], c_toast: `${upd1.data?.[0]?.c_toast?.slice(0, 32)}… (${upd1.data?.[0]?.c_toast?.length} chars)` }));
    console.log('[types] row 2 as Canal JSON:', JSON.stringify(upd2.data?.[0]));
  }, 120_000);
});
