#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for tests, demo and benchmarks: 127.0.0.1:${TRIBUTARY_PG_PORT:-15432},
# wal_level=logical. Usage: postgres.sh install|up|down|status. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${TRIBUTARY_PG_PORT:-15432}"
PGBIN="/usr/lib/postgresql/15/bin"
# The cluster lives where the postgres OS user can reach it whatever the checkout's permissions
# (a CI clone may sit in a directory only root can enter): one cluster per checkout.
PGHOME="${TRIBUTARY_PG_HOME:-/var/lib/postgresql/tributary-$(printf '%s' "$ROOT" | md5sum | cut -c1-10)}"
DATA="$PGHOME/data"
SOCK="$PGHOME/run"
LOGFILE="$PGHOME/postgres.log"
RUNAS=postgres

as_pg() { if [ "$(id -un)" = "$RUNAS" ]; then "$@"; else runuser -u "$RUNAS" -- "$@"; fi; }

install() {
  need_apt postgresql-15 postgresql-client-15
  id "$RUNAS" >/dev/null 2>&1 || die "the Debian package should have created the '$RUNAS' user"
}

up() {
  install
  if port_open 127.0.0.1 "$PORT" && ! as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "a PostgreSQL (not this checkout's) already listens on 127.0.0.1:$PORT: reusing it"
    return 0
  fi
  mkdir -p "$PGHOME" "$SOCK"
  chown "$RUNAS" "$PGHOME" "$SOCK"
  touch "$LOGFILE"; chown "$RUNAS" "$LOGFILE"
  ln -sfn "$LOGFILE" "$LOGS/postgres.log"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    log "initdb into $DATA"
    as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
wal_level = logical
max_replication_slots = 64
max_wal_senders = 64
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
max_slot_wal_keep_size = -1
wal_sender_timeout = 60s
CONF
    # Password authentication over TCP for every role except the trusted superuser, so
    # tests can exercise real credentials; replication connections too.
    cat >"$DATA/pg_hba.conf" <<HBA
local all all trust
local replication all trust
host all postgres 127.0.0.1/32 trust
host replication postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
HBA
  fi
  if as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$PORT"
  else
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 start >/dev/null || { tail -n 30 "$LOGFILE" >&2; die "PostgreSQL failed to start"; }
    log "PostgreSQL started on 127.0.0.1:$PORT (log $LOGFILE)"
  fi
  wait_port 127.0.0.1 "$PORT" 30 PostgreSQL "$LOGFILE"
}

down() {
  if [ -f "$DATA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null && log "PostgreSQL stopped"
  else
    log "PostgreSQL: not running"
  fi
}

status() { port_open 127.0.0.1 "$PORT" && echo "postgres up 127.0.0.1:$PORT" || { echo "postgres down"; return 1; }; }

"${1:-up}"
