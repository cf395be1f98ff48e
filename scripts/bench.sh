#!/usr/bin/env bash
# npm run bench: the servers, then the benchmarks compiled to JavaScript and run by plain Node, as
# the `tributary` command runs when built: no TypeScript loader threads in the measured process.
# Arguments go to bench/run.ts (--quick, scenario names).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/servers.sh up
rm -rf .cache/bench-dist
npx tsc -p tsconfig.bench.json
cp bench/*.mjs .cache/bench-dist/bench/
# The V8 settings the `tributary` command runs with (README "Memory"); BENCH_NODE_FLAGS replaces them.
exec node ${BENCH_NODE_FLAGS:---max-semi-space-size=4 --no-allocation-site-pretenuring} .cache/bench-dist/bench/run.js "$@"
