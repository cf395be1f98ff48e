/**
 * Benchmark results for people who compare over time: what a result file holds (the figures, and
 * the commit, machine and load they were measured on), the change per figure between two files,
 * and a chart (SVG, drawn here without anything fetched) of the figures against their targets,
 * baselines and, when given, the earlier file's figures.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import os from 'node:os';
import type { ResultRow } from './lib.js';

/** The commit the benchmark ran on; `dirty` when tracked files had uncommitted changes. */
export interface CommitInfo {
  sha: string;
  subject: string;
  dirty: boolean;
}

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemoryMB: number;
  node: string;
  platform: string;
}

/** The 1, 5 and 15-minute load averages. */
export type LoadAverage = [number, number, number];

/** One file of bench/results/. Files written before the commit and load were recorded lack them. */
export interface BenchResult {
  at: string;
  quick: boolean;
  commit?: CommitInfo | null;
  machine: MachineInfo;
  /** Load averages when the run started and ended, and before and after each scenario. */
  load?: { start: LoadAverage; end: LoadAverage; scenarios: Record<string, { before: LoadAverage; after: LoadAverage }> };
  scenarios: string[];
  seconds: Record<string, number>;
  rows: ResultRow[];
}

export function loadAverage(): LoadAverage {
  const [a = 0, b = 0, c = 0] = os.loadavg();
  return [round2(a), round2(b), round2(c)];
}

/** The checkout's commit, or null outside a git checkout. */
export function currentCommit(cwd = process.cwd()): CommitInfo | null {
  const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return { sha: git('rev-parse', 'HEAD'), subject: git('log', '-1', '--format=%s'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  } catch {
    return null;
  }
}

export async function readResult(path: string): Promise<BenchResult> {
  const r = JSON.parse(await readFile(path, 'utf8')) as Partial<BenchResult>;
  if (!Array.isArray(r.rows) || typeof r.machine !== 'object' || r.machine === null) throw new Error(`${path} is not a benchmark result file (bench/results/*.json): it has no rows or machine`);
  return { at: '?', quick: false, scenarios: [], seconds: {}, ...r } as BenchResult;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : String(round2(n)));

/** A figure's target as a comparison: `≥150,000` → at least 150000; `≤30` → at most 30. Null for `±5%` and the like. */
export function parseTarget(target: string | undefined): { op: '>=' | '<='; value: number; percent: boolean } | null {
  const m = /^\s*(≥|>=|≤|<=)\s*([\d.,]+)\s*(%?)/.exec(target ?? '');
  if (!m) return null;
  const value = Number((m[2] as string).replace(/,/g, ''));
  if (!Number.isFinite(value)) return null;
  return { op: m[1] === '≥' || m[1] === '>=' ? '>=' : '<=', value, percent: m[3] === '%' };
}

/** Whether more is better for a figure: from its target, else its unit (rates and ratios up; time and memory down); null when neither tells. */
export function higherIsBetter(row: Pick<ResultRow, 'target' | 'unit'>): boolean | null {
  const t = parseTarget(row.target);
  if (t) return t.op === '>=';
  if (/\/s$|×|%/.test(row.unit)) return true;
  if (/^(ms|s|µs\/event|MB|GB|KB)$/.test(row.unit)) return false;
  return null;
}

/** The numbers in a value: `145265` → [145265]; `'12 / 21'` → [12, 21]; a text without numbers → []. */
function numbersOf(value: ResultRow['value']): number[] {
  if (typeof value === 'number') return [value];
  if (typeof value !== 'string') return [];
  return value.split('/').map((p) => Number(p.trim().replace(/,/g, ''))).filter((n) => Number.isFinite(n) && !Number.isNaN(n));
}

function describeValue(value: ResultRow['value']): string {
  if (value === null) return '-';
  return typeof value === 'number' ? fmt(value) : value;
}

const key = (r: Pick<ResultRow, 'scenario' | 'metric'>) => `${r.scenario}\u0000${r.metric}`;
/** Rows that describe the run rather than measure it. */
const isMachineRow = (r: ResultRow) => r.metric.startsWith('machine load');

function header(label: string, file: string, r: BenchResult): string {
  const c = r.commit ? `commit ${r.commit.sha.slice(0, 10)}${r.commit.dirty ? ' (uncommitted changes)' : ''} "${r.commit.subject}"` : 'commit not recorded';
  const m = r.machine;
  const load = r.load ? `load ${r.load.start[0]} → ${r.load.end[0]} (1 min)` : 'load not recorded';
  return `${label}: ${file}, ${r.at}${r.quick ? ' (quick sizes)' : ''}\n   ${c}\n   ${m.cpuModel} × ${m.cpuCount}, ${Math.round(m.totalMemoryMB / 1024)} GB, Node ${m.node}; ${load}`;
}

export interface FigureChange {
  scenario: string;
  metric: string;
  unit: string;
  a: ResultRow['value'] | undefined;
  b: ResultRow['value'] | undefined;
  /** Relative change B vs A per number in the value (one for most figures, two for `p50 / p99`). */
  change: number[];
  /** better / worse / same (within 1 %) / '' when the direction or the numbers are unknown. */
  verdict: 'better' | 'worse' | 'same' | '';
  /** `ok → MISS` when the target verdict changed. */
  target: string;
}

/** The change of every figure from A to B (figures in only one file included, with the other side undefined). */
export function changes(a: BenchResult, b: BenchResult): FigureChange[] {
  const inA = new Map(a.rows.filter((r) => !isMachineRow(r)).map((r) => [key(r), r]));
  const inB = new Map(b.rows.filter((r) => !isMachineRow(r)).map((r) => [key(r), r]));
  const keys = [...inB.keys(), ...[...inA.keys()].filter((k) => !inB.has(k))];
  return keys.map((k) => {
    const ra = inA.get(k);
    const rb = inB.get(k);
    const row = (rb ?? ra) as ResultRow;
    const na = ra ? numbersOf(ra.value) : [];
    const nb = rb ? numbersOf(rb.value) : [];
    const change = na.length > 0 && na.length === nb.length ? na.map((x, i) => (x === 0 ? (nb[i] === 0 ? 0 : Infinity) : ((nb[i] as number) - x) / Math.abs(x))) : [];
    const up = higherIsBetter(row);
    let verdict: FigureChange['verdict'] = '';
    if (change.length > 0) {
      if (change.every((c) => Math.abs(c) < 0.01)) verdict = 'same';
      else if (up !== null) {
        const score = change.reduce((s, c) => s + c, 0) * (up ? 1 : -1);
        verdict = score > 0 ? 'better' : 'worse';
      }
    }
    const mark = (r: ResultRow | undefined) => (r?.meets === undefined ? '' : r.meets ? 'ok' : 'MISS');
    const target = ra && rb && mark(ra) !== mark(rb) && mark(ra) && mark(rb) ? `${mark(ra)} → ${mark(rb)}` : '';
    return { scenario: row.scenario, metric: row.metric, unit: row.unit, a: ra?.value, b: rb?.value, change, verdict, target };
  });
}

function pct(c: number): string {
  if (!Number.isFinite(c)) return 'new';
  const v = Math.round(c * 1000) / 10;
  return `${v > 0 ? '+' : ''}${v.toFixed(1)} %`;
}

/** Warnings that make a comparison weak: another machine, another size, a loaded machine, uncommitted code. */
export function caveats(a: BenchResult, b: BenchResult): string[] {
  const out: string[] = [];
  const ma = a.machine;
  const mb = b.machine;
  if (ma.cpuModel !== mb.cpuModel || ma.cpuCount !== mb.cpuCount || Math.abs(ma.totalMemoryMB - mb.totalMemoryMB) > 512) out.push('the machines differ (CPU model, cores or memory): figures are not comparable one to one');
  if (ma.node !== mb.node) out.push(`Node differs (${ma.node} vs ${mb.node})`);
  if (a.quick !== b.quick) out.push('one run used quick sizes and the other full sizes');
  for (const [label, r] of [['A', a], ['B', b]] as const) {
    if (r.load && Math.max(r.load.start[0], r.load.end[0]) > r.machine.cpuCount * 0.75) out.push(`${label} ran on a loaded machine (load ${r.load.start[0]} → ${r.load.end[0]} on ${r.machine.cpuCount} cores)`);
    if (!r.load) out.push(`${label} has no load average recorded`);
    if (r.commit?.dirty) out.push(`${label} ran with uncommitted changes`);
  }
  return out;
}

/** The comparison as text: both runs' commit, machine and load, caveats, then one line per figure. */
export function formatComparison(a: BenchResult, b: BenchResult, files: { a: string; b: string }): string {
  const rows = changes(a, b);
  const cells = rows.map((c) => [
    c.scenario,
    c.metric.trim(),
    c.unit,
    c.a === undefined ? '(absent)' : describeValue(c.a),
    c.b === undefined ? '(absent)' : describeValue(c.b),
    c.a === undefined ? 'only in B' : c.b === undefined ? 'only in A' : c.change.length > 0 ? c.change.map(pct).join(' / ') : '-',
    c.verdict,
    c.target,
  ]);
  const head = ['scenario', 'figure', 'unit', 'A', 'B', 'change', '', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] as string).length)));
  const right = new Set([3, 4, 5]);
  const line = (r: string[]) => r.map((v, i) => (right.has(i) ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const notes = caveats(a, b);
  return [
    header('A', files.a, a),
    header('B', files.b, b),
    ...(notes.length > 0 ? ['', ...notes.map((n) => `note: ${n}`)] : []),
    '',
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(line),
    '',
  ].join('\n');
}

// ---- chart ----------------------------------------------------------------------------------

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A figure the chart draws: a number with a target, a baseline, or an earlier value to stand against. */
export interface ChartFigure {
  scenario: string;
  metric: string;
  unit: string;
  value: number;
  target: { op: '>=' | '<='; value: number; text: string } | null;
  baseline: { name: string; value: number } | null;
  previous: number | null;
  meets: boolean | undefined;
}

export function chartFigures(b: BenchResult, a?: BenchResult): ChartFigure[] {
  const earlier = new Map((a?.rows ?? []).map((r) => [key(r), r]));
  const out: ChartFigure[] = [];
  for (const r of b.rows) {
    if (typeof r.value !== 'number' || isMachineRow(r)) continue;
    const t = parseTarget(r.target);
    const prev = earlier.get(key(r));
    const figure: ChartFigure = {
      scenario: r.scenario,
      metric: r.metric.trim(),
      unit: r.unit,
      value: r.value,
      target: t ? { op: t.op, value: t.value, text: r.target as string } : null,
      baseline: r.baseline ?? null,
      previous: typeof prev?.value === 'number' ? prev.value : null,
      meets: r.meets,
    };
    if (figure.target || figure.baseline) out.push(figure);
  }
  return out;
}

/**
 * The chart: per figure, a bar for its value (green when it meets its target, red when not, blue
 * without one), a dashed line at the target, a grey line at the baseline of the same run, and a
 * hollow bar for the earlier run's value when `a` is given. Each row has its own scale.
 */
export function chartSvg(b: BenchResult, a?: BenchResult, title = 'Tributary benchmarks'): string {
  const figures = chartFigures(b, a);
  const labelW = 360;
  const barW = 420;
  const valueW = 260;
  const rowH = 34;
  const top = 96;
  const width = labelW + barW + valueW + 20;
  const height = top + Math.max(1, figures.length) * rowH + 40;
  const x0 = labelW;
  const parts: string[] = [];
  const text = (x: number, y: number, s: string, attrs = '') => parts.push(`<text x="${x}" y="${y}"${attrs ? ` ${attrs}` : ''}>${esc(s)}</text>`);
  const runLine = (r: BenchResult) =>
    `${r.at}${r.quick ? ' (quick)' : ''} · ${r.commit ? `${r.commit.sha.slice(0, 10)}${r.commit.dirty ? '+' : ''}` : 'commit ?'} · ${r.machine.cpuModel} × ${r.machine.cpuCount}, ${Math.round(r.machine.totalMemoryMB / 1024)} GB · load ${r.load ? `${r.load.start[0]} → ${r.load.end[0]}` : '?'}`;
  text(10, 24, title, 'class="title"');
  text(10, 44, `this run: ${runLine(b)}`);
  if (a) text(10, 62, `earlier (hollow bars): ${runLine(a)}`);
  text(10, 80, 'bar: value (green meets target, red misses, blue no target) · dashed: target · grey: baseline of the same run', 'class="legend"');
  figures.forEach((f, i) => {
    const y = top + i * rowH;
    const scaleMax = Math.max(f.value, f.target?.value ?? 0, f.baseline?.value ?? 0, f.previous ?? 0) * 1.1 || 1;
    const sx = (v: number) => x0 + (Math.max(0, v) / scaleMax) * barW;
    const color = f.meets === undefined ? 'none-target' : f.meets ? 'ok' : 'miss';
    if (i % 2 === 0) parts.push(`<rect class="stripe" x="0" y="${y - 4}" width="${width}" height="${rowH}"/>`);
    text(10, y + 12, f.scenario, 'class="scenario"');
    text(10, y + 25, `${f.metric} (${f.unit})`);
    parts.push(`<rect class="bar ${color}" x="${x0}" y="${y + 4}" width="${(sx(f.value) - x0).toFixed(1)}" height="16"><title>${esc(`${f.metric}: ${fmt(f.value)} ${f.unit}`)}</title></rect>`);
    if (f.previous !== null) parts.push(`<rect class="previous" x="${x0}" y="${y + 1}" width="${(sx(f.previous) - x0).toFixed(1)}" height="22"><title>${esc(`earlier: ${fmt(f.previous)} ${f.unit}`)}</title></rect>`);
    if (f.target) parts.push(`<line class="target" x1="${sx(f.target.value).toFixed(1)}" x2="${sx(f.target.value).toFixed(1)}" y1="${y - 2}" y2="${y + 26}"><title>${esc(`target ${f.target.text}`)}</title></line>`);
    if (f.baseline) parts.push(`<line class="baseline" x1="${sx(f.baseline.value).toFixed(1)}" x2="${sx(f.baseline.value).toFixed(1)}" y1="${y - 2}" y2="${y + 26}"><title>${esc(`baseline ${f.baseline.name}: ${fmt(f.baseline.value)}`)}</title></line>`);
    const change = f.previous !== null && f.previous !== 0 ? ` (${pct((f.value - f.previous) / Math.abs(f.previous))})` : '';
    const against = [f.target ? `target ${f.target.text}` : '', f.baseline ? `baseline ${fmt(f.baseline.value)}` : ''].filter(Boolean).join(', ');
    text(x0 + barW + 10, y + 12, `${fmt(f.value)} ${f.unit}${change}`, 'class="value"');
    text(x0 + barW + 10, y + 25, against, 'class="against"');
  });
  if (figures.length === 0) text(10, top + 14, 'no figure in this file has a target or a baseline');
  const style = [
    'text { font: 11px sans-serif; fill: #222; }',
    '.title { font-size: 16px; font-weight: bold; }',
    '.legend, .against { fill: #666; }',
    '.scenario { fill: #666; font-size: 10px; }',
    '.value { font-weight: bold; }',
    '.stripe { fill: #f6f6f6; }',
    '.bar.ok { fill: #3a9d5d; } .bar.miss { fill: #d9534f; } .bar.none-target { fill: #4a7fc1; }',
    '.previous { fill: none; stroke: #333; stroke-width: 1; }',
    '.target { stroke: #000; stroke-width: 2; stroke-dasharray: 4 3; }',
    '.baseline { stroke: #888; stroke-width: 3; }',
  ].join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<style>\n${style}\n</style>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

// ---- the command ----------------------------------------------------------------------------

/** What `npm run bench -- --compare ... / --chart ...` does (bench/compare.ts); returns the exit code. */
export async function benchReport(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const program = new Command('npm run bench --')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: out })
    .option('--compare', 'print the change of every figure from A.json (earlier) to B.json (later)')
    .option('--chart <out.svg>', 'draw the later file\'s figures against targets, baselines and the earlier file')
    .argument('<files...>', 'result files, bench/results/*.json: [A.json] B.json')
    .allowExcessArguments(false);
  let files: string[];
  let opts: { compare?: boolean; chart?: string };
  try {
    program.parse([...argv], { from: 'user' });
    files = program.args;
    opts = program.opts();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 64;
    throw err;
  }
  if (files.length > 2 || (opts.compare && files.length !== 2)) {
    out(`${opts.compare ? '--compare takes two result files: A.json (earlier) B.json (later)' : 'at most two result files: [A.json] B.json'}\n`);
    return 64;
  }
  const results = await Promise.all(files.map((f) => readResult(f)));
  const [a, b] = results.length === 2 ? [results[0], results[1]] : [undefined, results[0]];
  if (!b) return 64;
  if (opts.compare && a) out(formatComparison(a, b, { a: files[0] as string, b: files[1] as string }));
  if (opts.chart) {
    await writeFile(opts.chart, chartSvg(b, a));
    out(`chart: ${opts.chart}\n`);
  }
  if (!opts.compare && !opts.chart) {
    out('nothing to do: pass --compare A.json B.json and/or --chart out.svg\n');
    return 64;
  }
  return 0;
}
