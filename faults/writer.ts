/**
 * A writer that logs every change it made: small transactions on `public.items` (an insert of a
 * new row, an update of a live row, every fifth a delete of an earlier inserted row), each change
 * identified by (type, id, rev) where `rev` is the write number that made it (a delete: the rev the
 * row had). The log holds only committed changes: a transaction whose COMMIT got no answer (the
 * server went away) is looked up once the server is back (its insert's row tells).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pgConfig } from '../test/integration/support.js';

export type ChangeType = 'INSERT' | 'UPDATE' | 'DELETE';

export interface Change {
  type: ChangeType;
  id: string;
  rev: string;
  /** Write (transaction) number. */
  w: number;
  /** When the commit was acknowledged (or found committed), ms. */
  t: number;
}

/** First id the writer inserts; seed rows are 1..seed. */
export const WRITER_BASE = 10_000_000;

export function pad(n = 160): string {
  return randomBytes(n / 2).toString('hex');
}

export class Writer {
  readonly log: Change[] = [];
  /** Transactions whose outcome had to be looked up after an error, and how many had committed. */
  uncertain = { looked: 0, committed: 0 };
  errors = 0;
  lastError = '';
  private readonly live = new Map<string, string>();
  private readonly inserted: string[] = [];
  private w = 0;
  private client: pg.Client | null = null;
  private running = false;
  private paused = false;
  private loop: Promise<void> | null = null;
  private seed = 12345;

  constructor(
    private readonly database: string,
    seedRows: number,
    private readonly intervalMs = 50,
  ) {
    for (let i = 1; i <= seedRows; i++) this.live.set(String(i), '0');
  }

  private random(n: number): number {
    this.seed = (this.seed * 1103515245 + 12345) & 0x7fffffff;
    return this.seed % n;
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const c = new pg.Client({ ...pgConfig(this.database), connectionTimeoutMillis: 3000 });
    c.on('error', () => {
      if (this.client === c) this.client = null;
    });
    await c.connect();
    this.client = c;
    return c;
  }

  private drop(): void {
    const c = this.client;
    this.client = null;
    void c?.end().catch(() => undefined);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops writing after the transaction in progress (and its lookup, bounded). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.loop = null;
    this.drop();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  get writes(): number {
    return this.w;
  }

  /** Resolves once a transaction inserting `rows` rows at once has been tried (true: committed). */
  burst(rows: number): Promise<boolean> {
    return new Promise((resolve) => this.bursts.push({ rows, resolve }));
  }
  private readonly bursts: Array<{ rows: number; resolve: (ok: boolean) => void }> = [];

  private async run(): Promise<void> {
    while (this.running) {
      if (this.paused) {
        await sleep(50);
        continue;
      }
      const burst = this.bursts.shift();
      try {
        const ok = await this.transaction(burst?.rows ?? 1);
        burst?.resolve(ok);
      } catch (err) {
        burst?.resolve(false);
        this.lastError = (err as Error).message;
        this.running = false;
        break;
      }
      await sleep(this.intervalMs);
    }
    for (const b of this.bursts.splice(0)) b.resolve(false);
  }

  /** One transaction: `inserts` new rows (a burst when > 1), an update, now and then a delete. */
  private async transaction(inserts: number): Promise<boolean> {
    const w = ++this.w;
    const changes: Array<Omit<Change, 't'>> = [];
    const ids: string[] = [];
    for (let k = 0; k < inserts; k++) {
      const id = String(WRITER_BASE + w * 1000 + k);
      ids.push(id);
      changes.push({ type: 'INSERT', id, rev: String(w), w });
    }
    const keys = [...this.live.keys()];
    const upd = keys[this.random(keys.length)];
    if (upd !== undefined) changes.push({ type: 'UPDATE', id: upd, rev: String(w), w });
    let del: string | undefined;
    if (w % 5 === 0 && this.inserted.length > 2) {
      const candidates = this.inserted.filter((id) => id !== upd && this.live.has(id));
      del = candidates[this.random(candidates.length)];
      if (del !== undefined) changes.push({ type: 'DELETE', id: del, rev: this.live.get(del) ?? '?', w });
    }
    const sql =
      `BEGIN; INSERT INTO public.items (id, rev, pad) SELECT x, ${w}, $pad$${pad()}$pad$ FROM unnest(ARRAY[${ids.join(',')}]::bigint[]) x;` +
      (upd !== undefined ? ` UPDATE public.items SET rev = ${w} WHERE id = ${upd};` : '') +
      (del !== undefined ? ` DELETE FROM public.items WHERE id = ${del};` : '') +
      ' COMMIT;';
    let committed: boolean;
    try {
      const c = await this.connection();
      await c.query(sql);
      committed = true;
    } catch (err) {
      this.errors += 1;
      this.lastError = (err as Error).message;
      this.drop();
      committed = await this.lookUp(ids[0] ?? '');
    }
    if (!committed) return false;
    const t = Date.now();
    for (const ch of changes) {
      this.log.push({ ...ch, t });
      if (ch.type === 'DELETE') this.live.delete(ch.id);
      else this.live.set(ch.id, ch.rev);
    }
    this.inserted.push(...ids);
    return true;
  }

  /** After an error: did the transaction whose first insert is `id` commit? Retries until the server answers (bounded). */
  private async lookUp(id: string): Promise<boolean> {
    this.uncertain.looked += 1;
    const end = Date.now() + 120_000;
    while (Date.now() < end) {
      try {
        const c = await this.connection();
        const r = await c.query('SELECT 1 FROM public.items WHERE id = $1', [id]);
        const found = (r.rowCount ?? 0) > 0;
        if (found) this.uncertain.committed += 1;
        return found;
      } catch {
        this.drop();
        await sleep(500);
      }
    }
    throw new Error(`writer: PostgreSQL did not answer for 120 s to tell whether write ${id} committed`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
