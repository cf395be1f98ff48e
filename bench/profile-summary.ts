/**
 * Summarizes a V8 .cpuprofile by pipeline stage (self time): `npx tsx bench/profile-summary.ts <file>`.
 * Produce one with `BENCH_PROFILE=bench/results/prof npx tsx bench/run.ts --quick pg-incremental`.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const categories: Array<[string, (url: string, fn: string) => boolean]> = [
  ['idle', (_u, f) => f === '(idle)'],
  ['GC', (_u, f) => f === '(garbage collector)'],
  ['pgoutput decode (src/sources/postgres/pgoutput.ts, values.ts)', (u) => /sources\/postgres\/(pgoutput|values)\.[jt]s/.test(u)],
  ['replication client (pg-logical-replication, pg, pg-protocol)', (u) => /node_modules\/(pg-logical-replication|pg|pg-protocol)\//.test(u)],
  ['source stream → ChangeEvent (stream.ts, position.ts)', (u) => /sources\/postgres\//.test(u)],
  ['encode (src/formats)', (u) => /src\/formats\//.test(u)],
  ['compression (codecs, lz4-napi, snappy, zlib)', (u, f) => /src\/codecs\/|lz4-napi|snappy|zlib/.test(u) || /compressFrameSync|compressSync/.test(f)],
  ['kafkajs produce (encode request, CRC, network)', (u) => /node_modules\/kafkajs\//.test(u)],
  ['Kafka sink (routing, batching into requests)', (u) => /src\/sinks\/kafka\//.test(u)],
  ['operators + pipeline (src/operators, runtime/pipeline.ts, core)', (u) => /src\/(operators|runtime|core|checkpoints)\//.test(u)],
  ['rxjs', (u) => /node_modules\/rxjs\//.test(u)],
  ['xstate / task machine', (u) => /node_modules\/xstate\/|\/machines\//.test(u)],
  ['node internals (streams, net, buffers, timers)', (u) => u.startsWith('node:')],
  ['native / program', (u, f) => u === '' && (f === '(program)' || f === '')],
];

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile>');
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const dt = p.timeDeltas[i] ?? 0;
  total += dt;
  const id = p.samples[i] as number;
  self.set(id, (self.get(id) ?? 0) + dt);
}
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const INTERNAL = new Set(['node internals (streams, net, buffers, timers)', 'native / program', 'other']);
const categoryOf = (n: Node): string => categories.find(([, m]) => m(n.callFrame.url, n.callFrame.functionName))?.[0] ?? 'other';
/** Node internals and native frames count for the nearest caller that is a pipeline stage. */
const attributed = (id: number): string => {
  const own = categoryOf(byId.get(id) as Node);
  if (!INTERNAL.has(own)) return own;
  for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
    const c = categoryOf(byId.get(up) as Node);
    if (!INTERNAL.has(c) && c !== 'rxjs') return `${c} (via node internals/native)`;
  }
  return own;
};
const cat = new Map<string, number>();
const fns = new Map<string, number>();
const others = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id);
  if (!n) continue;
  const { url, functionName, lineNumber } = n.callFrame;
  const name = attributed(id);
  cat.set(name, (cat.get(name) ?? 0) + t);
  if (name === 'other') others.set(url || functionName, (others.get(url || functionName) ?? 0) + t);
  const short = url.replace(/^.*?\/(node_modules\/|src\/)/, '$1');
  const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + t);
}
const busy = total - (cat.get('idle') ?? 0);
console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (${((busy / total) * 100).toFixed(0)}% of the main thread)\n`);
console.log('stage (self time)                                                    | % of busy | s');
for (const [name, t] of [...cat].sort((a, b) => b[1] - a[1])) {
  if (name === 'idle') continue;
  console.log(`${name.padEnd(68)} | ${((t / busy) * 100).toFixed(1).padStart(8)}% | ${(t / 1e6).toFixed(2)}`);
}
console.log(`\ntop functions (self time, % of busy):`);
for (const [k, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  if (k.startsWith('(idle)')) continue;
  console.log(`${((t / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
}
console.log(`\nunattributed ('other') by script:`);
for (const [k, t] of [...others].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`${((t / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
