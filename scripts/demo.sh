#!/usr/bin/env bash
# The README's first command: start (or reuse) the local PostgreSQL and Kafka, then run the demo task.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/postgres.sh up
bash scripts/kafka.sh up
exec node bin/tributary.js demo "$@"
