# Shared helpers for the server scripts. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TRIBUTARY_CACHE:-$ROOT/.cache}"
LOGS="$CACHE/logs"
RUN="$CACHE/run"
mkdir -p "$LOGS" "$RUN"

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_port HOST PORT SECONDS WHAT LOGFILE: wait until the port accepts connections or fail with the log tail.
wait_port() {
  local host=$1 port=$2 secs=$3 what=$4 logfile=$5 i
  for ((i = 0; i < secs * 5; i++)); do
    port_open "$host" "$port" && return 0
    sleep 0.2
  done
  log "$what did not open $host:$port within ${secs}s; last lines of $logfile:"
  tail -n 30 "$logfile" >&2 || true
  return 1
}

# stop_pidfile FILE WHAT: stop the process in FILE (TERM, then KILL after 20 s).
stop_pidfile() {
  local file=$1 what=$2 pid i
  [ -f "$file" ] || { log "$what: not running (no pid file)"; return 0; }
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    log "$what stopped (pid $pid)"
  fi
  rm -f "$file"
}

need_apt() { # need_apt PACKAGE...: install Debian packages that are missing
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
