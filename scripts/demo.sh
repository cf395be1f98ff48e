#!/usr/bin/env bash
# The README's first command: start (or reuse) the local PostgreSQL and Kafka, then run the demo task.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/postgres.sh up
bash scripts/kafka.sh up
exec node --max-semi-space-size=4 --no-allocation-site-pretenuring bin/tributary.js demo "$@"
