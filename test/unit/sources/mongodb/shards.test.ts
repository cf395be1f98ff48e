import { Timestamp } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { TableShape } from '../../../../src/core/events.js';
import { convertOplogEntry, shardingCommandOf, termOf, type OplogContext, type OplogEntry } from '../../../../src/sources/mongodb/oplog.js';
import { OplogPosition, ShardOplogPosition, decodeMongoPosition } from '../../../../src/sources/mongodb/position.js';
import { nextMerged, type ShardCursor } from '../../../../src/sources/mongodb/shardedOplog.js';
import { parseShardHost, shardAccessOf, shardUri } from '../../../../src/sources/mongodb/shards.js';

const ts = (t: number, i: number) => new Timestamp({ t, i });
const entry = (t: number, i: number, extra: Partial<OplogEntry> = {}): OplogEntry => ({ ts: ts(t, i), op: 'i', ns: 'app.items', o: { _id: `${t}:${i}` }, ...extra });
const shape: TableShape = { ref: { database: 'app', table: 'items' }, columns: [], key: ['_id'] };
const ctx: OplogContext = { shapeFor: (r) => (r.database === 'app' && r.table === 'items' ? shape : null), databaseSelected: (d) => d === 'app' };

describe('sharded cluster read by oplog', () => {
  it('the composite position keeps one oplog position per shard, orders component-wise and round-trips', () => {
    const start = new ShardOplogPosition(new Map([['shardA', new OplogPosition(100, 5)], ['shardB', new OplogPosition(90, 1)]]));
    const next = start.with('shardB', new OplogPosition(95, 2));
    const later = next.with('shardA', new OplogPosition(101, 0, 3));
    expect(start.compare(next)).toBeLessThan(0);
    expect(later.compare(next)).toBeGreaterThan(0);
    expect(next.compare(next)).toBe(0);
    // Newest component for lag, oldest for where the slowest shard resumes.
    expect([later.t, later.i]).toEqual([101, 0]);
    expect(start.timestamp()).toEqual(ts(90, 1));
    expect(later.encode()).toBe('{"shards":{"shardA":"101:0:3","shardB":"95:2"}}');
    const back = decodeMongoPosition(later.encode());
    expect(back).toBeInstanceOf(ShardOplogPosition);
    expect((back as ShardOplogPosition).of('shardA')).toEqual(new OplogPosition(101, 0, 3));
    // A shard the position does not name (added since) resumes from the oldest component.
    expect(start.of('shardC')).toEqual(new OplogPosition(90, 1));
    expect(later.eventId()).toBeNull();
    expect(() => ShardOplogPosition.decode('{"shards":null}')).toThrow(/sharded oplog position/);
  });

  it('merges the shards by ts, and waits for a shard that may hold an earlier entry', () => {
    const a: ShardCursor = { name: 'shardA', buffer: [entry(10, 1), entry(12, 1)], caughtUp: true };
    const b: ShardCursor = { name: 'shardB', buffer: [entry(11, 1)], caughtUp: false };
    const order: string[] = [];
    for (let n = nextMerged([a, b]); n; n = nextMerged([a, b])) order.push(`${n.shard.name} ${String(n.entry.o._id)}`);
    // shardB's buffer ran dry and it was not caught up: 12:1 waits for shardB's next read.
    expect(order).toEqual(['shardA 10:1', 'shardB 11:1']);
    b.caughtUp = true;
    expect(nextMerged([a, b])?.entry.o._id).toBe('12:1');
    expect(nextMerged([a, b])).toBeNull();
    // Equal ts on two shards: the shard listed first goes first.
    const c: ShardCursor = { name: 'c', buffer: [entry(20, 1)], caughtUp: true };
    const d: ShardCursor = { name: 'd', buffer: [entry(20, 1)], caughtUp: true };
    expect(nextMerged([c, d])?.shard.name).toBe('c');
  });

  it('skips migration traffic (fromMigrate) on a shard oplog', () => {
    expect(convertOplogEntry(entry(1, 1, { fromMigrate: true }), ctx)).toEqual([]);
    expect(convertOplogEntry(entry(1, 2, { op: 'd', o: { _id: 7 }, fromMigrate: true }), ctx)).toEqual([]);
    expect(convertOplogEntry(entry(1, 3), ctx)).toHaveLength(1);
  });

  it('recognizes the sharding commands MongoDB logs as no-op entries, and entry terms', () => {
    const shard = entry(5, 1, { op: 'n', ns: 'app.items', o: { msg: { shardCollection: 'app.items' } }, o2: { shardCollection: 'app.items', key: { sk: 1 }, unique: false } });
    expect(shardingCommandOf(shard)).toEqual({ command: 'shardCollection', target: 'app.items' });
    expect(shardingCommandOf(entry(5, 2, { op: 'n', ns: 'app.items', o: { msg: 'Reshard' }, o2: { reshardCollection: 'app.items', reshardUUID: 'u', shardKey: { x: 1 } } }))).toMatchObject({ command: 'reshardCollection' });
    expect(shardingCommandOf(entry(5, 3, { op: 'n', ns: 'app', o: { msg: 'movePrimary' }, o2: { movePrimary: 'app', to: 'shardB' } }))).toEqual({ command: 'movePrimary', target: 'app' });
    expect(shardingCommandOf(entry(5, 4, { op: 'n', ns: '', o: { msg: 'periodic noop' } }))).toBeNull();
    expect(shardingCommandOf(entry(5, 5, { o2: { shardCollection: 'app.items' } }))).toBeNull(); // only no-op entries
    expect(termOf({ t: 3 })).toBe(3);
    expect(termOf({})).toBeUndefined();
  });

  it('reads config.shards hosts: a replica set with its members, or a bare host', () => {
    expect(parseShardHost('s1', 'rs1/h1:27018,h2:27018')).toEqual({ label: 's1', hosts: ['h1:27018', 'h2:27018'], replicaSet: 'rs1' });
    expect(parseShardHost('s2', 'h3:27018')).toEqual({ label: 's2', hosts: ['h3:27018'] });
  });

  it('the shard account replaces the source account on shard endpoints', () => {
    const src = { architecture: 'shardedCluster', method: 'oplog', user: 'reader', password: 'src-pw', authDatabase: 'admin' };
    const own = shardAccessOf({ ...src, shard: { user: 'shard-reader', password: 's p@ss', endpoints: ['a:27018'] } });
    expect(own).toEqual({ shard: { endpoints: ['a:27018'], user: 'shard-reader', password: 's p@ss', authDatabase: 'admin' } });
    expect(shardUri({ label: 'a:27018', hosts: ['a:27018'] }, own.shard ?? {})).toBe('mongodb://shard-reader:s%20p%40ss@a:27018/?authSource=admin');
    // Without a shard account the source account is used; the shards are discovered.
    expect(shardAccessOf({ ...src, shard: {} })).toEqual({ shard: { user: 'reader', password: 'src-pw', authDatabase: 'admin' } });
    expect(shardUri(parseShardHost('s1', 'rs1/h1:1,h2:2'), {})).toBe('mongodb://h1:1,h2:2/?replicaSet=rs1');
    // Change streams, or a replica set: no shard reader.
    expect(shardAccessOf({ ...src, method: 'changeStreams' })).toEqual({});
    expect(shardAccessOf({ ...src, architecture: 'replicaSet' })).toEqual({});
  });
});
