/**
 * Tributary benchmark suite. `npm run bench` runs every scenario at full size;
 * `npx tsx bench/run.ts [--quick] [scenario ...]` runs some, with smaller sizes under --quick.
 * Prints a table (targets beside the figures, never asserted) and writes JSON to bench/results/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'node:module';
import { cpus, loadavg } from 'node:os';
import type { ResultRow, ScenarioContext } from './lib.js';

/**
 * src/codecs/registerCodecs.ts imports `CompressionCodecs` from kafkajs by name, which Node's ESM
 * loader cannot see in the CommonJS package (vitest's transform hides this). Until that is fixed
 * in src, a resolution hook serves kafkajs through an ESM re-export; it is inert once fixed.
 */
const kafkajsNamespace = (await import('kafkajs')) as Record<string, unknown>;
if (!('CompressionCodecs' in kafkajsNamespace)) register('./kafkajs-hook.mjs', import.meta.url);

const { machine } = await import('./lib.js');
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

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const wanted = args.filter((a) => !a.startsWith('--'));
  for (const w of wanted) if (!scenarios[w]) throw new Error(`unknown scenario '${w}'; known: ${Object.keys(scenarios).join(', ')}`);
  const names = wanted.length > 0 ? wanted : Object.keys(scenarios);
  const m = machine();
  console.log(`machine: ${m.cpuModel} × ${m.cpuCount}, ${m.totalMemoryMB} MB RAM, Node ${m.node}, ${m.platform}${quick ? ' (quick sizes)' : ''}`);
  const rows: ResultRow[] = [];
  const shared = new Map<string, unknown>();
  const timings: Record<string, number> = {};
  for (const name of names) {
    console.log(`\n== ${name}`);
    const t0 = performance.now();
    const loadBefore = loadavg()[0] ?? 0;
    const ctx: ScenarioContext = {
      quick,
      shared,
      row: (r) => rows.push({ scenario: name, ...r }),
      log: (msg) => console.log(`   ${msg}`),
    };
    try {
      await scenarios[name]?.(ctx);
    } catch (err) {
      console.error(`   ${name} failed: ${(err as Error).stack ?? String(err)}`);
      rows.push({ scenario: name, metric: 'FAILED', value: null, unit: '', note: (err as Error).message.slice(0, 200) });
    }
    timings[name] = Math.round(performance.now() - t0) / 1000;
    rows.push({ scenario: name, metric: 'machine load avg (1 min) before → after', value: `${loadBefore.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`, unit: '', note: `${cpus().length} cores; other processes share them` });
    console.log(`   (${timings[name]} s)`);
  }
  console.log(`\n${table(rows)}\n`);
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  await writeFile(file, JSON.stringify({ at: new Date().toISOString(), quick, machine: m, scenarios: names, seconds: timings, rows }, null, 2));
  console.log(`results: ${file}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
