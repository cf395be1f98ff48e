import { describe, expect, it } from 'vitest';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import type { Batch } from '../../../src/core/batch.js';
import type { OpenBatch, Sink } from '../../../src/core/contracts.js';
import { ConnectionError } from '../../../src/core/errors.js';
import type { ChangeEvent, TableShape } from '../../../src/core/events.js';
import { SequencePosition } from '../../../src/core/position.js';
import { InflightWindow, ThrottleController } from '../../../src/operators/index.js';
import { passThrough, writeThrough, type AckedBatch } from '../../../src/runtime/pipeline.js';

const shape = (table: string): TableShape => ({ ref: { database: 'd', schema: 's', table }, columns: [{ name: 'id', type: 'int4' }], key: ['id'] });
const a = shape('a');
const b = shape('b');
let n = 0n;
function ev(s: TableShape, op: ChangeEvent['op'] = 'insert'): ChangeEvent {
  n += 1n;
  return { op, shape: s, snapshot: false, before: null, after: { id: Number(n) }, commitTime: 1000 + Number(n), position: new SequencePosition(n), bytes: 10 };
}

/** A sink whose batches take events as they arrive; records what each batch got, and when. */
class FillingSink implements Sink {
  readonly kind = 'test';
  readonly capabilities = { maxInFlightWrites: 2, transactional: false };
  readonly log: string[] = [];
  written: ChangeEvent[][] = [];
  fail: Error | null = null;
  streaming = true;
  async precheck() {
    return [];
  }
  openBatch(): OpenBatch | null {
    if (!this.streaming) return null;
    const got: ChangeEvent[] = [];
    const batchNo = this.written.length + this.log.filter((l) => l.startsWith('open')).length;
    this.log.push(`open ${batchNo}`);
    return {
      add: (e) => {
        got.push(e);
        this.log.push(`add ${String(e.position.encode())}`);
      },
      write: async () => {
        this.log.push(`write ${got.length}`);
        if (this.fail) throw this.fail;
        this.written.push(got);
      },
    };
  }
  async write(batch: Batch<ChangeEvent>) {
    this.log.push(`write(batch) ${batch.items.length}`);
    if (this.fail) throw this.fail;
    this.written.push([...batch.items]);
  }
  async close() {}
}

function run(sink: Sink, src: Subject<ChangeEvent>, window = new InflightWindow({ maxEvents: 100 })) {
  return writeThrough(src, { sink, transform: passThrough, window, throttle: new ThrottleController(), batch: { maxEvents: 3, maxBytes: 1_000_000, maxWaitMs: 1_000 } });
}

describe('writeThrough', () => {
  it('hands every event to the sink\'s open batch as it arrives, and acknowledges per batch', async () => {
    const sink = new FillingSink();
    const src = new Subject<ChangeEvent>();
    const out = lastValueFrom(run(sink, src).pipe(toArray()));
    const e1 = ev(a);
    src.next(e1);
    src.next(ev(b));
    // Before the batch is full, the sink already has both events.
    expect(sink.log).toEqual(['open 0', `add ${String(e1.position.encode())}`, `add ${String(n)}`]);
    src.next(ev(a, 'heartbeat'));
    src.next(ev(a));
    src.complete();
    const acked: AckedBatch[] = await out;
    expect(sink.written.map((w) => w.length)).toEqual([3, 1]);
    expect(acked.map((x) => [x.events, x.heartbeats, x.bytes])).toEqual([
      [2, 1, 30],
      [1, 0, 10],
    ]);
    expect([...(acked[0]?.byTable ?? new Map())]).toEqual([
      ['d.s.a', { events: 1, bytes: 10 }],
      ['d.s.b', { events: 1, bytes: 10 }],
    ]);
    expect(acked[1]?.last.position.encode()).toBe(String(n));
    expect(sink.log.filter((l) => l.startsWith('write(batch)'))).toEqual([]);
  });

  it('falls back to whole batches when the sink opens none', async () => {
    const sink = new FillingSink();
    sink.streaming = false;
    const src = new Subject<ChangeEvent>();
    const out = lastValueFrom(run(sink, src).pipe(toArray()));
    for (let i = 0; i < 4; i++) src.next(ev(a));
    src.complete();
    const acked = await out;
    expect(sink.log).toEqual(['write(batch) 3', 'write(batch) 1']);
    expect(acked.map((x) => x.events)).toEqual([3, 1]);
  });

  it('a failed write fails the run and gives its events back to the in-flight window', async () => {
    const sink = new FillingSink();
    sink.fail = new ConnectionError('DOWN', 'destination down');
    const window = new InflightWindow({ maxEvents: 100 });
    const src = new Subject<ChangeEvent>();
    const out = lastValueFrom(run(sink, src, window).pipe(toArray()));
    for (let i = 0; i < 3; i++) src.next(ev(a));
    await expect(out).rejects.toThrow('destination down');
    expect(window.inflightEvents).toBe(0);
  });
});
