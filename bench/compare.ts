/**
 * `npm run bench -- --compare A.json B.json [--chart out.svg]`: the change of every figure from an
 * earlier result file A to a later one B, with the commit, machine and load of each and what makes
 * the comparison weak. `npm run bench -- --chart out.svg [A.json] B.json`: B's figures against their
 * targets and baselines (and A's figures as hollow bars) as an SVG, drawn without any network.
 * Needs no servers: scripts/bench.sh runs this file instead of the benchmarks when given either flag.
 */
import { benchReport } from './report.js';

benchReport(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  },
);
