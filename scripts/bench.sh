#!/usr/bin/env bash
# npm run bench: the servers, then the benchmarks compiled to JavaScript and run by plain Node, as
# the `tributary` command runs when built: no TypeScript loader threads in the measured process.
# Arguments go to bench/run.ts (--quick, scenario names); --compare and --chart go to bench/compare.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
# --compare A.json B.json / --chart out.svg: read result files only (bench/compare.ts); no servers, no build.
for arg in "$@"; do
  case "$arg" in --compare | --chart | --chart=*) exec npx tsx bench/compare.ts "$@" ;; esac
done
bash scripts/servers.sh up
rm -rf .cache/bench-dist
npx tsc -p tsconfig.bench.json
cp bench/*.mjs .cache/bench-dist/bench/
# The V8 settings the `tributary` command runs with (README "Memory"); BENCH_NODE_FLAGS replaces them.
exec node ${BENCH_NODE_FLAGS:---max-semi-space-size=4 --no-allocation-site-pretenuring} .cache/bench-dist/bench/run.js "$@"
