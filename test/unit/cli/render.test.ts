import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TerminalProgress } from '../../../src/cli/progress.js';
import { RecentRate, barFraction, etaSeconds, formatDuration, progressLine, rowFigures, sampleRates } from '../../../src/cli/render.js';
import type { RowProgress, TaskStatus } from '../../../src/runtime/task.js';

const rows = (rowsDone: number, rowsEstimated: number, chunksDone: number, chunksTotal: number): RowProgress => ({ rowsDone, rowsEstimated, chunksDone, chunksTotal });

function status(state: string, tables: Record<string, RowProgress>, extra: Partial<TaskStatus> = {}): TaskStatus {
  const total = Object.values(tables).reduce((t, p) => rows(t.rowsDone + p.rowsDone, t.rowsEstimated + p.rowsEstimated, t.chunksDone + p.chunksDone, t.chunksTotal + p.chunksTotal), rows(0, 0, 0, 0));
  return {
    taskId: 't',
    state,
    phase: state,
    healthy: true,
    lastError: null,
    retry: null,
    progress: { ...total, tables },
    precheck: null,
    counters: { events: 0, heartbeats: 0, bytes: 0, batches: 0, snapshotRows: total.rowsDone, lastCommitTime: null, lastAckAt: null },
    latencyMs: null,
    position: null,
    throttle: {},
    ...extra,
  };
}

/** A terminal 200 columns wide that keeps what was written, escape sequences and all. */
function terminal(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  Object.assign(w, { isTTY: true, columns: 200 });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => text };
}

describe('progress figures', () => {
  it('the rate is the recent one: a fast start does not hide a slow present', () => {
    const r = new RecentRate(20_000);
    r.add(0, 0);
    r.add(100_000, 10_000); // 10,000/s for 10 s
    for (let t = 20_000; t <= 60_000; t += 10_000) r.add(100_000 + (t - 10_000) / 10, t); // then 100/s
    // Over the last 20 s only the slow rate counts (the average since the start would be ~1,750/s).
    expect(r.perSecond()).toBeCloseTo(100, 5);
  });

  it('no rate before two samples a second apart; a count that went down starts over', () => {
    const r = new RecentRate();
    r.add(10, 0);
    expect(r.perSecond()).toBeNull();
    r.add(20, 500);
    expect(r.perSecond()).toBeNull();
    r.add(30, 1000);
    expect(r.perSecond()).toBe(20);
    r.add(5, 2000);
    expect(r.perSecond()).toBeNull();
  });

  it('the bar holds at 99 % while an estimate is exceeded and reaches 100 % only when every chunk is copied', () => {
    expect(barFraction(rows(50, 100, 0, 2))).toBe(0.5);
    expect(barFraction(rows(120, 120, 1, 2))).toBe(0.99);
    expect(barFraction(rows(120, 120, 2, 2))).toBe(1);
    expect(barFraction(rows(0, 0, 1, 4))).toBe(0.25);
    expect(barFraction(rows(0, 0, 0, 0))).toBe(0);
  });

  it('ETA is what is left at the recent rate; unknown without a rate; 0 once complete', () => {
    expect(etaSeconds(rows(40_000, 100_000, 0, 2), 2_000)).toBe(30);
    expect(etaSeconds(rows(40_000, 100_000, 0, 2), null)).toBeNull();
    expect(etaSeconds(rows(100_000, 100_000, 2, 2), null)).toBe(0);
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(rowFigures(rows(40_000, 100_000, 1, 2), 2_000)).toBe(' 40% 40,000/100,000 rows, 1/2 chunks, 2,000 rows/s, ETA 30s');
  });

  it('the line printed off a terminal: the total, then one line per table with its own rate', () => {
    const rates = new Map<string, RecentRate>();
    const a = 'db.public.a';
    const b = 'db.public.b';
    sampleRates(rates, status('full', { [a]: rows(0, 30_000, 0, 1), [b]: rows(0, 20_000, 0, 1) }), 0);
    sampleRates(rates, status('full', { [a]: rows(6_000, 30_000, 0, 1), [b]: rows(2_000, 20_000, 0, 1) }), 2_000);
    const s = status('full', { [a]: rows(6_000, 30_000, 0, 1), [b]: rows(2_000, 20_000, 0, 1) });
    expect(progressLine(s, 0, 0, rates, true).split('\n')).toEqual([
      'full sync  16% 8,000/50,000 rows, 0/2 chunks, 4,000 rows/s, ETA 11s',
      `  ${a}  20% 6,000/30,000 rows, 0/1 chunks, 3,000 rows/s, ETA 8s`,
      `  ${b}  10% 2,000/20,000 rows, 0/1 chunks, 1,000 rows/s, ETA 18s`,
    ]);
  });
});

describe('the terminal bars (cli-progress)', () => {
  it('draws a total bar and one per table, and leaves them at 100 % when the full sync completes', () => {
    const t = terminal();
    const p = new TerminalProgress(t.stream);
    const a = 'db.public.a';
    const b = 'db.public.b';
    p.update(status('full', { [a]: rows(3_000, 30_000, 0, 1), [b]: rows(2_000, 20_000, 0, 1) }), Date.now(), 0);
    // The final figures come with the next state: incremental, every chunk copied.
    p.phaseChanged(status('incremental', { [a]: rows(30_000, 30_000, 1, 1), [b]: rows(20_000, 20_000, 1, 1) }), '[time] incremental');
    const screen = t.text();
    expect(screen).toMatch(/full sync\s+█{30} 100% 50,000\/50,000 rows, 2\/2 chunks/);
    expect(screen).toMatch(/ {2}db\.public\.a\s+█{30} 100% 30,000\/30,000 rows, 1\/1 chunks/);
    expect(screen).toMatch(/ {2}db\.public\.b\s+█{30} 100% 20,000\/20,000 rows, 1\/1 chunks/);
    expect(screen.indexOf('[time] incremental')).toBeGreaterThan(screen.lastIndexOf('100%'));
    // Then incremental sync: one line, no bar; finish() ends it.
    p.update(status('incremental', {}, { latencyMs: 1200, position: '0/1' }), Date.now(), 0);
    p.finish();
    expect(t.text()).toContain('incremental: latency 1.2s');
  });

  it('with more tables than fit, one total bar that says how many', () => {
    const t = terminal();
    const p = new TerminalProgress(t.stream);
    const tables = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`db.public.t${i}`, rows(500, 1000, 0, 1)]));
    p.update(status('full', tables), Date.now(), 0);
    p.finish(status('full', tables));
    expect(t.text()).toMatch(/full sync \(12 tables\) █{15}░{15}\s+50% 6,000\/12,000 rows/);
    expect(t.text()).not.toContain('db.public.t0');
  });
});
