#!/usr/bin/env bash
# Starts (or reuses) every real server the tests, the demo and the benchmarks use.
# Usage: servers.sh up|down|status|install. Idempotent: running servers are reused.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cmd="${1:-up}"
rc=0
# Tools the tests use besides the servers: Debian's chromium (the state-chart page's browser test)
# and prometheus (promtool checks the /metrics exposition).
if [ "$cmd" = up ] || [ "$cmd" = install ]; then need_apt chromium prometheus; fi
for s in postgres kafka mongo; do
  [ -f "$ROOT/scripts/$s.sh" ] || continue
  bash "$ROOT/scripts/$s.sh" "$cmd" || rc=$?
  [ "$cmd" = status ] || [ $rc -eq 0 ] || die "$s: '$cmd' failed"
done
exit $rc
