#!/usr/bin/env bash
# Starts (or reuses) every real server the tests, the demo and the benchmarks use.
# Usage: servers.sh up|down|status|install. Idempotent: running servers are reused.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cmd="${1:-up}"
rc=0
for s in postgres kafka mongo; do
  [ -f "$ROOT/scripts/$s.sh" ] || continue
  bash "$ROOT/scripts/$s.sh" "$cmd" || rc=$?
  [ "$cmd" = status ] || [ $rc -eq 0 ] || die "$s: '$cmd' failed"
done
exit $rc
