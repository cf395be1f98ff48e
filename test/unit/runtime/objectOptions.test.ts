/**
 * The `objects`, `exclude`, `nameCase` and `etl` options of a validated config, through the plan
 * the task builds (planObjects) and the operators the task chains (select, filter, map names, ETL):
 * each test changes an option and observes what reaches the destination.
 */
import { firstValueFrom, from, toArray, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { compileEtl, etlProgramToFunction } from '../../../src/config/etl.js';
import { validateTaskConfig } from '../../../src/config/load.js';
import type { TaskConfig } from '../../../src/config/schema.js';
import type { ChangeEvent } from '../../../src/core/events.js';
import { NameMapper, ObjectSelector, applyEtl, filterRows, mapNames, selectObjects } from '../../../src/operators/index.js';
import { planObjects } from '../../../src/runtime/objects.js';
import { ev, shape } from '../operators/helpers.js';

function config(extra: Record<string, unknown>): TaskConfig {
  return validateTaskConfig(
    {
      name: 'objects-test',
      source: { type: 'postgres', host: 'h', database: 'shop' },
      destination: { kafka: { brokers: ['k'], topic: 't' } },
      objects: [{ schema: 'public', table: 'orders' }],
      ...extra,
    },
    { env: {} },
  );
}

/** What the task's pipeline makes of `events` under `cfg` (the chain TaskRunner builds). */
async function run(cfg: TaskConfig, events: ChangeEvent[]): Promise<ChangeEvent[]> {
  const plan = planObjects(cfg);
  const ops: Array<OperatorFunction<ChangeEvent, ChangeEvent>> = [selectObjects(new ObjectSelector(plan.selection))];
  if (plan.filters.length > 0) ops.push(filterRows(plan.filters));
  ops.push(mapNames(new NameMapper(plan.mapping)));
  if (cfg.etl) ops.push(applyEtl(etlProgramToFunction(compileEtl(cfg.etl.expression))));
  const out = ops.reduce((acc, op) => acc.pipe(op), from(events));
  return firstValueFrom(out.pipe(toArray()));
}

const orders = shape('shop', 'orders', 'public', ['id', 'status', 'total']);
const items = shape('shop', 'items', 'public', ['id', 'name']);
const audit = shape('shop', 'log', 'audit', ['id', 'name']);
const row = (id: number, status = 'paid', total = 10) => ({ after: { id, status, total } });
const names = (out: ChangeEvent[]) => out.map((e) => [e.shape.ref.schema, e.shape.ref.table].join('.'));

describe('objects options reach the pipeline', () => {
  it('objects[].schema and objects[].table select what is synchronized; exclude[].database, exclude[].schema and exclude[].table leave objects out', async () => {
    const events = [ev(orders, 'insert', row(1)), ev(items, 'insert', { after: { id: 1, name: 'a' } }), ev(audit, 'insert', { after: { id: 1, name: 'x' } })];
    expect(names(await run(config({}), events))).toEqual(['public.orders']);
    expect(names(await run(config({ objects: [{ schema: 'public' }] }), events))).toEqual(['public.orders', 'public.items']);
    expect(names(await run(config({ objects: [{ database: 'shop' }], exclude: [{ schema: 'audit' }] }), events))).toEqual(['public.orders', 'public.items']);
    expect(names(await run(config({ objects: [{ schema: 'public' }], exclude: [{ schema: 'public', table: 'items' }] }), events))).toEqual(['public.orders']);
    // exclude[].database: the task's one database excluded leaves nothing; another database excludes nothing here.
    expect(names(await run(config({ objects: [{ schema: 'public' }], exclude: [{ database: 'shop' }] }), events))).toEqual([]);
    expect(names(await run(config({ objects: [{ schema: 'public' }], exclude: [{ database: 'other' }] }), events))).toEqual(['public.orders', 'public.items']);
  });

  it('objects[].ops keeps only the listed operations', async () => {
    const events = [ev(orders, 'insert', row(1)), ev(orders, 'delete', { before: { id: 1, status: 'paid', total: 10 } })];
    expect((await run(config({ objects: [{ schema: 'public', table: 'orders', ops: ['insert'] }] }), events)).map((e) => e.op)).toEqual(['insert']);
    expect((await run(config({}), events)).map((e) => e.op)).toEqual(['insert', 'delete']);
  });

  it('objects[].filter drops rows that do not match', async () => {
    const events = [ev(orders, 'insert', row(1, 'paid')), ev(orders, 'insert', row(2, 'test'))];
    const out = await run(config({ objects: [{ schema: 'public', table: 'orders', filter: "status <> 'test'" }] }), events);
    expect(out.map((e) => e.after?.id)).toEqual([1]);
  });

  it('objects[].columns and objects[].columnRename select and rename columns', async () => {
    const out = await run(config({ objects: [{ schema: 'public', table: 'orders', columns: ['id', 'total'], columnRename: { total: 'amount' } }] }), [ev(orders, 'insert', row(1))]);
    expect(out[0]?.after).toEqual({ id: 1, amount: 10 });
  });

  it('objects[].rename.table, rename.schema and rename.database rename the destination object', async () => {
    const out = await run(config({ objects: [{ schema: 'public', table: 'orders', rename: { database: 'dw', schema: 'sales', table: 'purchases' } }] }), [ev(orders, 'insert', row(1))]);
    expect(out[0]?.shape.ref).toEqual({ database: 'dw', schema: 'sales', table: 'purchases' });
    const whole = await run(config({ objects: [{ schema: 'public', rename: { schema: 'mirror' } }] }), [ev(items, 'insert', { after: { id: 1, name: 'a' } })]);
    expect(whole[0]?.shape.ref).toEqual({ database: 'shop', schema: 'mirror', table: 'items' });
  });

  it('nameCase changes the capitalization of destination names', async () => {
    const upper = await run(config({ nameCase: 'upper' }), [ev(orders, 'insert', row(1))]);
    expect(upper[0]?.shape.ref.table).toBe('ORDERS');
    const same = await run(config({ nameCase: 'same' }), [ev(orders, 'insert', row(1))]);
    expect(same[0]?.shape.ref.table).toBe('orders');
  });

  it('etl.expression transforms rows', async () => {
    const out = await run(config({ etl: { expression: 'set total_cents = total * 100\nkeep when total > 5' } }), [ev(orders, 'insert', row(1, 'paid', 10)), ev(orders, 'insert', row(2, 'paid', 1))]);
    expect(out.map((e) => e.after)).toEqual([{ id: 1, status: 'paid', total: 10, total_cents: 1000 }]);
  });
});

describe('destination.kafka.clientId', () => {
  it('names the kafkajs client of every connection the sink makes', async () => {
    const { kafkaClientConfig } = await import('../../../src/sinks/kafka/clientConfig.js');
    expect(kafkaClientConfig({ brokers: ['k:9092'], clientId: 'orders-writer' }).clientId).toBe('orders-writer');
    const cfg = config({ destination: { kafka: { brokers: ['k'], topic: 't', clientId: 'orders-writer' } } });
    expect(cfg.destination.kafka?.clientId).toBe('orders-writer');
  });
});
