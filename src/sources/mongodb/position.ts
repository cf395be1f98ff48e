import { Timestamp } from 'mongodb';
import type { Position } from '../../core/position.js';

/**
 * MongoDB positions. Both kinds carry a cluster time (an oplog `ts`: seconds `t`, increment `i`),
 * so positions of one source order by it whichever incremental method produced them.
 */
export interface MongoPosition extends Position {
  readonly t: number;
  readonly i: number;
  /** The cluster time as a BSON Timestamp. */
  timestamp(): Timestamp;
}

const OPLOG_I_LIMIT = 1 << 18;
const OPLOG_RANK_LIMIT = 1 << 11;

function cmpTime(a: MongoPosition, b: MongoPosition): number {
  return a.t !== b.t ? (a.t < b.t ? -1 : 1) : a.i !== b.i ? (a.i < b.i ? -1 : 1) : 0;
}

/**
 * Two vectors of positions by their components (`keys`): the sign every differing component agrees
 * on, 0 when none differs. Vectors of one reader never disagree; vectors of different readers that
 * do are ordered by their newest cluster time.
 */
function compareVectors(a: MongoPosition, b: MongoPosition, keys: readonly string[], component: (key: string) => number): number {
  let sign = 0;
  for (const key of new Set(keys)) {
    const c = Math.sign(component(key));
    if (c === 0) continue;
    if (sign === 0) sign = c;
    else if (sign !== c) return cmpTime(a, b) || sign;
  }
  return sign;
}

/**
 * An oplog entry's `ts`, plus the rank of an operation inside an `applyOps` entry (`seq`, -1 for the
 * entry as a whole). Text form `t:i`, or `t:i:seq` inside a transaction.
 */
export class OplogPosition implements MongoPosition {
  constructor(
    readonly t: number,
    readonly i: number,
    readonly seq = -1,
  ) {}

  static of(ts: Timestamp, seq = -1): OplogPosition {
    return new OplogPosition(ts.high >>> 0, ts.low >>> 0, seq);
  }

  timestamp(): Timestamp {
    return new Timestamp({ t: this.t, i: this.i });
  }

  compare(other: Position): number {
    const o = other as MongoPosition;
    const c = cmpTime(this, o);
    if (c !== 0) return c;
    if (o instanceof OplogPosition) return this.seq - o.seq;
    return 0;
  }

  encode(): string {
    return this.seq >= 0 ? `${this.t}:${this.i}:${this.seq}` : `${this.t}:${this.i}`;
  }

  /**
   * The change's id: `t` (32 bits), `i` (18 bits), `seq + 1` (11 bits). A replica set's oplog
   * gives every entry its own `ts`, and an operation inside an `applyOps` entry is told apart by its
   * rank, so the id is unique, follows oplog order, and is the same when the entry is read again.
   * Null when `i` reaches 2^18 (more than 262,143 entries in one second) or the rank reaches 2047
   * (the later operations of a larger `applyOps` entry); the formats then assign ids at write time.
   */
  eventId(): bigint | null {
    if (this.i >= OPLOG_I_LIMIT || this.seq + 1 >= OPLOG_RANK_LIMIT) return null;
    return (BigInt(this.t) << 29n) | BigInt(this.i * OPLOG_RANK_LIMIT + this.seq + 1);
  }

  toString(): string {
    return this.encode();
  }

  static decode(text: string): OplogPosition {
    const m = /^(\d+):(\d+)(?::(\d+))?$/.exec(text.trim());
    if (!m?.[1] || !m[2]) throw new Error(`not a MongoDB oplog position: '${text}' (expected 't:i', e.g. 1700000000:1)`);
    return new OplogPosition(Number(m[1]), Number(m[2]), m[3] === undefined ? -1 : Number(m[3]));
  }
}

/**
 * A change stream resume token (`_data`) with the cluster time of its event, for ordering. A
 * position without a token (taken from a cluster time before any event was seen) resumes with
 * `startAtOperationTime`. `ns` names the collection whose stream produced the token (used when
 * streams are opened per collection). Text form: JSON `{"_data":...,"ts":"t:i","ns":...}`.
 */
export class ResumeTokenPosition implements MongoPosition {
  constructor(
    readonly token: string | null,
    readonly t: number,
    readonly i: number,
    readonly ns?: string,
  ) {}

  static of(token: string | null, ts: Timestamp, ns?: string): ResumeTokenPosition {
    return new ResumeTokenPosition(token, ts.high >>> 0, ts.low >>> 0, ns);
  }

  timestamp(): Timestamp {
    return new Timestamp({ t: this.t, i: this.i });
  }

  compare(other: Position): number {
    const o = other as MongoPosition;
    const c = cmpTime(this, o);
    if (c !== 0 || !(o instanceof ResumeTokenPosition)) return c;
    // Tokens of one stream sort as their hex strings (MongoDB's KeyString encoding).
    const a = this.token ?? '';
    const b = o.token ?? '';
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /**
   * Null: a cluster time does not single out a change. The operations of a transaction share it,
   * and on a sharded cluster two shards can give the same cluster time to different changes; the
   * resume token that does tell them apart is longer than 63 bits. The formats assign ids to
   * change-stream messages at write time.
   */
  eventId(): null {
    return null;
  }

  encode(): string {
    const out: Record<string, string> = { ts: `${this.t}:${this.i}` };
    if (this.token !== null) out._data = this.token;
    if (this.ns !== undefined) out.ns = this.ns;
    return JSON.stringify(out);
  }

  toString(): string {
    return this.encode();
  }

  static decode(text: string): ResumeTokenPosition {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new Error(`not a MongoDB resume token position: '${text}' (expected JSON {"_data": "...", "ts": "t:i"})`);
    }
    const o = v as { _data?: unknown; ts?: unknown; ns?: unknown } | null;
    const token = typeof o?._data === 'string' ? o._data : null;
    let t: number | undefined;
    let i: number | undefined;
    if (typeof o?.ts === 'string') {
      const m = /^(\d+):(\d+)$/.exec(o.ts);
      if (m?.[1] && m[2]) [t, i] = [Number(m[1]), Number(m[2])];
    }
    if ((t === undefined || i === undefined) && token !== null) {
      const ct = tokenClusterTime(token);
      if (ct) [t, i] = [ct.t, ct.i];
    }
    if (t === undefined || i === undefined) {
      throw new Error(`MongoDB resume token position '${text}' has no cluster time ("ts": "t:i") and its token does not encode one`);
    }
    return new ResumeTokenPosition(token, t, i, typeof o?.ns === 'string' ? o.ns : undefined);
  }
}

/**
 * The cluster time inside a resume token's `_data`, when it can be read: MongoDB's KeyString form
 * starts with type byte 0x82 (Timestamp) then 4 bytes of seconds and 4 of increment; some
 * wire-compatible servers use the 16 hex digits of the oplog `ts` alone.
 */
export function tokenClusterTime(data: string): { t: number; i: number } | null {
  let m = /^82([0-9a-fA-F]{8})([0-9a-fA-F]{8})/.exec(data);
  if (!m && /^[0-9a-fA-F]{16}$/.test(data)) m = /^([0-9a-fA-F]{8})([0-9a-fA-F]{8})$/.exec(data);
  if (!m?.[1] || !m[2]) return null;
  return { t: parseInt(m[1], 16), i: parseInt(m[2], 16) };
}

/**
 * Where a set of per-collection change streams stands: one resume token position per stream (by
 * `database.collection`), over a `base` cluster time every stream starts from when it has no token
 * of its own. Streams run concurrently and their cluster times interleave, so no single token
 * orders their events; the reader instead gives each event the whole vector as it is after that
 * event. Vectors handed out by one reader only ever grow component by component, so they are
 * totally ordered in dispatch order (the AckTracker's requirement) and a checkpointed vector
 * resumes every stream at its own place.
 *
 * `t`/`i` are the newest cluster time in the vector (for lag); `timestamp()` is `base`, the oldest
 * point any stream may resume from. Text form: JSON `{"ts":"t:i","streams":{"db.c":{"_data":..,"ts":"t:i"}}}`.
 */
export class StreamSetPosition implements MongoPosition {
  readonly t: number;
  readonly i: number;

  constructor(
    readonly base: ResumeTokenPosition,
    readonly streams: ReadonlyMap<string, ResumeTokenPosition>,
  ) {
    let newest: MongoPosition = base;
    for (const p of streams.values()) if (cmpTime(p, newest) > 0) newest = p;
    this.t = newest.t;
    this.i = newest.i;
  }

  /** The position a stream over `ns` resumes from. */
  of(ns: string): ResumeTokenPosition {
    // The base's own token (if any) belongs to a database or cluster stream: not usable here.
    return this.streams.get(ns) ?? new ResumeTokenPosition(null, this.base.t, this.base.i, ns);
  }

  /** The vector with `ns` advanced to `p`. */
  with(ns: string, p: ResumeTokenPosition): StreamSetPosition {
    const next = new Map(this.streams);
    next.set(ns, p);
    return new StreamSetPosition(this.base, next);
  }

  timestamp(): Timestamp {
    return this.base.timestamp();
  }

  compare(other: Position): number {
    if (!(other instanceof StreamSetPosition)) return cmpTime(this, other as MongoPosition);
    const sign = compareVectors(this, other, [...this.streams.keys(), ...other.streams.keys()], (ns) => this.of(ns).compare(other.of(ns)));
    return sign !== 0 ? sign : Math.sign(this.base.compare(other.base));
  }

  eventId(): null {
    return null;
  }

  encode(): string {
    const streams: Record<string, { _data?: string; ts: string }> = {};
    for (const ns of [...this.streams.keys()].sort()) {
      const p = this.streams.get(ns) as ResumeTokenPosition;
      streams[ns] = { ts: `${p.t}:${p.i}`, ...(p.token !== null ? { _data: p.token } : {}) };
    }
    return JSON.stringify({ ts: `${this.base.t}:${this.base.i}`, ...(this.base.token !== null ? { _data: this.base.token } : {}), streams });
  }

  toString(): string {
    return this.encode();
  }

  static decode(text: string): StreamSetPosition {
    const o = JSON.parse(text) as { streams?: Record<string, unknown> };
    const { streams: _s, ...rest } = o;
    const base = ResumeTokenPosition.decode(JSON.stringify(rest));
    const map = new Map<string, ResumeTokenPosition>();
    for (const [ns, v] of Object.entries(o.streams ?? {})) map.set(ns, ResumeTokenPosition.decode(JSON.stringify({ ...(v as object), ns })));
    return new StreamSetPosition(new ResumeTokenPosition(base.token, base.t, base.i), map);
  }

  /** Any MongoDB position as a vector (a plain one is the base every stream starts from). */
  static from(p: MongoPosition): StreamSetPosition {
    if (p instanceof StreamSetPosition) return p;
    if (p instanceof ResumeTokenPosition && p.ns !== undefined && p.token !== null) {
      return new StreamSetPosition(new ResumeTokenPosition(null, p.t, p.i), new Map([[p.ns, p]]));
    }
    return new StreamSetPosition(new ResumeTokenPosition(p instanceof ResumeTokenPosition && p.ns === undefined ? p.token : null, p.t, p.i), new Map());
  }
}

/**
 * Where a sharded cluster read by oplog stands: one oplog position per shard (by shard name). The
 * reader merges the shards' oplogs by cluster time and gives each event the whole vector as it is
 * after that event; vectors of one reader only grow component by component, so they are totally
 * ordered in dispatch order (the AckTracker's requirement), and a checkpointed vector resumes every
 * shard from its own point. A shard the vector does not name resumes from its oldest component.
 *
 * `t`/`i` are the newest component (for lag); `timestamp()` is the oldest, where the slowest shard
 * resumes. Text form: JSON `{"shards":{"rs1":"t:i","rs2":"t:i:seq"}}`.
 */
export class ShardOplogPosition implements MongoPosition {
  readonly t: number;
  readonly i: number;
  private readonly oldest: OplogPosition;

  constructor(readonly shards: ReadonlyMap<string, OplogPosition>) {
    let newest: OplogPosition | undefined;
    let oldest: OplogPosition | undefined;
    for (const p of shards.values()) {
      if (!newest || cmpTime(p, newest) > 0) newest = p;
      if (!oldest || cmpTime(p, oldest) < 0) oldest = p;
    }
    this.t = newest?.t ?? 0;
    this.i = newest?.i ?? 0;
    this.oldest = oldest ? new OplogPosition(oldest.t, oldest.i) : new OplogPosition(0, 0);
  }

  /** Where the shard resumes. */
  of(shard: string): OplogPosition {
    return this.shards.get(shard) ?? this.oldest;
  }

  /** The vector with `shard` advanced to `p`. */
  with(shard: string, p: OplogPosition): ShardOplogPosition {
    const next = new Map(this.shards);
    next.set(shard, p);
    return new ShardOplogPosition(next);
  }

  timestamp(): Timestamp {
    return this.oldest.timestamp();
  }

  compare(other: Position): number {
    if (!(other instanceof ShardOplogPosition)) return cmpTime(this, other as MongoPosition);
    return compareVectors(this, other, [...this.shards.keys(), ...other.shards.keys()], (shard) => this.of(shard).compare(other.of(shard)));
  }

  /** Null: two shards can give the same cluster time to different changes. The formats assign ids at write time. */
  eventId(): null {
    return null;
  }

  encode(): string {
    const shards: Record<string, string> = {};
    for (const name of [...this.shards.keys()].sort()) shards[name] = (this.shards.get(name) as OplogPosition).encode();
    return JSON.stringify({ shards });
  }

  toString(): string {
    return this.encode();
  }

  static decode(text: string): ShardOplogPosition {
    const o = JSON.parse(text) as { shards?: unknown };
    if (o.shards === null || typeof o.shards !== 'object') throw new Error(`not a sharded oplog position: '${text}' (expected JSON {"shards": {"<shard>": "t:i"}})`);
    const map = new Map<string, OplogPosition>();
    for (const [name, v] of Object.entries(o.shards as Record<string, unknown>)) map.set(name, OplogPosition.decode(String(v)));
    return new ShardOplogPosition(map);
  }
}

/**
 * Either text form: JSON for resume tokens (with `streams` for per-collection streams, `shards` for
 * a sharded cluster read by oplog), `t:i[:seq]` for the oplog.
 */
export function decodeMongoPosition(text: string): MongoPosition {
  const s = text.trim();
  if (!s.startsWith('{')) return OplogPosition.decode(text);
  let parsed: { streams?: unknown; shards?: unknown } = {};
  try {
    parsed = JSON.parse(s) as typeof parsed;
  } catch {
    /* reported by ResumeTokenPosition.decode */
  }
  if (parsed.shards !== undefined) return ShardOplogPosition.decode(s);
  return parsed.streams !== undefined ? StreamSetPosition.decode(s) : ResumeTokenPosition.decode(s);
}
