import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../../../bench/lib.js';
import { benchReport, changes, chartFigures, parseTarget, type BenchResult } from '../../../bench/report.js';

const exec = promisify(execFile);

const machine = { cpuModel: 'Intel(R) Xeon(R) CPU @ 2.20GHz', cpuCount: 2, totalMemoryMB: 24_000, node: 'v20.20.2', platform: 'linux 6.1' };

/** Two synthetic runs of the same machine: B is faster here, slower there, and misses one target A met. */
const A: BenchResult = {
  at: '2026-11-22T03:45:54.098Z',
  quick: false,
  commit: { sha: 'aaaaaaaaaa1111111111', subject: 'earlier', dirty: false },
  machine,
  load: { start: [0.4, 0.5, 0.6], end: [1.1, 0.8, 0.7], scenarios: {} },
  scenarios: ['pg-incremental', 'pg-full', 'stages'],
  seconds: {},
  rows: [
    { scenario: 'pg-incremental', metric: 'throughput', value: 100_000, unit: 'events/s', target: '≥100,000', meets: true, baseline: { name: 'raw decode', value: 80_000 } },
    { scenario: 'pg-incremental', metric: 'latency p99 at 10,000/s', value: 25, unit: 'ms', target: '≤30', meets: true },
    { scenario: 'pg-incremental', metric: 'burst latency p50 / p99 (backlog)', value: '12 / 20', unit: 'ms' },
    { scenario: 'pg-incremental', metric: 'peak RSS', value: 280, unit: 'MB', target: '≤300', meets: true },
    { scenario: 'pg-incremental', metric: 'machine load avg (1 min) before → after', value: '0.4 → 1.1', unit: '' },
    { scenario: 'pg-full', metric: 'full-sync throughput (median of 3)', value: 140_000, unit: 'rows/s', target: '≥150,000', meets: false, baseline: { name: 'raw read', value: 250_000 } },
    { scenario: 'stages', metric: 'encode canal-json', value: 2.7, unit: 'µs/event' },
    { scenario: 'stages', metric: 'throttleRate 5,000/s', value: 5_000, unit: 'events/s', target: '±5%', meets: true },
    { scenario: 'stages', metric: 'retired figure', value: 1, unit: 'x' },
  ],
};
const B: BenchResult = {
  ...A,
  at: '2026-11-30T10:00:00.000Z',
  commit: { sha: 'bbbbbbbbbb2222222222', subject: 'later', dirty: true },
  load: { start: [2.9, 2.0, 1.5], end: [3.1, 2.4, 1.8], scenarios: {} },
  rows: [
    { scenario: 'pg-incremental', metric: 'throughput', value: 120_000, unit: 'events/s', target: '≥100,000', meets: true, baseline: { name: 'raw decode', value: 80_000 } },
    { scenario: 'pg-incremental', metric: 'latency p99 at 10,000/s', value: 35, unit: 'ms', target: '≤30', meets: false },
    { scenario: 'pg-incremental', metric: 'burst latency p50 / p99 (backlog)', value: '9 / 16', unit: 'ms' },
    { scenario: 'pg-incremental', metric: 'peak RSS', value: 281, unit: 'MB', target: '≤300', meets: true },
    { scenario: 'pg-incremental', metric: 'machine load avg (1 min) before → after', value: '2.9 → 3.1', unit: '' },
    { scenario: 'pg-full', metric: 'full-sync throughput (median of 3)', value: 154_000, unit: 'rows/s', target: '≥150,000', meets: true, baseline: { name: 'raw read', value: 250_000 } },
    { scenario: 'stages', metric: 'encode canal-json', value: 2.4, unit: 'µs/event' },
    { scenario: 'stages', metric: 'throttleRate 5,000/s', value: 5_010, unit: 'events/s', target: '±5%', meets: true },
    { scenario: 'stages', metric: 'new figure', value: 7, unit: 'x' },
  ],
};

describe('benchmark results compared over time', () => {
  let dir: string;
  let fileA: string;
  let fileB: string;
  let fileOld: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-bench-'));
    fileA = join(dir, 'bench-a.json');
    fileB = join(dir, 'bench-b.json');
    fileOld = join(dir, 'bench-old.json');
    await writeFile(fileA, JSON.stringify(A));
    await writeFile(fileB, JSON.stringify(B));
    // A file from before commit and load were recorded.
    const { commit: _c, load: _l, ...old } = A;
    await writeFile(fileOld, JSON.stringify(old));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads targets and the direction of each figure', () => {
    expect(parseTarget('≥150,000')).toEqual({ op: '>=', value: 150_000, percent: false });
    expect(parseTarget('≤30')).toEqual({ op: '<=', value: 30, percent: false });
    expect(parseTarget('≥90%')).toEqual({ op: '>=', value: 90, percent: true });
    expect(parseTarget('±5%')).toBeNull();
    const byMetric = new Map(changes(A, B).map((c) => [c.metric, c]));
    expect(byMetric.get('throughput')).toMatchObject({ change: [0.2], verdict: 'better', target: '' });
    expect(byMetric.get('latency p99 at 10,000/s')).toMatchObject({ verdict: 'worse', target: 'ok → MISS' });
    expect(byMetric.get('latency p99 at 10,000/s')?.change[0]).toBeCloseTo(0.4, 10);
    expect(byMetric.get('burst latency p50 / p99 (backlog)')).toMatchObject({ change: [-0.25, -0.2], verdict: 'better' });
    expect(byMetric.get('peak RSS')).toMatchObject({ verdict: 'same' });
    expect(byMetric.get('full-sync throughput (median of 3)')).toMatchObject({ verdict: 'better', target: 'MISS → ok' });
    expect(byMetric.get('encode canal-json')).toMatchObject({ verdict: 'better' });
    expect(byMetric.get('retired figure')).toMatchObject({ a: 1, b: undefined });
    expect(byMetric.get('new figure')).toMatchObject({ a: undefined, b: 7 });
    expect(byMetric.has('machine load avg (1 min) before → after')).toBe(false);
  });

  it('--compare prints both runs\' commit, machine and load, what weakens the comparison, and the change per figure', async () => {
    let text = '';
    expect(await benchReport(['--compare', fileA, fileB], (s) => (text += s))).toBe(0);
    expect(text).toContain(`A: ${fileA}, 2026-11-22T03:45:54.098Z`);
    expect(text).toContain('commit aaaaaaaaaa "earlier"');
    expect(text).toContain('commit bbbbbbbbbb (uncommitted changes) "later"');
    expect(text).toContain('Intel(R) Xeon(R) CPU @ 2.20GHz × 2, 23 GB, Node v20.20.2; load 2.9 → 3.1 (1 min)');
    expect(text).toContain('note: B ran on a loaded machine (load 2.9 → 3.1 on 2 cores)');
    expect(text).toContain('note: B ran with uncommitted changes');
    const line = (metric: string) => text.split('\n').find((l) => l.includes(metric)) ?? '';
    expect(line('throughput ')).toMatch(/^pg-incremental\s+throughput\s+events\/s\s+100,000\s+120,000\s+\+20\.0 %\s+better$/);
    expect(line('latency p99')).toMatch(/25\s+35\s+\+40\.0 %\s+worse\s+ok → MISS$/);
    expect(line('burst latency')).toMatch(/12 \/ 20\s+9 \/ 16\s+-25\.0 % \/ -20\.0 %\s+better$/);
    expect(line('peak RSS')).toMatch(/280\s+281\s+\+0\.4 %\s+same$/);
    expect(line('full-sync throughput')).toMatch(/140,000\s+154,000\s+\+10\.0 %\s+better\s+MISS → ok$/);
    expect(line('encode canal-json')).toMatch(/2\.7\s+2\.4\s+-11\.1 %\s+better$/);
    expect(line('retired figure')).toMatch(/1\s+\(absent\)\s+only in A$/);
    expect(line('new figure')).toMatch(/\(absent\)\s+7\s+only in B$/);
    expect(text).not.toContain('machine load avg');
  });

  it('a file written before commit and load were recorded still compares, saying so', async () => {
    let text = '';
    expect(await benchReport(['--compare', fileOld, fileB], (s) => (text += s))).toBe(0);
    expect(text).toContain('commit not recorded');
    expect(text).toContain('note: A has no load average recorded');
  });

  it('--chart draws each figure with a target or baseline: bar, target line, baseline line and the earlier value, to scale', async () => {
    const out = join(dir, 'chart.svg');
    let text = '';
    expect(await benchReport(['--chart', out, fileA, fileB], (s) => (text += s))).toBe(0);
    expect(text).toBe(`chart: ${out}\n`);
    const svg = await readFile(out, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // Nothing fetched: no external reference of any kind.
    expect(svg).not.toMatch(/href=|@import|url\(/);
    // Figures with a numeric target or a baseline: throughput, p99, peak RSS, full sync (not ±5%, not the encoder).
    expect(chartFigures(B, A).map((f) => f.metric)).toEqual(['throughput', 'latency p99 at 10,000/s', 'peak RSS', 'full-sync throughput (median of 3)']);
    expect(svg.match(/<rect class="bar /g)).toHaveLength(4);
    expect(svg.match(/<rect class="previous"/g)).toHaveLength(4);
    expect(svg.match(/<line class="target"/g)).toHaveLength(4);
    expect(svg.match(/<line class="baseline"/g)).toHaveLength(2);
    expect(svg.match(/<rect class="bar ok"/g)).toHaveLength(3);
    expect(svg.match(/<rect class="bar miss"/g)).toHaveLength(1);
    // Throughput row: scale = 1.1 × max(120,000, target 100,000, baseline 80,000, earlier 100,000) over 420 px from x = 360.
    const scale = 420 / (120_000 * 1.1);
    expect(svg).toContain(`<rect class="bar ok" x="360" y="100" width="${(120_000 * scale).toFixed(1)}" height="16">`);
    expect(svg).toContain(`<line class="target" x1="${(360 + 100_000 * scale).toFixed(1)}"`);
    expect(svg).toContain(`<line class="baseline" x1="${(360 + 80_000 * scale).toFixed(1)}"`);
    expect(svg).toContain('<title>target ≥100,000</title>');
    expect(svg).toContain('>120,000 events/s (+20.0 %)</text>');
    // The header names the run: commit (+ when dirty), machine, load.
    expect(svg).toContain('bbbbbbbbbb+ · Intel(R) Xeon(R) CPU @ 2.20GHz × 2, 23 GB · load 2.9 → 3.1');
    // Text is escaped: a metric with markup characters stays text.
    const odd: BenchResult = { ...B, rows: [{ scenario: 's', metric: 'a <b> & "c"', value: 1, unit: 'x', target: '≥2', meets: false } as ResultRow] };
    const oddFile = join(dir, 'odd.json');
    await writeFile(oddFile, JSON.stringify(odd));
    await benchReport(['--chart', out, oddFile], () => undefined);
    expect(await readFile(out, 'utf8')).toContain('a &lt;b&gt; &amp; &quot;c&quot; (x)');
  });

  it('usage errors exit 64', async () => {
    const quiet = () => undefined;
    expect(await benchReport(['--compare', fileA], quiet)).toBe(64);
    expect(await benchReport(['--compare', fileA, fileB, fileOld], quiet)).toBe(64);
    expect(await benchReport(['--bogus', fileA], quiet)).toBe(64);
    expect(await benchReport([fileA], quiet)).toBe(64);
  });

  it('`npm run bench -- --compare A.json B.json` runs the comparison without servers or a build', async () => {
    const r = await exec('npm', ['run', '--silent', 'bench', '--', '--compare', fileA, fileB], { timeout: 60_000 });
    expect(r.stdout).toMatch(/throughput\s+events\/s\s+100,000\s+120,000\s+\+20\.0 %\s+better/);
  }, 60_000);
});
