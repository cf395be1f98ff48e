import type { Client } from 'pg';
import { protocolError } from './errors.js';
import { parserFor, type ValueParser } from './values.js';

/**
 * A pgoutput (protocol version 1) decoder that keeps values lossless (see values.ts) and marks
 * unchanged TOASTed columns instead of inventing a value for them. Replaces the stock plugin's
 * parser, which converts through node-postgres' global type parsers (timestamps lose their
 * microseconds, json loses big numbers).
 */
export interface RelationColumn {
  name: string;
  typeOid: number;
  typeMod: number;
  isKey: boolean;
  parse: ValueParser;
}

export interface Relation {
  oid: number;
  schema: string;
  name: string;
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  columns: RelationColumn[];
  keyColumns: string[];
}

/** Stands for a TOASTed value that did not change and that pgoutput did not send. */
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged-toast');

export type Tuple = Record<string, unknown>;

export type PgMessage =
  | { tag: 'begin'; finalLsn: bigint; commitTime: number; xid: number }
  | { tag: 'commit'; commitLsn: bigint; endLsn: bigint; commitTime: number }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'type'; typeOid: number; schema: string; name: string }
  | { tag: 'origin'; name: string }
  | { tag: 'insert'; relation: Relation; new: Tuple }
  | { tag: 'update'; relation: Relation; old: Tuple | null; key: Tuple | null; new: Tuple }
  | { tag: 'delete'; relation: Relation; old: Tuple | null; key: Tuple | null }
  | { tag: 'truncate'; relations: Relation[]; cascade: boolean; restartIdentity: boolean }
  | { tag: 'message'; prefix: string; content: Buffer; transactional: boolean };

/** A decoded message with the size of its wire form (for byte throttles and limits). */
export interface DecodedMessage {
  message: PgMessage;
  bytes: number;
}

/** PostgreSQL epoch (2000-01-01) in Unix ms. */
const PG_EPOCH_MS = 946_684_800_000;

/** Buffer's own slicers (no encoding lookup or argument checks of `toString`). */
type Slicers = Buffer & { utf8Slice(start: number, end: number): string };

class Reader {
  offset = 0;
  buf: Buffer = Buffer.alloc(0);
  reset(buf: Buffer): this {
    this.buf = buf;
    this.offset = 0;
    return this;
  }
  u8(): number {
    return this.buf[this.offset++] ?? 0;
  }
  i16(): number {
    const b = this.buf;
    const o = this.offset;
    if (o + 2 > b.length) return b.readInt16BE(o); // throws the range error
    this.offset = o + 2;
    return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16)) >> 16;
  }
  i32(): number {
    const b = this.buf;
    const o = this.offset;
    if (o + 4 > b.length) return b.readInt32BE(o); // throws the range error
    this.offset = o + 4;
    return ((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number);
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  /** Microseconds since 2000-01-01 → Unix ms. */
  time(): number {
    return Number(this.buf.readBigInt64BE((this.offset += 8) - 8) / 1000n) + PG_EPOCH_MS;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.offset);
    const s = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return s;
  }
  /** `n` bytes of UTF-8 text. */
  text(n: number): string {
    const b = this.buf;
    const start = this.offset;
    const end = start + n;
    if (n < 0 || end > b.length) throw new RangeError(`pgoutput: value of ${n} bytes runs past the end of a ${b.length}-byte message`);
    this.offset = end;
    return (b as Slicers).utf8Slice(start, end);
  }
  bytes(n: number): Buffer {
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
}

const IDENTITY = { d: 'default', n: 'nothing', f: 'full', i: 'index' } as const;

export class PgoutputDecoder {
  private readonly relations = new Map<number, Relation>();
  private readonly reader = new Reader();
  /** Whether the last decoded message holds an UNCHANGED_TOAST marker (callers skip their check otherwise). */
  unchangedToast = false;

  relation(oid: number): Relation {
    const r = this.relations.get(oid);
    if (!r) throw protocolError(`change for relation ${oid} arrived before its RELATION message`);
    return r;
  }

  decode(buf: Buffer): PgMessage {
    const r = this.reader.reset(buf);
    this.unchangedToast = false;
    const tag = String.fromCharCode(r.u8());
    switch (tag) {
      case 'B':
        return { tag: 'begin', finalLsn: r.u64(), commitTime: r.time(), xid: r.i32() };
      case 'C': {
        r.u8(); // flags
        return { tag: 'commit', commitLsn: r.u64(), endLsn: r.u64(), commitTime: r.time() };
      }
      case 'R': {
        const oid = r.i32();
        const schema = r.cstring();
        const name = r.cstring();
        const replicaIdentity = IDENTITY[String.fromCharCode(r.u8()) as keyof typeof IDENTITY] ?? 'default';
        const n = r.i16();
        const columns: RelationColumn[] = [];
        for (let i = 0; i < n; i++) {
          const flags = r.u8();
          const colName = r.cstring();
          const typeOid = r.i32();
          const typeMod = r.i32();
          columns.push({ name: colName, typeOid, typeMod, isKey: (flags & 1) === 1, parse: parserFor(typeOid) });
        }
        const relation: Relation = { oid, schema, name, replicaIdentity, columns, keyColumns: columns.filter((c) => c.isKey).map((c) => c.name) };
        this.relations.set(oid, relation);
        return { tag: 'relation', relation };
      }
      case 'Y': {
        const typeOid = r.i32();
        return { tag: 'type', typeOid, schema: r.cstring(), name: r.cstring() };
      }
      case 'O': {
        r.u64();
        return { tag: 'origin', name: r.cstring() };
      }
      case 'I': {
        const relation = this.relation(r.i32());
        r.u8(); // 'N'
        return { tag: 'insert', relation, new: readTuple(this, r, relation, null) };
      }
      case 'U': {
        const relation = this.relation(r.i32());
        const kind = String.fromCharCode(r.u8());
        let old: Tuple | null = null;
        let key: Tuple | null = null;
        if (kind === 'O') old = readTuple(this, r, relation, null);
        else if (kind === 'K') key = readTuple(this, r, relation, null);
        if (kind !== 'N') r.u8(); // the 'N' that introduces the new tuple
        return { tag: 'update', relation, old, key, new: readTuple(this, r, relation, old) };
      }
      case 'D': {
        const relation = this.relation(r.i32());
        const kind = String.fromCharCode(r.u8());
        const tuple = readTuple(this, r, relation, null);
        return kind === 'O' ? { tag: 'delete', relation, old: tuple, key: null } : { tag: 'delete', relation, old: null, key: tuple };
      }
      case 'T': {
        const n = r.i32();
        const flags = r.u8();
        const relations: Relation[] = [];
        for (let i = 0; i < n; i++) relations.push(this.relation(r.i32()));
        return { tag: 'truncate', relations, cascade: (flags & 1) === 1, restartIdentity: (flags & 2) === 2 };
      }
      case 'M': {
        const transactional = r.u8() === 1;
        r.u64();
        const prefix = r.cstring();
        const len = r.i32();
        return { tag: 'message', prefix, transactional, content: Buffer.from(r.bytes(len)) };
      }
      default:
        throw protocolError(`unknown message type '${tag}'`);
    }
  }
}

function readTuple(d: PgoutputDecoder, r: Reader, relation: Relation, fallback: Tuple | null): Tuple {
  const n = r.i16();
  const tuple: Tuple = {};
  const cols = relation.columns;
  for (let i = 0; i < n; i++) {
    const col = cols[i];
    if (col === undefined) throw protocolError(`tuple of ${relation.schema}.${relation.name} has more columns than its relation`);
    const kind = r.u8();
    if (kind === 0x74 /* t */) {
      const len = r.i32();
      tuple[col.name] = col.parse(r.text(len));
    } else if (kind === 0x6e /* n */) {
      tuple[col.name] = null;
    } else if (kind === 0x75 /* u */) {
      if (fallback !== null && col.name in fallback) tuple[col.name] = fallback[col.name];
      else {
        tuple[col.name] = UNCHANGED_TOAST;
        d.unchangedToast = true;
      }
    } else if (kind === 0x62 /* b */) {
      const len = r.i32();
      tuple[col.name] = Buffer.from(r.bytes(len));
    } else {
      throw protocolError(`unknown tuple value kind ${kind}`);
    }
  }
  return tuple;
}

/**
 * Adapts the decoder to pg-logical-replication's replication connection, which calls only
 * `start` and `parse` (the library does not export its abstract plugin class).
 */
export class LosslessPgoutputPlugin {
  readonly decoder = new PgoutputDecoder();
  constructor(readonly options: { publicationNames: string[] }) {}
  get name(): string {
    return 'pgoutput';
  }
  parse(buffer: Buffer): DecodedMessage {
    return { message: this.decoder.decode(buffer), bytes: buffer.length };
  }
  start(client: Client, slotName: string, lastLsn: string): Promise<unknown> {
    // pgoutput splits publication_names like an identifier list: unquoted names are folded to
    // lower case, so each is double-quoted to be taken verbatim (then the literal's quotes doubled).
    const pubs = this.options.publicationNames.map((p) => `"${p.replace(/"/g, '""')}"`.replace(/'/g, "''")).join(',');
    return client.query(`START_REPLICATION SLOT "${slotName.replace(/"/g, '""')}" LOGICAL ${lastLsn} (proto_version '1', publication_names '${pubs}')`);
  }
}
