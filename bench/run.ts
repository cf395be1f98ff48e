/**
 * Tributary benchmark suite. `npm run bench` runs every scenario at full size;
 * `npx tsx bench/run.ts [--quick] [scenario ...]` runs some, with smaller sizes under --quick.
 * Prints a table (targets beside the figures, never asserted) and writes JSON to bench/results/
 * (with the commit, machine and load averages) and an SVG chart beside it (bench/report.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ResultRow, ScenarioContext } from './lib.js';
import type { BenchResult, LoadAverage } from './report.js';

/**
 * The bench loads kafkajs itself (bench/lib.ts, the raw baselines), so, as any host process that
 * uses kafkajs must, it installs Tributary's fast path before anything loads kafkajs.
 */
const { installKafkaFastPath } = await import('../src/kafka/patches.js');
installKafkaFastPath();

const { machine } = await import('./lib.js');
const { chartSvg, currentCommit, loadAverage } = await import('./report.js');
const { pgIncremental } = await import('./scenarios/pgIncremental.js');
const { pgFull } = await import('./scenarios/pgFull.js');
const { stages } = await import('./scenarios/stages.js');
const { mongo } = await import('./scenarios/mongo.js');

const scenarios: Record<string, (ctx: ScenarioContext) => Promise<void>> = {
  'pg-incremental': pgIncremental,
  'pg-full': pgFull,
  stages,
  mongo,
};

function table(rows: ResultRow[]): string {
  const head = ['scenario', 'metric', 'value', 'unit', 'target', '', 'note'];
  const cells = rows.map((r) => [r.scenario, r.metric, r.value === null ? '-' : typeof r.value === 'number' ? r.value.toLocaleString('en') : r.value, r.unit, r.target ?? '', r.meets === undefined ? '' : r.meets ? 'ok' : 'MISS', r.note ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
  const line = (c: string[]) => c.map((v, i) => (i === 2 ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join(' | ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map((c) => line(c.map(String)))].join('\n');
}

/**
 * Each scenario runs in a child process of its own (this file with BENCH_SCENARIO set), so that
 * its peak RSS is its own and not what an earlier scenario's harness left in the heap.
 */
function runInChild(name: string, quick: boolean): Promise<ResultRow[]> {
  return new Promise((resolve) => {
    const rows: ResultRow[] = [];
    const child = fork(fileURLToPath(import.meta.url), quick ? ['--quick'] : [], { env: { ...process.env, BENCH_SCENARIO: name } });
    child.on('message', (r) => rows.push(r as ResultRow));
    child.once('exit', (code) => {
      if (code !== 0) rows.push({ scenario: name, metric: 'FAILED', value: null, unit: '', note: `scenario process exited with code ${code}` });
      resolve(rows);
    });
  });
}

/** The child side: one scenario, its rows sent to the parent as they come. */
async function runScenario(name: string, quick: boolean): Promise<void> {
  const sends: Array<Promise<void>> = [];
  const ctx: ScenarioContext = {
    quick,
    shared: new Map<string, unknown>(),
    row: (r) => sends.push(new Promise<void>((resolve) => process.send?.({ scenario: name, ...r }, () => resolve()))),
    log: (msg) => console.log(`   ${msg}`),
  };
  try {
    await scenarios[name]?.(ctx);
  } catch (err) {
    console.error(`   ${name} failed: ${(err as Error).stack ?? String(err)}`);
    ctx.row({ metric: 'FAILED', value: null, unit: '', note: (err as Error).message.slice(0, 200) });
  }
  await Promise.all(sends);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const wanted = args.filter((a) => !a.startsWith('--'));
  for (const w of wanted) if (!scenarios[w]) throw new Error(`unknown scenario '${w}'; known: ${Object.keys(scenarios).join(', ')}`);
  const names = wanted.length > 0 ? wanted : Object.keys(scenarios);
  const m = machine();
  const commit = currentCommit();
  const start = loadAverage();
  console.log(`machine: ${m.cpuModel} × ${m.cpuCount}, ${m.totalMemoryMB} MB RAM, Node ${m.node}, ${m.platform}${quick ? ' (quick sizes)' : ''}`);
  console.log(`commit: ${commit ? `${commit.sha}${commit.dirty ? ' with uncommitted changes' : ''}` : 'unknown (not a git checkout)'}; load average ${start.join(' ')}`);
  const rows: ResultRow[] = [];
  const timings: Record<string, number> = {};
  const loads: Record<string, { before: LoadAverage; after: LoadAverage }> = {};
  for (const name of names) {
    console.log(`\n== ${name}`);
    const t0 = performance.now();
    const before = loadAverage();
    rows.push(...(await runInChild(name, quick)));
    timings[name] = Math.round(performance.now() - t0) / 1000;
    const after = loadAverage();
    loads[name] = { before, after };
    rows.push({ scenario: name, metric: 'machine load avg (1 min) before → after', value: `${before[0].toFixed(1)} → ${after[0].toFixed(1)}`, unit: '', note: `${cpus().length} cores; other processes share them` });
    console.log(`   (${timings[name]} s)`);
  }
  console.log(`\n${table(rows)}\n`);
  const dir = join(process.cwd(), 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  const result: BenchResult = { at: new Date().toISOString(), quick, commit, machine: m, load: { start, end: loadAverage(), scenarios: loads }, scenarios: names, seconds: timings, rows };
  await writeFile(file, JSON.stringify(result, null, 2));
  // The figures against their targets and baselines, drawn beside the JSON (open it in a browser).
  const chart = file.replace(/\.json$/, '.svg');
  await writeFile(chart, chartSvg(result));
  console.log(`results: ${file}\nchart: ${chart}\ncompare with an earlier run: npm run bench -- --compare <earlier>.json ${file}`);
}

const child = process.env.BENCH_SCENARIO;
(child ? runScenario(child, process.argv.includes('--quick')) : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
