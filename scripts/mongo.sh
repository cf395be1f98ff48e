#!/usr/bin/env bash
# MongoDB wire-compatible test servers for Tributary's integration tests (no mongod here).
#
#   bash scripts/mongo.sh install   fetch jars + compile the launcher (cached, idempotent)
#   bash scripts/mongo.sh up        start both servers unless already listening, wait for them
#   bash scripts/mongo.sh down      stop the servers this script started
#   bash scripts/mongo.sh status    show what is listening
#   bash scripts/mongo.sh sharded-up|sharded-down|sharded-status
#                                   the two-shard topology of test/integration/mongodb-sharded.test.ts
#
# Servers (both de.bwaldvogel mongo-java-server, in-memory backend, oplog on; see
# docs/mongo-servers.md for what they support):
#   mongo-java-server-rs  127.0.0.1:27117  hello answers as primary of replica set "rs0"
#                                          URI mongodb://127.0.0.1:27117/?replicaSet=rs0
#   mongo-java-server     127.0.0.1:27118  standalone; local.oplog.rs
#                                          URI mongodb://127.0.0.1:27118
# Sharded topology (started only by sharded-up; ports move with TRIBUTARY_MONGO_SHARDED_PORT, default 27130):
#   mongo-sharded-mongos  127.0.0.1:27130  hello answers as mongos (msg isdbgrid); holds the union of the shards' data
#   mongo-sharded-a       127.0.0.1:27131  replica set "shardA", own local.oplog.rs
#   mongo-sharded-b       127.0.0.1:27132  replica set "shardB", own local.oplog.rs
# All announce maxWireVersion 13 so the Node driver 7.x accepts them
# (TRIBUTARY_MJS_WIRE_VERSION=8 restores the library's own number).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MVN_DIR="$ROOT/scripts/mongo"
TARGET="$MVN_DIR/target"
LOG_DIR="$ROOT/.cache/logs"
RUN_DIR="$ROOT/.cache/run"
JAVA_BIN="${TRIBUTARY_MONGO_JAVA:-java}"
HOST=127.0.0.1
RS_PORT="${TRIBUTARY_MONGO_RS_PORT:-27117}"
OPLOG_PORT="${TRIBUTARY_MONGO_OPLOG_PORT:-27118}"
WIRE_VERSION="${TRIBUTARY_MJS_WIRE_VERSION:-13}"
MAIN_CLASS=dev.tributary.testservers.MongoJavaServerMain
START_TIMEOUT_S=60

SHARDED_PORT="${TRIBUTARY_MONGO_SHARDED_PORT:-27130}"
SERVERS=(mongo-java-server-rs mongo-java-server)
SHARDED=(mongo-sharded-mongos mongo-sharded-a mongo-sharded-b)

log() { printf '[mongo.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

port_of() {
  case "$1" in
    mongo-java-server-rs) echo "$RS_PORT" ;;
    mongo-java-server) echo "$OPLOG_PORT" ;;
    mongo-sharded-mongos) echo "$SHARDED_PORT" ;;
    mongo-sharded-a) echo $((SHARDED_PORT + 1)) ;;
    mongo-sharded-b) echo $((SHARDED_PORT + 2)) ;;
    *) die "unknown server $1" ;;
  esac
}

args_of() {
  case "$1" in
    mongo-java-server-rs) echo "--host $HOST --port $RS_PORT --replset rs0 --wire-version $WIRE_VERSION" ;;
    mongo-java-server) echo "--host $HOST --port $OPLOG_PORT --wire-version $WIRE_VERSION" ;;
    mongo-sharded-mongos) echo "--host $HOST --port $SHARDED_PORT --mongos --wire-version $WIRE_VERSION" ;;
    mongo-sharded-a) echo "--host $HOST --port $((SHARDED_PORT + 1)) --replset shardA --wire-version $WIRE_VERSION" ;;
    mongo-sharded-b) echo "--host $HOST --port $((SHARDED_PORT + 2)) --replset shardB --wire-version $WIRE_VERSION" ;;
  esac
}

listening() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pid_alive() {
  local pidfile="$RUN_DIR/$1.pid" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q "$MAIN_CLASS" "/proc/$pid/cmdline" 2>/dev/null
}

install_stamp() {
  # Everything that decides the build: the pom and the launcher sources.
  (cd "$MVN_DIR" && cat pom.xml $(find src -type f | sort)) | sha256sum | cut -d' ' -f1
}

cmd_install() {
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  local want have=""
  want="$(install_stamp)"
  [[ -f "$TARGET/.install-stamp" ]] && have="$(cat "$TARGET/.install-stamp")"
  if [[ "$want" == "$have" && -d "$TARGET/lib" && -d "$TARGET/classes/dev" ]]; then
    log "install: up to date ($TARGET)"
    return 0
  fi
  log "install: fetching mongo-java-server jars and compiling the launcher (Maven)"
  (cd "$MVN_DIR" && mvn -q -B dependency:copy-dependencies compile) || die "Maven build in $MVN_DIR failed"
  echo "$want" >"$TARGET/.install-stamp"
  log "install: done"
}

start_one() {
  local name="$1" port pid logfile
  port="$(port_of "$name")"
  logfile="$LOG_DIR/$name.log"
  if listening "$port"; then
    log "$name: already listening on $HOST:$port"
    return 0
  fi
  if pid_alive "$name"; then
    log "$name: process $(cat "$RUN_DIR/$name.pid") is starting, waiting for it"
  else
    log "$name: starting on $HOST:$port (log $logfile)"
    # shellcheck disable=SC2046
    nohup "$JAVA_BIN" -Xmx2g -cp "$TARGET/classes:$TARGET/lib/*" "$MAIN_CLASS" $(args_of "$name") \
      >"$logfile" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$name.pid"
  fi
  pid="$(cat "$RUN_DIR/$name.pid")"
  local waited=0
  until listening "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$logfile" >&2 || true
      rm -f "$RUN_DIR/$name.pid"
      die "$name exited before listening on $HOST:$port (see $logfile)"
    fi
    if ((waited >= START_TIMEOUT_S * 4)); then
      tail -n 30 "$logfile" >&2 || true
      die "$name did not listen on $HOST:$port within ${START_TIMEOUT_S}s (pid $pid, see $logfile)"
    fi
    sleep 0.25
    waited=$((waited + 1))
  done
  log "$name: up (pid $pid)"
}

cmd_up() {
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  cmd_install
  command -v "$JAVA_BIN" >/dev/null || die "java not found ($JAVA_BIN)"
  local name
  for name in "${SERVERS[@]}"; do start_one "$name"; done
  log "ready: TRIBUTARY_MONGO_RS_URI=mongodb://$HOST:$RS_PORT/?replicaSet=rs0 TRIBUTARY_MONGO_OPLOG_URI=mongodb://$HOST:$OPLOG_PORT"
}

cmd_sharded_up() {
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  cmd_install
  local name
  for name in "${SHARDED[@]}"; do start_one "$name"; done
  log "ready: mongos mongodb://$HOST:$SHARDED_PORT, shards $HOST:$((SHARDED_PORT + 1)) (shardA) and $HOST:$((SHARDED_PORT + 2)) (shardB)"
}

cmd_down() {
  local name pid i
  for name in "$@"; do
    if pid_alive "$name"; then
      pid="$(cat "$RUN_DIR/$name.pid")"
      log "$name: stopping pid $pid"
      kill "$pid" 2>/dev/null || true
      for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      if kill -0 "$pid" 2>/dev/null; then
        log "$name: pid $pid still alive after 10s, sending SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
      fi
    else
      log "$name: not running (from this script)"
    fi
    rm -f "$RUN_DIR/$name.pid"
  done
}

cmd_status() {
  local name port state rc=0
  for name in "$@"; do
    port="$(port_of "$name")"
    if listening "$port"; then state=up; else state=down; rc=1; fi
    if pid_alive "$name"; then
      log "$name $HOST:$port $state (pid $(cat "$RUN_DIR/$name.pid"))"
    else
      log "$name $HOST:$port $state (not started by this script)"
    fi
  done
  return "$rc"
}

case "${1:-}" in
  install) cmd_install ;;
  up) cmd_up ;;
  down) cmd_down "${SERVERS[@]}" ;;
  status) cmd_status "${SERVERS[@]}" ;;
  sharded-up) cmd_sharded_up ;;
  sharded-down) cmd_down "${SHARDED[@]}" ;;
  sharded-status) cmd_status "${SHARDED[@]}" ;;
  *) echo "usage: $0 install|up|down|status|sharded-up|sharded-down|sharded-status" >&2; exit 2 ;;
esac
