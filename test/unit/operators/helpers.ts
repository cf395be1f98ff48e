import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import type { ChangeEvent, Op, Row, TableShape } from '../../../src/core/events.js';
import { SequencePosition } from '../../../src/core/position.js';

export function shape(database: string, table: string, schema?: string, columns: string[] = ['id', 'name'], key: string[] = ['id']): TableShape {
  return {
    ref: schema === undefined ? { database, table } : { database, schema, table },
    columns: columns.map((name) => ({ name, type: 'text' })),
    key,
  };
}

let seq = 0n;
export function ev(s: TableShape, op: Op, rows: { before?: Row | null; after?: Row | null } = {}, bytes = 100): ChangeEvent {
  seq += 1n;
  return { op, shape: s, snapshot: false, commitTime: 0, position: new SequencePosition(seq), bytes, ...rows };
}

export function pos(n: number | bigint): SequencePosition {
  return new SequencePosition(BigInt(n));
}

export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}
