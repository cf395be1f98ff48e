/**
 * Micro benchmark of the PostgreSQL source's main-thread cost per change (no Kafka, no encoding):
 *   npx tsx bench/micro-pgstream.ts [rows=200000] [runs=5]
 * Creates its own database, table (~200-byte rows), publication and slot, inserts the rows in a few
 * transactions, then reads the slot again and again from its start (nothing is ever confirmed) through:
 *   (a) stock pg-logical-replication PgoutputPlugin, decode only (baseline);
 *   (b) our LosslessPgoutputPlugin under a plain LogicalReplicationService (flowControl on, as before);
 *   (c) PostgresSource.stream() (streamChanges) with a FlowControl that never waits;
 *   (d) (c) + the runtime's operator chain: selectObjects, mapNames, window admit, throttleRate
 *       unlimited, batchBy(5000 events / 4 MB / 10 ms).
 * Prints events/s (first change → last change) and this process's CPU µs per change (user + system;
 * the walsender decodes on the same cores, so CPU per change is the steadier figure), min / median /
 * max per path. Drops everything at the end.
 */
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { tap, type Observable } from 'rxjs';
import { ITEMS_DDL, createDatabase, itemsInsert, pgConfig, round, sleep, uniqueName, withPg } from './lib.js';
import { PostgresSource } from '../src/sources/postgres/source.js';
import { LosslessPgoutputPlugin, type DecodedMessage } from '../src/sources/postgres/pgoutput.js';
import type { ChangeEvent } from '../src/core/events.js';
import type { Position } from '../src/core/position.js';
import { InflightWindow, NameMapper, ObjectSelector, ThrottleController, batchBy, mapNames, selectObjects, throttleRate } from '../src/operators/index.js';

const N = Number(process.argv[2] ?? 200_000);
const RUNS = Number(process.argv[3] ?? 5);
const TXS = 4;
const neverWait = { waitForRoom: () => undefined };

/** A run's figures: wall rate, and this process's CPU per change (the server decodes on the same cores). */
interface Run {
  rate: number;
  cpuUs: number;
}
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function viaService(database: string, slot: string, publication: string, stock: boolean): Promise<Run> {
  const service = new LogicalReplicationService(pgConfig(database), {
    acknowledge: { auto: false, timeoutSeconds: 0 },
    flowControl: { enabled: !stock },
  });
  const plugin = stock ? new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] }) : new LosslessPgoutputPlugin({ publicationNames: [publication] });
  let count = 0;
  let first = 0;
  let last = 0;
  let cpu0 = 0;
  let cpu1 = 0;
  const done = new Promise<void>((resolve, reject) => {
    service.on('data', (_lsn: string, m: Pgoutput.Message | DecodedMessage) => {
      const tag = stock ? (m as Pgoutput.Message).tag : (m as DecodedMessage).message.tag;
      if (tag !== 'insert') return;
      if (count === 0) {
        first = performance.now();
        cpu0 = cpuNow();
      }
      if (++count === N) {
        last = performance.now();
        cpu1 = cpuNow();
        resolve();
      }
    });
    service.on('error', reject);
  });
  void service.subscribe(plugin as never, slot, '0/0').catch(() => undefined);
  await done;
  await service.destroy().catch(() => undefined);
  return { rate: (N - 1) / ((last - first) / 1000), cpuUs: (cpu1 - cpu0) / (N - 1) };
}

/**
 * `waitEvery` > 0: the FlowControl makes the reader wait (a timer turn) every that many events, and
 * the run checks that the ids arrive complete and in order (the backpressure path).
 */
async function viaSource(source: PostgresSource, from: Position, chain: boolean, waitEvery = 0): Promise<Run> {
  const window = new InflightWindow({ maxEvents: 1e12, maxBytes: 1e15 });
  let calls = 0;
  const flow =
    waitEvery > 0 ? { waitForRoom: () => (++calls % waitEvery === 0 ? new Promise<void>((r) => setTimeout(r, 1)) : undefined) } : neverWait;
  let expectId = 1;
  const events$: Observable<ChangeEvent> = source.stream(from, flow).pipe(
    tap((e) => {
      if (waitEvery > 0 && e.op === 'insert') {
        const id = Number((e.after as { id: string }).id);
        if (id !== expectId) throw new Error(`backpressure path: expected id ${expectId}, got ${id}`);
        expectId += 1;
      }
    }),
  );
  let count = 0;
  let first = 0;
  let last = 0;
  let cpu0 = 0;
  let cpu1 = 0;
  const seen = (k: number, resolve: () => void) => {
    if (count === 0) {
      first = performance.now();
      cpu0 = cpuNow();
    }
    count += k;
    if (count >= N) {
      last = performance.now();
      cpu1 = cpuNow();
      resolve();
    }
  };
  await new Promise<void>((resolve, reject) => {
    let sub;
    if (chain) {
      const selector = new ObjectSelector({ include: [{ schema: 'public', table: 'items' }] });
      sub = events$
        .pipe(
          selectObjects(selector),
          mapNames(new NameMapper({})),
          tap((e) => window.admit(e.bytes)),
          throttleRate<ChangeEvent>(new ThrottleController({})),
          batchBy<ChangeEvent>({ maxEvents: 5000, maxBytes: 4 * 1024 * 1024, maxWaitMs: 10 }),
        )
        .subscribe({
          next: (g) => {
            let k = 0;
            for (const e of g.items) if (e.op === 'insert') k++;
            seen(k, resolve);
          },
          error: reject,
        });
    } else {
      sub = events$.subscribe({ next: (e) => e.op === 'insert' && seen(1, resolve), error: reject });
    }
    const check = setInterval(() => {
      if (count >= N) {
        clearInterval(check);
        sub.unsubscribe();
      }
    }, 5);
  });
  await source.close();
  return { rate: (N - 1) / ((last - first) / 1000), cpuUs: (cpu1 - cpu0) / (N - 1) };
}

function stats(xs: number[], digits: number): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const f = (v: number) => round(v, digits).toLocaleString('en').padStart(8);
  return `min ${f(s[0]!)} median ${f(med)} max ${f(s[s.length - 1]!)}`;
}

async function main(): Promise<void> {
  const db = await createDatabase('micro_pgstream');
  const taskId = uniqueName('micro').replace(/_/g, '-');
  const makeSource = () =>
    new PostgresSource({
      taskId,
      connection: { ...(pgConfig(db.database) as { host: string; port: number; user: string }), database: db.database },
      flavour: 'postgres',
      select: (ref) => ref.schema === 'public' && ref.table === 'items',
      heartbeat: { enabled: false, intervalMs: 1000, schema: 'public' },
      chunkRows: 50_000,
    });
  try {
    await withPg(db.database, (c) => c.query(ITEMS_DDL));
    const setup = makeSource();
    const plan = await setup.prepare({ full: false }); // publication + slot, before the rows
    await setup.close();
    const from = plan.streamFrom;
    const t0 = performance.now();
    await withPg(db.database, async (c) => {
      for (let i = 0; i < TXS; i++) await c.query(itemsInsert(Math.floor((i * N) / TXS) + 1, Math.floor(((i + 1) * N) / TXS)));
    });
    console.log(`inserted ${N} rows in ${TXS} transactions in ${round((performance.now() - t0) / 1000, 2)} s; ${RUNS} runs per path`);
    const paths: [string, () => Promise<Run>][] = [
      ['(a) stock PgoutputPlugin decode', () => viaService(db.database, setup.slot, setup.publication, true)],
      ['(b) our decoder, LogicalReplicationService', () => viaService(db.database, setup.slot, setup.publication, false)],
      ['(c) PostgresSource.stream()', () => viaSource(makeSource(), from, false)],
      ['(d) stream + operator chain', () => viaSource(makeSource(), from, true)],
      ['(e) stream, reader waits every 1000 events (checks order)', () => viaSource(makeSource(), from, false, 1000)],
    ];
    // MICRO_PATHS=cd runs only those paths (e.g. under --cpu-prof).
    const only = process.env.MICRO_PATHS;
    if (only) paths.splice(0, paths.length, ...paths.filter(([name]) => only.includes(name[1]!)));
    const results = new Map<string, Run[]>(paths.map(([name]) => [name, []]));
    // Interleave the paths so load drift on the machine spreads over all of them.
    for (let r = 0; r < RUNS; r++) {
      for (const [name, run] of paths) {
        results.get(name)!.push(await run());
        await sleep(300); // let the walsender of the previous run go away
      }
    }
    for (const [name, xs] of results) {
      console.log(`${name.padEnd(56)} ${stats(xs.map((x) => x.rate), 0)} events/s | CPU ${stats(xs.map((x) => x.cpuUs), 2)} µs/event`);
    }
  } finally {
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
