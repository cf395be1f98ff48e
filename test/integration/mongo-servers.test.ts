/**
 * Smoke tests for the MongoDB wire-compatible test servers started by `bash scripts/mongo.sh up`
 * (see docs/mongo-servers.md). They prove the two abilities Tributary's MongoDB readers rely on:
 *  (a) change streams with resume tokens on the server that answers as a replica set, and
 *  (b) a `local.oplog.rs` that receives an entry per write.
 * A server that is not reachable makes these tests fail (server selection times out); they never skip.
 */
import { randomUUID } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { MongoClient } from 'mongodb';
import type { ChangeStream, ChangeStreamDocument, Document, ResumeToken, Timestamp } from 'mongodb';

const RS_URI = process.env.TRIBUTARY_MONGO_RS_URI ?? 'mongodb://127.0.0.1:27117/?replicaSet=rs0';
const OPLOG_URI = process.env.TRIBUTARY_MONGO_OPLOG_URI ?? 'mongodb://127.0.0.1:27118';

function uniqueDbName(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

async function connected(uri: string): Promise<MongoClient> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000, connectTimeoutMS: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new Error(
      `MongoDB test server at ${uri} is not reachable (start it with \`bash scripts/mongo.sh up\`): ${String(err)}`,
      { cause: err },
    );
  }
  return client;
}

/** The stream's next change, or a failure after `ms`. */
async function nextChange<T extends Document>(
  stream: ChangeStream<T>,
  ms = 10_000,
): Promise<ChangeStreamDocument<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no change event within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([stream.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Item extends Document {
  _id: string;
  n: number;
}

describe('MongoDB-compatible test servers', () => {
  it('replica-set server: change stream delivers inserts and resumes after a token', async () => {
    const client = await connected(RS_URI);
    const dbName = uniqueDbName('tribu_cs');
    try {
      const hello = await client.db('admin').command({ hello: 1 });
      expect(hello.setName).toBeTypeOf('string');
      expect(hello.isWritablePrimary).toBe(true);

      const coll = client.db(dbName).collection<Item>('coll');
      const first = coll.watch<Item>();
      let token: ResumeToken;
      try {
        // Opens the server-side cursor before the write, so the insert is after the stream's start.
        expect(await first.tryNext()).toBeNull();
        await coll.insertOne({ _id: 'one', n: 1 });
        const change = await nextChange(first);
        expect(change.operationType).toBe('insert');
        if (change.operationType !== 'insert') throw new Error('unreachable');
        expect(change.documentKey).toEqual({ _id: 'one' });
        expect(change.fullDocument).toEqual({ _id: 'one', n: 1 });
        token = change._id;
        expect(token).toBeTruthy();
        expect(first.resumeToken).toEqual(token);
      } finally {
        await first.close();
      }

      await coll.insertOne({ _id: 'two', n: 2 });

      const resumed = coll.watch<Item>([], { resumeAfter: token });
      try {
        const change = await nextChange(resumed);
        expect(change.operationType).toBe('insert');
        if (change.operationType !== 'insert') throw new Error('unreachable');
        expect(change.documentKey).toEqual({ _id: 'two' });
        expect(change.fullDocument).toEqual({ _id: 'two', n: 2 });
        expect(change._id).not.toEqual(token);
        // Exactly one change after the token: nothing else is waiting.
        expect(await resumed.tryNext()).toBeNull();
      } finally {
        await resumed.close();
      }
    } finally {
      await client.db(dbName).dropDatabase().catch(() => undefined);
      await client.close();
    }
  });

  it('oplog server: an insert appears in local.oplog.rs as op "i"', async () => {
    const client = await connected(OPLOG_URI);
    const dbName = uniqueDbName('tribu_oplog');
    const ns = `${dbName}.coll`;
    try {
      const oplog = client.db('local').collection<OplogEntry>('oplog.rs');
      const coll = client.db(dbName).collection<{ _id: string; name: string; n: number }>('coll');
      const id = randomUUID();
      await coll.insertOne({ _id: id, name: 'tributary', n: 42 });

      const entries = await oplog.find({ ns, op: 'i' }).toArray();
      expect(entries).toHaveLength(1);
      const entry = entries[0];
      if (!entry) throw new Error('unreachable');
      expect(entry.op).toBe('i');
      expect(entry.ns).toBe(ns);
      expect(entry.o).toEqual({ _id: id, name: 'tributary', n: 42 });
      expect(entry.ts._bsontype).toBe('Timestamp');
      expect(entry.ts.t).toBeGreaterThan(0);

      // Polling by ts (no tailable cursors on this server) finds exactly the later write.
      await coll.deleteOne({ _id: id });
      const later = await oplog.find({ ns, ts: { $gt: entry.ts } }).toArray();
      expect(later.map((e) => [e.op, e.o])).toEqual([['d', { _id: id }]]);
    } finally {
      await client.db(dbName).dropDatabase().catch(() => undefined);
      await client.close();
    }
  });
});

interface OplogEntry extends Document {
  ts: Timestamp;
  op: string;
  ns: string;
  o: Document;
}
