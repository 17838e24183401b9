#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and the benchmark.
#
#   pg_cluster.sh start DIR [--durable]   start the cluster in DIR (initdb on the first start)
#   pg_cluster.sh stop DIR                stop it (fast shutdown); DIR keeps the data and port
#   pg_cluster.sh remove DIR              stop it if it runs and delete DIR
#   pg_cluster.sh setup DIR [--durable]   remove, then start: a fresh cluster (the ctest fixture)
#
# The cluster listens on 127.0.0.1 only, on a free port (kept in DIR/port, so
# a restart comes back on the same one), with its unix socket in its own
# folder. It has one superuser role, "cairn", with trust authentication: it is
# only for tests on this machine. Without --durable it runs with fsync off, for
# test speed; the benchmark passes --durable, since its figures claim
# durability. Once it accepts connections, `start` writes the libpq conninfo
# to DIR/conninfo (and prints it); `stop` removes that file.
#
# PostgreSQL refuses to run as root: as root the cluster runs as the
# `postgres` system user the Debian package creates (CAIRN_PG_USER overrides),
# otherwise as the current user. The binaries come from CAIRN_PG_BINDIR when
# it is set, else from /usr/lib/postgresql/15/bin, another version's folder
# or PATH.
#
# Exit codes: 0 done; 4 no PostgreSQL binaries here (the tests that need the
# cluster then skip, visibly), unless CAIRN_REQUIRE_PG=1 (CI), when it is 1;
# 1 any other failure; 2 bad usage. Every wait is bounded.
set -euo pipefail

say() { printf 'pg_cluster.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 2 ] || usage
command=$1
dir=$2
shift 2
durable=""
for arg in "$@"; do
  case "$arg" in
    --durable) durable=1 ;;
    *) usage ;;
  esac
done
case "$command" in start | stop | remove | setup) ;; *) usage ;; esac
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# ---- the binaries -----------------------------------------------------------
find_bindir() {
  local d
  if [ -n "${CAIRN_PG_BINDIR:-}" ]; then  # named: there or nowhere
    [ -x "$CAIRN_PG_BINDIR/initdb" ] && [ -x "$CAIRN_PG_BINDIR/pg_ctl" ] && echo "$CAIRN_PG_BINDIR"
    return 0
  fi
  # Debian's folder for 15 first, then any other version's, newest first.
  for d in /usr/lib/postgresql/15/bin \
    $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  d=$(command -v initdb 2>/dev/null || true)
  [ -z "$d" ] || dirname "$d"
}
bindir=$(find_bindir)
if [ -z "$bindir" ]; then
  if [ "$command" = stop ] || [ "$command" = remove ]; then
    rm -f "$dir/conninfo"
    [ "$command" = stop ] || rm -rf "$dir"
    exit 0
  fi
  if [ "${CAIRN_REQUIRE_PG:-}" = 1 ]; then
    die "no PostgreSQL binaries (initdb, pg_ctl): install postgresql-15 (scripts/setup.sh)"
  fi
  say "no PostgreSQL binaries (initdb, pg_ctl; install postgresql-15): the tests that need a cluster skip"
  exit 4
fi

# ---- who runs it --------------------------------------------------------------
run_user=""
if [ "$(id -u)" -eq 0 ]; then
  run_user=${CAIRN_PG_USER:-postgres}
  id "$run_user" >/dev/null 2>&1 || die "no user $run_user to run PostgreSQL as (root may not)"
fi
as_pg() {
  if [ -n "$run_user" ]; then
    (cd / && runuser -u "$run_user" -- "$@")
  else
    "$@"
  fi
}

# The cluster's own folder: DIR/run, unless the run user cannot reach DIR
# (a build tree in a private home) or the socket path would be too long for
# a unix socket (107 bytes); then a private folder under /tmp, named in
# DIR/location.
run_dir_of() {
  if [ -f "$dir/location" ]; then cat "$dir/location"; else echo "$dir/run"; fi
}
make_run_dir() {
  local run=$dir/run
  local reachable=1
  if [ -n "$run_user" ] && ! runuser -u "$run_user" -- test -x "$dir"; then reachable=""; fi
  if [ -z "$reachable" ] || [ ${#run} -gt 80 ]; then
    run=$(mktemp -d /tmp/cairn-pg-XXXXXX)
    echo "$run" >"$dir/location"
  fi
  mkdir -p "$run"
  chmod 700 "$run"
  [ -z "$run_user" ] || chown "$run_user" "$run"
  echo "$run"
}

postmaster_pid() {  # prints the postmaster's pid if it runs
  local run pid
  run=$(run_dir_of)
  [ -f "$run/data/postmaster.pid" ] || return 1
  pid=$(head -1 "$run/data/postmaster.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

do_stop() {
  rm -f "$dir/conninfo"
  local run pid
  run=$(run_dir_of)
  pid=$(postmaster_pid) || return 0
  if ! as_pg "$bindir/pg_ctl" -D "$run/data" -m fast -w -t 60 stop >/dev/null 2>&1; then
    say "fast shutdown did not finish in 60 s: killing postmaster $pid"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

do_remove() {
  do_stop
  local run
  run=$(run_dir_of)
  [ "$run" = "$dir/run" ] || rm -rf "$run"
  rm -rf "$dir"
}

do_start() {
  local run
  if postmaster_pid >/dev/null; then
    [ -f "$dir/conninfo" ] || die "a postmaster runs in $(run_dir_of) but $dir/conninfo is missing"
    cat "$dir/conninfo"
    return
  fi
  if [ -d "$(run_dir_of)/data" ]; then
    run=$(run_dir_of)
  else
    run=$(make_run_dir)
    local sync=(--no-sync)
    [ -z "$durable" ] || sync=()
    as_pg "$bindir/initdb" -D "$run/data" -U cairn --auth=trust --encoding=UTF8 --no-locale \
      "${sync[@]}" >"$dir/initdb.log" 2>&1 || die "initdb failed: $(cat "$dir/initdb.log")"
    local speed="fsync = off
full_page_writes = off"
    [ -z "$durable" ] || speed="fsync = on"
    cat >>"$run/data/postgresql.conf" <<EOF

# pg_cluster.sh: a test cluster, reachable on 127.0.0.1 and its own socket only.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$run'
max_connections = 300
$speed
logging_collector = off
log_min_messages = warning
EOF
  fi
  local log=$run/postgres.log
  if [ -n "$run_user" ]; then touch "$log" && chown "$run_user" "$log"; fi
  local port=""
  [ ! -f "$dir/port" ] || port=$(cat "$dir/port")
  local attempts=20
  [ -z "$port" ] || attempts=1
  for _ in $(seq 1 "$attempts"); do
    if [ "$attempts" -gt 1 ]; then
      port=$((20000 + RANDOM % 40000))
      port_free "$port" || continue
    fi
    if as_pg "$bindir/pg_ctl" -D "$run/data" -l "$log" -o "-p $port" -w -t 60 start \
      >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      break
    fi
    # Another process may have taken the port between the check and the
    # start: try another one (unless the port is the cluster's own).
    postmaster_pid >/dev/null && do_stop
    port=""
  done
  [ -n "$port" ] || die "PostgreSQL did not start: $(tail -20 "$log" 2>/dev/null)"
  local ready=""
  for _ in $(seq 1 300); do
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U cairn -d postgres -t 2; then
      ready=1
      break
    fi
    sleep 0.1
  done
  [ -n "$ready" ] || { do_stop; die "PostgreSQL on port $port does not accept connections: $(tail -20 "$log")"; }
  printf 'host=127.0.0.1 port=%s user=cairn dbname=postgres\n' "$port" >"$dir/conninfo.tmp"
  mv "$dir/conninfo.tmp" "$dir/conninfo"
  cat "$dir/conninfo"
}

case "$command" in
  start) do_start ;;
  stop) do_stop ;;
  remove) do_remove ;;
  setup)
    do_remove
    mkdir -p "$dir"
    do_start
    ;;
esac
