import { describe, expect, it } from 'vitest';
import { Timestamp, type Document, type MongoClient } from 'mongodb';
import type { ChangeEvent, TableRef, TableShape } from '../../../../src/core/events.js';
import type { ChangeStreamEvent } from '../../../../src/sources/mongodb/changeStream.js';
import { OplogPosition, ResumeTokenPosition } from '../../../../src/sources/mongodb/position.js';
import { ShapeCache } from '../../../../src/sources/mongodb/shapes.js';
import { alreadyDelivered, streamChangeStreams } from '../../../../src/sources/mongodb/stream.js';

const items: TableRef = { database: 'shop', table: 'items' };
const T = new Timestamp({ t: 1795306242, i: 7 });
const T1 = new Timestamp({ t: 1795306242, i: 8 });
const hex = (ts: Timestamp) => (ts.high >>> 0).toString(16).padStart(8, '0') + (ts.low >>> 0).toString(16).padStart(8, '0');

/** An event as mongo-java-server sends it: no `ns`, token = the oplog ts in hex. */
function insert(ts: Timestamp, doc: Document): ChangeStreamEvent {
  return { _id: { _data: hex(ts) }, operationType: 'insert', clusterTime: ts, documentKey: { _id: doc._id as unknown }, fullDocument: doc };
}

/**
 * A client whose per-collection change stream behaves like a server honouring `startAtOperationTime`
 * inclusively: it replays the change at exactly that time, then the later ones.
 */
function fakeClient(events: ChangeStreamEvent[], oldest: Timestamp) {
  const opened: Document[] = [];
  const client = {
    db: (db: string) => ({
      collection: (coll: string) => ({
        findOne: () => Promise.resolve(db === 'local' && coll === 'oplog.rs' ? { ts: oldest } : null),
        watch: (_pipeline: Document[], options: Document) => {
          opened.push(options);
          const start = options.startAtOperationTime as Timestamp;
          const queue = events.filter((e) => e.clusterTime && e.clusterTime.compare(start) >= 0);
          return {
            closed: false,
            resumeToken: null,
            tryNext: () => Promise.resolve(queue.shift() ?? null),
            close() {
              this.closed = true;
              return Promise.resolve();
            },
          };
        },
      }),
    }),
  };
  return { client: client as unknown as MongoClient, opened };
}

function collect(client: MongoClient, from: ResumeTokenPosition, until: (e: ChangeEvent) => boolean): Promise<ChangeEvent[]> {
  const shapes = new ShapeCache();
  const out: ChangeEvent[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`timed out; got ${JSON.stringify(out.map((e) => e.after))}`));
    }, 5000);
    const sub = streamChangeStreams(
      {
        client,
        ctx: { shapeFor: (ref): TableShape | null => (ref.database === 'shop' && ref.table === 'items' ? shapes.get(ref.database, ref.table) : null), databaseSelected: (d) => d === 'shop' },
        databases: ['shop'],
        collections: [items],
        flow: { waitForRoom: () => undefined },
        pollIntervalMs: 5,
        batchSize: 100,
        maxAwaitTimeMS: 20,
        fullDocument: true,
        scope: 'auto',
      },
      from,
      false,
    ).subscribe({
      next: (e) => {
        if (e.op === 'heartbeat') return;
        out.push(e);
        if (until(e)) {
          clearTimeout(timer);
          sub.unsubscribe();
          resolve(out);
        }
      },
      error: (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    });
  });
}

describe('change stream reader: where a stream starts', () => {
  it('a position without a token (taken by prepare before the full sync) does not replay the change at its own cluster time', async () => {
    // prepare() took T (the newest oplog entry: the last document inserted before the task), the
    // full sync copied that document, and startAtOperationTime T hands its insert back.
    const { client, opened } = fakeClient([insert(T, { _id: 299, tag: 'initial' }), insert(T1, { _id: 1000, tag: 'late' })], new Timestamp({ t: 1, i: 0 }));
    const got = await collect(client, ResumeTokenPosition.of(null, T), (e) => (e.after as { _id?: unknown } | null)?._id === 1000);
    expect(opened).toHaveLength(1);
    expect(opened[0]?.startAtOperationTime).toEqual(T);
    expect(got.map((e) => [e.op, (e.after as { _id?: unknown } | null)?._id])).toEqual([['insert', 1000]]);
    expect(got[0]?.shape.ref).toEqual(items);
  });

  it('alreadyDelivered: earlier times always, later never; at the same time by the kind of position', () => {
    const at = (ts: Timestamp, data = hex(ts)) => ({ ...insert(ts, { _id: 1 }), _id: { _data: data } });
    const tokenless = ResumeTokenPosition.of(null, T);
    expect(alreadyDelivered(at(new Timestamp({ t: 1795306242, i: 6 })), tokenless, items)).toBe(true);
    expect(alreadyDelivered(at(T1), tokenless, items)).toBe(false);
    expect(alreadyDelivered(at(T), tokenless, items)).toBe(true);
    expect(alreadyDelivered(at(T), tokenless)).toBe(true);
    // Oplog positions: the whole entry was delivered unless the position is inside a transaction.
    expect(alreadyDelivered(at(T), OplogPosition.of(T))).toBe(true);
    expect(alreadyDelivered(at(T), OplogPosition.of(T, 2))).toBe(false);
    // Tokens: events of the same stream up to the token were delivered; another collection's were not.
    const tok = ResumeTokenPosition.of('8200000005', T, 'shop.items');
    expect(alreadyDelivered(at(T, '8200000004'), tok, items)).toBe(true);
    expect(alreadyDelivered(at(T, '8200000005'), tok, items)).toBe(true);
    expect(alreadyDelivered(at(T, '8200000006'), tok, items)).toBe(false);
    expect(alreadyDelivered(at(T, '8200000004'), tok, { database: 'shop', table: 'other' })).toBe(false);
    expect(alreadyDelivered({ ...at(T), clusterTime: undefined }, tokenless)).toBe(false);
  });
});
