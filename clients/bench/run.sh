#!/usr/bin/env bash
# Cairn benchmark (issue 3, "Performance"): one run, one load tool, one certificate.
#
#   1. starts cairnd (its own temporary folder, a generated certificate, one
#      account) on 127.0.0.1,
#   2. publishes 100,000 synthetic indicators with cairn-bench (batches of
#      1,000, concurrent publishers) and pulls the collection back,
#   3. saves the exact body of a 1,000-object GET objects page and of the
#      discovery, API root and collection resources, and serves them with
#      nginx (Debian's nginx-light, installed when missing) on another
#      127.0.0.1 port with the same certificate and key, at the same paths,
#   4. measures both servers with the same cairn-bench phases: the page at
#      PAGE_CONNECTIONS connections; discovery, the API root and the
#      collection at 64 connections (--connections),
#   5. prints Cairn's figures and the ratios to nginx and writes them as JSON.
#
# With --backend postgresql (or both), the PostgreSQL backend: the script
# starts a PostgreSQL 15 cluster of its own in the temporary folder
# (tests/support/pg_cluster.sh, on a free 127.0.0.1 port, fsync ON since the
# figures claim durability) and measures the same publish and pull phases
#   - through one node (its own database),
#   - through two nodes on one database (another database): half the
#     publishers on each node at the same time, then half the pullers on
#     each, every puller reading the whole collection; the rates are the
#     objects of both nodes over the wall-clock time of both.
# "both" runs the LMDB steps above first, then these: the figures side by side.
#
# With --monitoring on|off|both, only the cost of watching the exchange: the
# publish and pull phases on fresh LMDB nodes, "on" with the default
# monitoring and a metrics listener scraped every second (as a Prometheus
# server would), "off" with "monitoring": {"enabled": false} and no metrics
# listener; --rounds N (default 1) alternates them N times; prints each
# mode's mean rates and the ratio on/off (target >= 0.95). No nginx.
#
# Usage: clients/bench/run.sh [--backend lmdb|postgresql|both] [--out FILE]
#                             [--objects N] [--seconds S] [--publishers N]
#                             [--pullers N] [--page-connections N]
#                             [--connections N] [--build-dir DIR]
#                             [--monitoring on|off|both] [--rounds N]
#   --backend B   lmdb (default: steps 1-5), postgresql (one node and two
#                 nodes on PostgreSQL, no nginx), or both
#   --objects N   objects published per run (default 100000), in batches of
#                 1,000 by --publishers (default 4); --pullers (default 4)
#                 read them back in pages of 1,000
# Environment: CAIRN_BUILD_DIR (default build), the same as --build-dir;
# CAIRN_BENCH_PERF=PHASE[,PHASE]: perf record -g of the server during those
# phases (publish, pull, page-cairnd, page-nginx, discovery-cairnd, ...),
# with CAIRN_BENCH_PERF_OPTIONS (default "-g -F 999"; "--call-graph dwarf
# -F 199" for call chains through libraries built without frame pointers);
# with CAIRN_BENCH_PERF_TOOL=1 the load tool is profiled instead (FILE.NAME.tool.perf);
# CAIRN_PG_BINDIR: PostgreSQL's binaries (default /usr/lib/postgresql/15/bin).
# Needs: cmake/ninja (to build), curl, openssl; root to install nginx-light;
# postgresql-15 for --backend postgresql (scripts/setup.sh installs it).
# Everything listens on 127.0.0.1 only; every step has a time limit; cairnd,
# nginx and PostgreSQL are stopped and the temporary folder removed on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${CAIRN_BUILD_DIR:-$repo/build}
out_file=""
backend=lmdb
objects=100000
batch=1000
publishers=4
pullers=4
page=1000
seconds=10
page_connections=16
connections=64
monitoring=""
rounds=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend=$2; shift 2 ;;
    --out) out_file=$2; shift 2 ;;
    --objects) objects=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --publishers) publishers=$2; shift 2 ;;
    --pullers) pullers=$2; shift 2 ;;
    --page-connections) page_connections=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --monitoring) monitoring=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$objects" "$seconds" "$publishers" "$pullers" "$page_connections" "$connections" "$rounds"; do
  case "$n" in '' | *[!0-9]*) echo "run.sh: not a whole number: $n" >&2; exit 2 ;; esac
done
case "$backend" in lmdb | postgresql | both) ;; *) echo "run.sh: --backend is lmdb, postgresql or both" >&2; exit 2 ;; esac
case "$monitoring" in '' | on | off | both) ;; *) echo "run.sh: --monitoring is on, off or both" >&2; exit 2 ;; esac
case "$build_dir" in /*) ;; *) build_dir=$PWD/$build_dir ;; esac
[ -n "$out_file" ] || out_file=$build_dir/bench-results.json
case "$out_file" in /*) ;; *) out_file=$PWD/$out_file ;; esac

say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# ---- tools ----------------------------------------------------------------
for tool in curl openssl timeout; do
  command -v "$tool" >/dev/null || die "needs $tool (scripts/setup.sh installs curl and openssl)"
done
nginx_bin=$(command -v nginx || true)
if [ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ]; then nginx_bin=/usr/sbin/nginx; fi
if [ -z "$nginx_bin" ] && [ "$backend" != postgresql ] && [ -z "$monitoring" ]; then
  [ "$(id -u)" -eq 0 ] || die "nginx is missing: install nginx-light (as root: apt-get install nginx-light)"
  say "installing nginx-light"
  # The package must not start a system-wide nginx (on port 80): forbid
  # service starts for the install unless a policy already does.
  made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  install_ok=1
  timeout 600 apt-get install -y -qq --no-install-recommends nginx-light >/dev/null ||
    { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends nginx-light >/dev/null; } ||
    install_ok=""
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ -n "$install_ok" ] || die "apt-get install nginx-light failed"
  nginx_bin=/usr/sbin/nginx
fi

# ---- build ----------------------------------------------------------------
if [ ! -f "$build_dir/build.ninja" ]; then
  say "configuring $build_dir"
  (cd "$repo" && cmake --preset bench -B "$build_dir" >/dev/null)
fi
say "building cairnd and cairn-bench in $build_dir"
timeout 3600 ninja -C "$build_dir" -j"$(nproc)" cairnd cairn-bench >/dev/null ||
  die "build failed: ninja -C $build_dir cairnd cairn-bench"
cairnd=$build_dir/server/cairnd
bench=$build_dir/clients/cairn-bench

# ---- a temporary exchange -------------------------------------------------
work=$(mktemp -d /tmp/cairn-bench-XXXXXX)
cairnd_pid=""
nginx_pid=""
pg_nodes=()   # cairnd processes on PostgreSQL
pg_dir=""     # the PostgreSQL cluster, once started
cleanup() {
  [ -z "$nginx_pid" ] || { kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; }
  [ -z "$cairnd_pid" ] || { kill "$cairnd_pid" 2>/dev/null || true; wait "$cairnd_pid" 2>/dev/null || true; }
  for p in "${pg_nodes[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -z "$pg_dir" ] || bash "$repo/tests/support/pg_cluster.sh" remove "$pg_dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/server.key" -out "$work/server.pem" 2>/dev/null || die "openssl req failed"
password=$(openssl rand -hex 24)
password_hash=$(printf '%s\n' "$password" | "$cairnd" hash-secret) || die "cairnd hash-secret failed"
collection_id=$(cat /proc/sys/kernel/random/uuid)
root=bench

write_config() {  # $1: extra members of "limits"; [$2: file, $3: data_dir, $4: "storage" member]
  cat >"${2:-$work/cairn.json}" <<EOF
{
  "listen": "127.0.0.1:0",
  "data_dir": "${3:-data}",${4:+
  $4,}
  "tls": { "cert": "server.pem", "key": "server.key" },
  "limits": { "max_content_length": 10485760, "page_size": $page, "max_connections": 4096,
              "request_timeout_s": 30, "idle_timeout_s": 60$1 },
  "discovery": { "title": "Cairn benchmark", "description": "clients/bench/run.sh",
                 "default": "$root" },
  "api_roots": {
    "$root": { "title": "Benchmark root",
               "collections": [ { "id": "$collection_id", "title": "Indicators",
                                  "alias": "indicators", "default_tlp": "amber" } ] }
  },
  "accounts": [
    { "name": "bench", "password_hash": "$password_hash", "read": ["*"], "write": ["*"],
      "clearance": "red" }
  ]
}
EOF
}
# One account carries the whole load: lift the per-account request rate limit
# where this cairnd has one.
limits_extra=', "requests_per_second": 0'
write_config "$limits_extra"
if ! "$cairnd" check-config --config "$work/cairn.json" >/dev/null 2>&1; then
  limits_extra=''
  write_config ''
  "$cairnd" check-config --config "$work/cairn.json" >&2 || die "the benchmark config is refused"
fi

# ---- PostgreSQL (--backend postgresql or both) ------------------------------
# Starts `cairnd serve --config $1` (log $2) and sets node_pid and node_url.
start_node() {
  "$cairnd" serve --config "$1" 2>"$2" </dev/null &
  node_pid=$!
  pg_nodes+=("$node_pid")
  local port=""
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$2" | head -1)
    [ -z "$port" ] || break
    kill -0 "$node_pid" 2>/dev/null || die "cairnd exited: $(cat "$2")"
    sleep 0.05
  done
  [ -n "$port" ] || die "cairnd did not start listening: $(cat "$2")"
  node_url=https://127.0.0.1:$port/taxii2/
}
stop_nodes() {
  for p in "${pg_nodes[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pg_nodes=()
}
# A number from the phase of a cairn-bench JSON report (not from its parameters).
phase_field() {
  sed 's/.*"phases":\[//' "$work/$1.json" | grep -o "\"$2\":[-0-9.eE+]*" | head -1 | cut -d: -f2
}
# Runs cairn-bench with ARGS... in the background; its report goes to $work/NAME.json.
bench_bg() {  # NAME ARGS...
  local name=$1
  shift
  local cmd=("$bench" --cacert "$work/server.pem" --user bench "$@" --json --out "$work/$name.json")
  local shown="CAIRN_PASSWORD=... ${cmd[*]}"
  shown=${shown//$work/\$WORK}
  commands+=("$shown")
  say "$name: $shown"
  timeout 1800 "${cmd[@]}" >"$work/$name.stdout" 2>"$work/$name.stderr" &
}
now() { date +%s.%N; }
# CPU time (clock ticks) used so far by these processes and their live
# children (PostgreSQL's backends are the postmaster's children).
tree_ticks() {
  local total=0 p q
  for p in "$@" $(for q in "$@"; do cat /proc/"$q"/task/*/children 2>/dev/null; done); do
    total=$((total + $(awk '{ print $14 + $15 }' /proc/"$p"/stat 2>/dev/null || echo 0)))
  done
  echo "$total"
}
# Microseconds of CPU per object: TICKS OBJECTS.
us_per_object() { calc "$1 * 1000000 / $(getconf CLK_TCK) / ($2 > 0 ? $2 : 1)" 1; }
pg_database() {  # NAME: creates a database in the cluster
  "$pg_bindir/psql" "$pg_conninfo" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $1" >/dev/null ||
    die "cannot create database $1"
}
pg_config() {  # FILE DATA_DIR DATABASE
  write_config "$limits_extra" "$1" "$2" \
    "\"storage\": { \"backend\": \"postgresql\", \"conninfo\": \"${pg_conninfo/dbname=postgres/dbname=$3}\" }"
  "$cairnd" check-config --config "$1" >"$work/check-config.log" 2>&1 ||
    die "the PostgreSQL benchmark config is refused: $(cat "$work/check-config.log")"
}
declare -A pg_figures
# Measures publish and pull through one node, then two nodes on one database.
pg_bench() {
  export CAIRN_PASSWORD=$password
  unset CAIRN_TOKEN CAIRN_USER CAIRN_URL
  pg_bindir=${CAIRN_PG_BINDIR:-/usr/lib/postgresql/15/bin}
  [ -x "$pg_bindir/psql" ] || pg_bindir=$(dirname "$(command -v psql || echo /nonexistent/psql)")
  [ -x "$pg_bindir/psql" ] ||
    die "PostgreSQL's binaries are missing: install postgresql-15 (scripts/setup.sh)"
  pg_dir=$work/pg
  say "starting PostgreSQL (fsync on) for $work"
  CAIRN_PG_BINDIR=$pg_bindir CAIRN_REQUIRE_PG=1 timeout 300 \
    bash "$repo/tests/support/pg_cluster.sh" start "$pg_dir" --durable >/dev/null ||
    die "PostgreSQL did not start (tests/support/pg_cluster.sh)"
  pg_conninfo=$(cat "$pg_dir/conninfo")
  local fsync
  fsync=$("$pg_bindir/psql" "$pg_conninfo" -qAt -c 'SHOW fsync')
  [ "$fsync" = on ] || die "the benchmark cluster runs with fsync $fsync"
  pg_figures[server]=$("$pg_bindir/psql" "$pg_conninfo" -qAt -c 'SHOW server_version')
  local run_dir=$pg_dir/run
  [ ! -f "$pg_dir/location" ] || run_dir=$(cat "$pg_dir/location")
  local postmaster
  postmaster=$(head -1 "$run_dir/data/postmaster.pid")

  # One node.
  pg_database cairn_bench_1
  pg_config "$work/pg1.json" pg1-data cairn_bench_1
  "$cairnd" db init --config "$work/pg1.json" >"$work/pg1-init.log" 2>&1 ||
    die "cairnd db init failed: $(cat "$work/pg1-init.log")"
  start_node "$work/pg1.json" "$work/pg1.log"
  local t0 t1 phase n pa pb total c0 d0
  for phase in publish pull; do
    t0=$(now)
    c0=$(tree_ticks "$node_pid")
    d0=$(tree_ticks "$postmaster")
    if [ $phase = publish ]; then
      bench_bg pg1-publish --url "$node_url" --phases publish --objects "$objects" \
        --publishers "$publishers" --batch "$batch"
    else
      bench_bg pg1-pull --url "$node_url" --phases pull --pullers "$pullers" --page "$page"
    fi
    wait $! || say "pg1-$phase: some requests failed: $(head -c 500 "$work/pg1-$phase.stderr")"
    t1=$(now)
    [ -s "$work/pg1-$phase.json" ] || die "pg1-$phase failed: $(cat "$work/pg1-$phase.stderr")"
    pg_figures[one-$phase]=$(calc "$(phase_field "pg1-$phase" objects) / ($t1 - $t0)" 0)
    pg_figures[one-$phase-p50]=$(calc "$(phase_field "pg1-$phase" p50)")
    pg_figures[one-$phase-p99]=$(calc "$(phase_field "pg1-$phase" p99)")
    pg_figures[one-$phase-errors]=$(phase_field "pg1-$phase" errors)
    total=$(phase_field "pg1-$phase" objects)
    pg_figures[one-$phase-cairnd-us]=$(us_per_object "$(($(tree_ticks "$node_pid") - c0))" "$total")
    pg_figures[one-$phase-pg-us]=$(us_per_object "$(($(tree_ticks "$postmaster") - d0))" "$total")
  done
  stop_nodes

  # Two nodes on one database, with the same key files.
  pg_database cairn_bench_2
  pg_config "$work/pg2a.json" pg2a-data cairn_bench_2
  pg_config "$work/pg2b.json" pg2b-data cairn_bench_2
  "$cairnd" db init --config "$work/pg2a.json" >"$work/pg2-init.log" 2>&1 ||
    die "cairnd db init failed: $(cat "$work/pg2-init.log")"
  mkdir -p "$work/pg2b-data"
  chmod 700 "$work/pg2b-data"
  for f in "$work"/pg2a-data/*.key "$work"/pg2a-data/*.pub; do
    [ ! -f "$f" ] || cp -p "$f" "$work/pg2b-data/"
  done
  start_node "$work/pg2a.json" "$work/pg2a.log"
  local url_a=$node_url
  start_node "$work/pg2b.json" "$work/pg2b.log"
  local url_b=$node_url
  local both_nodes=("${pg_nodes[@]}")
  local pub_a=$(((publishers + 1) / 2)) pull_a=$(((pullers + 1) / 2)) objects_a=$((objects / 2))
  local pub_b=$((publishers - pub_a)) pull_b=$((pullers - pull_a))
  [ "$pub_b" -gt 0 ] || pub_b=1
  [ "$pull_b" -gt 0 ] || pull_b=1
  for phase in publish pull; do
    t0=$(now)
    c0=$(tree_ticks "${both_nodes[@]}")
    d0=$(tree_ticks "$postmaster")
    if [ $phase = publish ]; then
      bench_bg pg2a-publish --url "$url_a" --phases publish --objects "$objects_a" \
        --publishers "$pub_a" --batch "$batch"
      pa=$!
      bench_bg pg2b-publish --url "$url_b" --phases publish --objects "$((objects - objects_a))" \
        --publishers "$pub_b" --batch "$batch"
      pb=$!
    else
      bench_bg pg2a-pull --url "$url_a" --phases pull --pullers "$pull_a" --page "$page"
      pa=$!
      bench_bg pg2b-pull --url "$url_b" --phases pull --pullers "$pull_b" --page "$page"
      pb=$!
    fi
    wait "$pa" || say "pg2a-$phase: some requests failed: $(head -c 500 "$work/pg2a-$phase.stderr")"
    wait "$pb" || say "pg2b-$phase: some requests failed: $(head -c 500 "$work/pg2b-$phase.stderr")"
    t1=$(now)
    for n in a b; do
      [ -s "$work/pg2$n-$phase.json" ] ||
        die "pg2$n-$phase failed: $(cat "$work/pg2$n-$phase.stderr")"
    done
    total=$(($(phase_field "pg2a-$phase" objects) + $(phase_field "pg2b-$phase" objects)))
    pg_figures[two-$phase]=$(calc "$total / ($t1 - $t0)" 0)
    pg_figures[two-$phase-objects]=$total
    pg_figures[two-$phase-cairnd-us]=$(us_per_object "$(($(tree_ticks "${both_nodes[@]}") - c0))" "$total")
    pg_figures[two-$phase-pg-us]=$(us_per_object "$(($(tree_ticks "$postmaster") - d0))" "$total")
    pg_figures[two-$phase-errors]=$(($(phase_field "pg2a-$phase" errors) + $(phase_field "pg2b-$phase" errors)))
    pg_figures[two-$phase-p99]=$(calc "$(phase_field "pg2a-$phase" p99) > $(phase_field "pg2b-$phase" p99) ? $(phase_field "pg2a-$phase" p99) : $(phase_field "pg2b-$phase" p99)")
  done
  stop_nodes
  bash "$repo/tests/support/pg_cluster.sh" remove "$pg_dir" >/dev/null 2>&1 || true
  pg_dir=""
}
# Prints the PostgreSQL figures and sets pg_json. $1, $2: the LMDB publish and
# pull rates of the same run, for the ratios (optional).
pg_report() {
  local vs_publish="" vs_pull="" scale_publish scale_pull pg_errors
  if [ -n "${1:-}" ]; then
    vs_publish=" = $(calc "${pg_figures[one-publish]} / $1" 2)x LMDB"
    vs_pull=" = $(calc "${pg_figures[one-pull]} / $2" 2)x LMDB"
  fi
  scale_publish=$(calc "${pg_figures[two-publish]} / ${pg_figures[one-publish]}" 2)
  scale_pull=$(calc "${pg_figures[two-pull]} / ${pg_figures[one-pull]}" 2)
  pg_errors=$((pg_figures[one-publish-errors] + pg_figures[one-pull-errors] + pg_figures[two-publish-errors] + pg_figures[two-pull-errors]))
  cat <<END_OF_REPORT

Cairn on PostgreSQL ${pg_figures[server]} (fsync on), $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)
  one node   publish ${pg_figures[one-publish]} objects/s$vs_publish  ($objects objects, $publishers publishers, batches of $batch; per request p50 ${pg_figures[one-publish-p50]} ms, p99 ${pg_figures[one-publish-p99]} ms; CPU per object: cairnd ${pg_figures[one-publish-cairnd-us]} us, PostgreSQL ${pg_figures[one-publish-pg-us]} us)  target >= 25000: $(verdict "${pg_figures[one-publish]} >= 25000")
             pull    ${pg_figures[one-pull]} objects/s$vs_pull  ($pullers pullers, pages of $page; p50 ${pg_figures[one-pull-p50]} ms, p99 ${pg_figures[one-pull-p99]} ms; CPU per object: cairnd ${pg_figures[one-pull-cairnd-us]} us, PostgreSQL ${pg_figures[one-pull-pg-us]} us)  target >= 80000: $(verdict "${pg_figures[one-pull]} >= 80000")
  two nodes  publish ${pg_figures[two-publish]} objects/s in total = ${scale_publish}x one node  (the publishers split over both nodes; p99 ${pg_figures[two-publish-p99]} ms; CPU per object: cairnd ${pg_figures[two-publish-cairnd-us]} us, PostgreSQL ${pg_figures[two-publish-pg-us]} us)  target >= 0.9x: $(verdict "$scale_publish >= 0.9")
             pull    ${pg_figures[two-pull]} objects/s in total = ${scale_pull}x one node  (the pullers split over both nodes, ${pg_figures[two-pull-objects]} objects; p99 ${pg_figures[two-pull-p99]} ms; CPU per object: cairnd ${pg_figures[two-pull-cairnd-us]} us, PostgreSQL ${pg_figures[two-pull-pg-us]} us)  target >= 0.9x: $(verdict "$scale_pull >= 0.9")
  failed requests: $pg_errors
END_OF_REPORT
  pg_json=$(printf '{"server_version":"%s","fsync":"on","one_node":{"publish_objects_per_second":%s,"publish_p50_ms":%s,"publish_p99_ms":%s,"pull_objects_per_second":%s,"pull_p50_ms":%s,"pull_p99_ms":%s,"cpu_us_per_object":{"publish":{"cairnd":%s,"postgresql":%s},"pull":{"cairnd":%s,"postgresql":%s}}},"two_nodes":{"publish_objects_per_second":%s,"publish_ratio":%s,"pull_objects_per_second":%s,"pull_ratio":%s,"cpu_us_per_object":{"publish":{"cairnd":%s,"postgresql":%s},"pull":{"cairnd":%s,"postgresql":%s}}},"failed_requests":%s}' \
    "${pg_figures[server]}" "${pg_figures[one-publish]}" "${pg_figures[one-publish-p50]}" \
    "${pg_figures[one-publish-p99]}" "${pg_figures[one-pull]}" "${pg_figures[one-pull-p50]}" \
    "${pg_figures[one-pull-p99]}" "${pg_figures[one-publish-cairnd-us]}" "${pg_figures[one-publish-pg-us]}" \
    "${pg_figures[one-pull-cairnd-us]}" "${pg_figures[one-pull-pg-us]}" \
    "${pg_figures[two-publish]}" "$scale_publish" "${pg_figures[two-pull]}" "$scale_pull" \
    "${pg_figures[two-publish-cairnd-us]}" "${pg_figures[two-publish-pg-us]}" \
    "${pg_figures[two-pull-cairnd-us]}" "${pg_figures[two-pull-pg-us]}" "$pg_errors")
}
# ---- monitoring on and off (--monitoring) -----------------------------------
declare -A mon_sum
monitoring_bench() {
  export CAIRN_PASSWORD=$password
  unset CAIRN_TOKEN CAIRN_USER CAIRN_URL
  local modes=() mode round member name mport scraper_pid rate
  case "$monitoring" in on) modes=(on) ;; off) modes=(off) ;; both) modes=(on off) ;; esac
  for mode in "${modes[@]}"; do
    member='"metrics": { "listen": "127.0.0.1:0" }'
    [ "$mode" = on ] || member='"monitoring": { "enabled": false }'
    write_config "$limits_extra" "$work/mon-$mode.json" "mon-$mode-data" "$member"
    if ! "$cairnd" check-config --config "$work/mon-$mode.json" >"$work/check-config.log" 2>&1; then
      [ "$mode" = off ] &&
        die "this cairnd has no monitoring off switch (\"monitoring\": {\"enabled\": false}): $(cat "$work/check-config.log")"
      die "the monitoring benchmark config is refused: $(cat "$work/check-config.log")"
    fi
    mon_sum[$mode-publish]=0
    mon_sum[$mode-pull]=0
  done
  for round in $(seq 1 "$rounds"); do
    for mode in "${modes[@]}"; do
      name=mon-$mode-$round
      rm -rf "$work/mon-$mode-data"
      start_node "$work/mon-$mode.json" "$work/$name.log"
      scraper_pid=""
      if [ "$mode" = on ]; then
        mport=$(sed -n 's/.*"msg":"metrics listening".*"port":\([0-9]*\).*/\1/p' "$work/$name.log" | head -1)
        [ -n "$mport" ] || die "cairnd did not start its metrics listener: $(cat "$work/$name.log")"
        curl --silent --show-error --fail --max-time 5 -o "$work/$name.metrics" \
          "http://127.0.0.1:$mport/metrics" || die "cannot scrape http://127.0.0.1:$mport/metrics"
        while kill -0 "$node_pid" 2>/dev/null; do
          curl --silent --max-time 5 -o /dev/null "http://127.0.0.1:$mport/metrics" || true
          sleep 1
        done &
        scraper_pid=$!
      fi
      bench_bg "$name-publish" --url "$node_url" --phases publish --objects "$objects" \
        --publishers "$publishers" --batch "$batch"
      wait $! || say "$name-publish: some requests failed: $(head -c 500 "$work/$name-publish.stderr")"
      bench_bg "$name-pull" --url "$node_url" --phases pull --pullers "$pullers" --page "$page"
      wait $! || say "$name-pull: some requests failed: $(head -c 500 "$work/$name-pull.stderr")"
      [ -z "$scraper_pid" ] || { kill "$scraper_pid" 2>/dev/null || true; wait "$scraper_pid" 2>/dev/null || true; }
      stop_nodes
      for phase in publish pull; do
        [ -s "$work/$name-$phase.json" ] || die "$name-$phase failed: $(cat "$work/$name-$phase.stderr")"
        rate=$(phase_field "$name-$phase" objects_per_second)
        say "$name-$phase: $(calc "$rate" 0) objects/s"
        mon_sum[$mode-$phase]=$(calc "${mon_sum[$mode-$phase]} + $rate" 3)
      done
    done
  done
  local load_now
  load_now=$(cut -d' ' -f1-3 /proc/loadavg)
  printf '\nCairn with monitoring on and off, %s, %s cores, load average %s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$load_now"
  printf '  (%s objects, %s publishers, batches of %s; %s pullers, pages of %s; %s round(s), means)\n' \
    "$objects" "$publishers" "$batch" "$pullers" "$page" "$rounds"
  local json="" sep=""
  for mode in "${modes[@]}"; do
    mon_sum[$mode-publish]=$(calc "${mon_sum[$mode-publish]} / $rounds" 0)
    mon_sum[$mode-pull]=$(calc "${mon_sum[$mode-pull]} / $rounds" 0)
    printf '  monitoring %-3s  publish %s objects/s  pull %s objects/s\n' \
      "$mode" "${mon_sum[$mode-publish]}" "${mon_sum[$mode-pull]}"
    json+="$sep\"$mode\":{\"publish_objects_per_second\":${mon_sum[$mode-publish]},\"pull_objects_per_second\":${mon_sum[$mode-pull]}}"
    sep=","
  done
  if [ "$monitoring" = both ]; then
    local rp rl
    rp=$(calc "${mon_sum[on-publish]} / ${mon_sum[off-publish]}" 3)
    rl=$(calc "${mon_sum[on-pull]} / ${mon_sum[off-pull]}" 3)
    printf '  on/off         publish %s  pull %s  target >= 0.95: %s\n' "$rp" "$rl" \
      "$(verdict "$rp >= 0.95 && $rl >= 0.95")"
    json+=",\"ratio\":{\"publish\":$rp,\"pull\":$rl}"
  fi
  {
    printf '{"tool":"clients/bench/run.sh","date":"%s","cores":%s,"load_average":"%s","objects":%s,"publishers":%s,"pullers":%s,"rounds":%s,"monitoring":{%s},"commands":[' \
      "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$load_now" "$objects" "$publishers" "$pullers" "$rounds" "$json"
    sep=""
    for c in "${commands[@]}"; do printf '%s"%s"' "$sep" "$(printf '%s' "$c" | sed 's/\\/\\\\/g; s/"/\\"/g')"; sep=","; done
    printf ']}\n'
  } >"$out_file.tmp"
  mv "$out_file.tmp" "$out_file"
  say "figures written to $out_file"
}
calc() { awk "BEGIN { printf \"%.${2:-2}f\", ($1) }"; }
verdict() { if [ "$(calc "$1" 0)" = 1 ]; then echo met; else echo missed; fi; }
commands=()
if [ -n "$monitoring" ]; then
  monitoring_bench
  exit 0
fi
if [ "$backend" = postgresql ]; then
  pg_bench
  pg_report
  {
    printf '{"tool":"clients/bench/run.sh","date":"%s","cores":%s,"postgresql":%s,"commands":[' \
      "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$pg_json"
    sep=""
    for c in "${commands[@]}"; do printf '%s"%s"' "$sep" "$(printf '%s' "$c" | sed 's/\\/\\\\/g; s/"/\\"/g')"; sep=","; done
    printf ']}\n'
  } >"$out_file.tmp"
  mv "$out_file.tmp" "$out_file"
  say "figures written to $out_file"
  exit 0
fi

"$cairnd" serve --config "$work/cairn.json" 2>"$work/cairnd.log" </dev/null &
cairnd_pid=$!
cairnd_port=""
for _ in $(seq 1 600); do
  cairnd_port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$work/cairnd.log" | head -1)
  [ -z "$cairnd_port" ] || break
  kill -0 "$cairnd_pid" 2>/dev/null || die "cairnd exited: $(cat "$work/cairnd.log")"
  sleep 0.05
done
[ -n "$cairnd_port" ] || die "cairnd did not start listening: $(cat "$work/cairnd.log")"
cairnd_url=https://127.0.0.1:$cairnd_port/taxii2/

# ---- cairn-bench runs -----------------------------------------------------
export CAIRN_PASSWORD=$password
unset CAIRN_TOKEN CAIRN_USER CAIRN_URL
# CPU time (clock ticks) used so far by a process and its children (nginx's
# workers): the servers' cost per request, which a busy machine distorts less
# than their rates.
cpu_ticks() {
  local total=0 p
  for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    total=$((total + $(awk '{ print $14 + $15 }' /proc/"$p"/stat 2>/dev/null || echo 0)))
  done
  echo "$total"
}
declare -A server_ticks
run_bench() {  # NAME TIME_LIMIT ARGS...: writes $work/NAME.json
  local name=$1 limit=$2
  shift 2
  local server=$cairnd_pid
  case "$name" in *-nginx) server=$nginx_pid ;; esac
  local ticks_before
  ticks_before=$(cpu_ticks "$server")
  local cmd=("$bench" --cacert "$work/server.pem" --user bench "$@" --json --out "$work/$name.json")
  local shown="CAIRN_PASSWORD=... ${cmd[*]}"
  shown=${shown//$work/\$WORK}
  commands+=("$shown")
  say "$name: $shown"
  # CAIRN_BENCH_PERF=NAME[,NAME...]: a call-graph profile of the server
  # during those phases, written next to --out as FILE.NAME.perf.
  local perf_pid=""
  case ",${CAIRN_BENCH_PERF:-}," in
    *",$name,"*)
      command -v perf >/dev/null || die "CAIRN_BENCH_PERF needs perf (apt-get install linux-perf)"
      if [ -n "${CAIRN_BENCH_PERF_TOOL:-}" ]; then
        # shellcheck disable=SC2086 # options, split on purpose
        cmd=(perf record -q ${CAIRN_BENCH_PERF_OPTIONS:--g -F 999} -o "$out_file.$name.tool.perf" -- "${cmd[@]}")
      else
        # shellcheck disable=SC2086 # options, split on purpose
        perf record -q ${CAIRN_BENCH_PERF_OPTIONS:--g -F 999} -p "$server" -o "$out_file.$name.perf" >/dev/null 2>&1 &
        perf_pid=$!
      fi
      ;;
  esac
  if ! timeout "$limit" "${cmd[@]}" >"$work/$name.stdout" 2>"$work/$name.stderr"; then
    [ -s "$work/$name.json" ] || die "$name failed: $(cat "$work/$name.stderr")"
    say "$name: some requests failed: $(grep -o '"first_error":"[^"]*"' "$work/$name.json" | head -1)"
  fi
  server_ticks[$name]=$(($(cpu_ticks "$server") - ticks_before))
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    say "$name: profile in $out_file.$name.perf (perf report -i $out_file.$name.perf)"
  fi
}
# A number from a cairn-bench JSON report (one phase per report).
field() { grep -o "\"$2\":[-0-9.eE+]*" "$work/$1.json" | head -1 | cut -d: -f2; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
run_bench publish 1800 --url "$cairnd_url" --phases publish --objects "$objects" \
  --publishers "$publishers" --batch "$batch"
run_bench pull 1800 --url "$cairnd_url" --phases pull --pullers "$pullers" --page "$page"

# The very bytes nginx will serve.
page_path="/$root/collections/$collection_id/objects/?limit=$page"
# nginx's workers run as an unprivileged user: let them read the files.
mkdir -p "$work/www"
chmod 755 "$work" "$work/www"
fetch() {  # PATH FILE
  curl --silent --show-error --fail --max-time 60 --cacert "$work/server.pem" \
    --user "bench:$password" -H 'Accept: application/taxii+json;version=2.1' \
    -o "$2" "https://127.0.0.1:$cairnd_port$1" || die "cannot fetch $1 from cairnd"
}
fetch "$page_path" "$work/www/page.json"
fetch /taxii2/ "$work/www/discovery.json"
# The small resources besides discovery (issue 15): the API root and the
# collection, as the benchmark account sees them.
apiroot_path="/$root/"
collection_path="/$root/collections/$collection_id/"
fetch "$apiroot_path" "$work/www/apiroot.json"
fetch "$collection_path" "$work/www/collection.json"
chmod 644 "$work/www/page.json" "$work/www/discovery.json" "$work/www/apiroot.json" \
  "$work/www/collection.json"
page_bytes=$(wc -c <"$work/www/page.json")
page_objects=$(grep -o '"spec_version":"2.1"' "$work/www/page.json" | wc -l)
[ "$page_objects" -eq "$page" ] || die "the saved page holds $page_objects objects, not $page"

# nginx on another loopback port, same certificate and key, same paths.
mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
start_nginx() {  # PORT
  cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 60s;
  keepalive_requests 100000000;
  client_body_temp_path $work/nginx/tmp/body;
  server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate $work/server.pem;
    ssl_certificate_key $work/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $work/www;
    default_type "application/taxii+json;version=2.1";
    location = /taxii2/ { try_files /discovery.json =404; }
    location = /$root/collections/$collection_id/objects/ { try_files /page.json =404; }
    location = $apiroot_path { try_files /apiroot.json =404; }
    location = $collection_path { try_files /collection.json =404; }
    location / { return 404; }
  }
}
EOF
  "$nginx_bin" -p "$work/nginx" -e "$work/nginx/logs/error.log" -c "$work/nginx/nginx.conf" \
    -g 'daemon off;' </dev/null >/dev/null 2>&1 &
  nginx_pid=$!
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
nginx_port=""
for _ in $(seq 1 20); do
  candidate=$((20000 + RANDOM % 40000))
  [ "$candidate" -ne "$cairnd_port" ] && port_free "$candidate" || continue
  start_nginx "$candidate"
  for _ in $(seq 1 100); do
    if curl --silent --fail --max-time 5 --cacert "$work/server.pem" -o /dev/null \
      "https://127.0.0.1:$candidate/taxii2/"; then
      nginx_port=$candidate
      break 2
    fi
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=""
done
[ -n "$nginx_port" ] || die "nginx did not start: $(cat "$work/nginx/logs/error.log" 2>/dev/null)"
nginx_url=https://127.0.0.1:$nginx_port/taxii2/
cmp -s "$work/www/page.json" <(curl -s --cacert "$work/server.pem" "https://127.0.0.1:$nginx_port$page_path") ||
  die "nginx does not serve the saved page"
cmp -s "$work/www/collection.json" <(curl -s --cacert "$work/server.pem" "https://127.0.0.1:$nginx_port$collection_path") ||
  die "nginx does not serve the saved collection resource"

get_limit=$((seconds + 120))
run_bench page-cairnd "$get_limit" --url "$cairnd_url" --phases get --get "$page_path" \
  --connections "$page_connections" --seconds "$seconds"
run_bench page-nginx "$get_limit" --url "$nginx_url" --phases get --get "$page_path" \
  --connections "$page_connections" --seconds "$seconds"
run_bench discovery-cairnd "$get_limit" --url "$cairnd_url" --phases discovery \
  --discovery-path /taxii2/ --connections "$connections" --seconds "$seconds"
run_bench discovery-nginx "$get_limit" --url "$nginx_url" --phases discovery \
  --discovery-path /taxii2/ --connections "$connections" --seconds "$seconds"
for small in apiroot collection; do
  small_path=$apiroot_path
  [ "$small" = apiroot ] || small_path=$collection_path
  run_bench "$small-cairnd" "$get_limit" --url "$cairnd_url" --phases get --get "$small_path" \
    --connections "$connections" --seconds "$seconds"
  run_bench "$small-nginx" "$get_limit" --url "$nginx_url" --phases get --get "$small_path" \
    --connections "$connections" --seconds "$seconds"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- figures --------------------------------------------------------------
publish_rate=$(field publish objects_per_second)
publish_p50=$(field publish p50)
publish_p99=$(field publish p99)
pull_rate=$(field pull objects_per_second)
pull_mbs=$(field pull megabytes_per_second)
pc_rps=$(field page-cairnd requests_per_second)
pn_rps=$(field page-nginx requests_per_second)
pc_mbs=$(field page-cairnd megabytes_per_second)
pn_mbs=$(field page-nginx megabytes_per_second)
pc_p50=$(field page-cairnd p50)
pc_p99=$(field page-cairnd p99)
pn_p50=$(field page-nginx p50)
pn_p99=$(field page-nginx p99)
dc_rps=$(field discovery-cairnd requests_per_second)
dn_rps=$(field discovery-nginx requests_per_second)
dc_p50=$(field discovery-cairnd p50)
dc_p99=$(field discovery-cairnd p99)
dn_p50=$(field discovery-nginx p50)
dn_p99=$(field discovery-nginx p99)
page_ratio=$(calc "$pn_rps > 0 ? $pc_rps / $pn_rps : 0" 3)
discovery_ratio=$(calc "$dn_rps > 0 ? $dc_rps / $dn_rps : 0" 3)
pc_objects=$(calc "$pc_rps * $page" 0)
pn_objects=$(calc "$pn_rps * $page" 0)
errors=0
small_phases="apiroot-cairnd apiroot-nginx collection-cairnd collection-nginx"
for f in publish pull page-cairnd page-nginx discovery-cairnd discovery-nginx $small_phases; do
  errors=$((errors + $(field "$f" errors)))
done
ticks_per_second=$(getconf CLK_TCK)
# Server CPU milliseconds per request of a phase.
cpu_ms() { calc "${server_ticks[$1]} * 1000 / $ticks_per_second / $(field "$1" requests)" "${2:-3}"; }
pc_cpu=$(cpu_ms page-cairnd 2)
pn_cpu=$(cpu_ms page-nginx 2)
dc_cpu=$(calc "$(cpu_ms discovery-cairnd 6) * 1000" 0)
dn_cpu=$(calc "$(cpu_ms discovery-nginx 6) * 1000" 0)
publish_cpu=$(calc "${server_ticks[publish]} * 1000000 / $ticks_per_second / $objects" 1)
# cairn-bench's own CPU per request of a phase (ms): whether the load tool
# bounds the rate.
tool_ms() { calc "$(field "$1" cpu_seconds) * 1000 / $(field "$1" requests)" 2; }
pc_tool=$(tool_ms page-cairnd)
pn_tool=$(tool_ms page-nginx)
page_cpu_ratio=$(calc "$pn_cpu > 0 ? $pc_cpu / $pn_cpu : 0" 2)
publish_target=$(verdict "$publish_rate >= 120000 && $publish_cpu <= 8")
page_target=$(verdict "$page_cpu_ratio <= 1.6")
discovery_target=$(verdict "$discovery_ratio >= 0.50 && $dc_p99 < 10")
# Issue 15's targets for the small resources (discovery, API root,
# collection): >= 0.8x nginx's rate, <= 1.25x its server CPU per request,
# p99 < 5 ms. Sets small_line (the servers' figures), small_cpu (the CPU
# ratio), small_target (the verdict) and small_json for NAME.
declare -A small_line small_ratio_of small_cpu small_target small_json
small_figures() {  # NAME (discovery, apiroot, collection) PATH
  local c=$1-cairnd n=$1-nginx rate cpu c_us n_us verdict_
  c_us=$(calc "$(cpu_ms "$c" 6) * 1000" 0)
  n_us=$(calc "$(cpu_ms "$n" 6) * 1000" 0)
  rate=$(calc "$(field "$n" requests_per_second) > 0 ? $(field "$c" requests_per_second) / $(field "$n" requests_per_second) : 0" 3)
  cpu=$(calc "$(cpu_ms "$n" 6) > 0 ? $(cpu_ms "$c" 6) / $(cpu_ms "$n" 6) : 0" 3)
  verdict_=$(verdict "$rate >= 0.8 && $cpu <= 1.25 && $(field "$c" p99) < 5")
  small_line[$1]="cairnd $(calc "$(field "$c" requests_per_second)" 0) req/s, p50 $(calc "$(field "$c" p50)") ms, p99 $(calc "$(field "$c" p99)") ms, server CPU $c_us us/request
             nginx  $(calc "$(field "$n" requests_per_second)" 0) req/s, p50 $(calc "$(field "$n" p50)") ms, p99 $(calc "$(field "$n" p99)") ms, server CPU $n_us us/request"
  small_cpu[$1]="CPU ratio $cpu"
  small_target[$1]="target >= 0.80 with CPU <= 1.25x and p99 < 5 ms: $verdict_"
  small_ratio_of[$1]=$rate
  small_json[$1]=$(printf '{"path":"%s","connections":%s,"seconds":%s,"cairnd":{"requests_per_second":%s,"p50_ms":%s,"p99_ms":%s,"server_cpu_us_per_request":%s},"nginx":{"requests_per_second":%s,"p50_ms":%s,"p99_ms":%s,"server_cpu_us_per_request":%s},"ratio":%s,"cpu_ratio":%s,"target":"%s"}' \
    "$2" "$connections" "$seconds" \
    "$(field "$c" requests_per_second)" "$(field "$c" p50)" "$(field "$c" p99)" "$c_us" \
    "$(field "$n" requests_per_second)" "$(field "$n" p50)" "$(field "$n" p99)" "$n_us" \
    "$rate" "$cpu" "$verdict_")
}
small_figures discovery /taxii2/
small_figures apiroot "$apiroot_path"
small_figures collection "$collection_path"

cat <<EOF

Cairn benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $load_before before / $load_after after
  publish    $(calc "$publish_rate" 0) objects/s  ($objects objects, $publishers publishers, batches of $batch; per request p50 $(calc "$publish_p50") ms, p99 $(calc "$publish_p99") ms; cairnd CPU $publish_cpu us/object)  target >= 120000/s and <= 8 us/object: $publish_target
  pull       $(calc "$pull_rate" 0) objects/s, $(calc "$pull_mbs" 1) MB/s  ($pullers pullers, pages of $page)
  page GET   cairnd $(calc "$pc_rps" 0) pages/s = $pc_objects objects/s, $(calc "$pc_mbs" 1) MB/s, p50 $(calc "$pc_p50") ms, p99 $(calc "$pc_p99") ms, server CPU $pc_cpu ms/page (load tool $pc_tool ms/page)
             nginx  $(calc "$pn_rps" 0) pages/s = $pn_objects objects/s, $(calc "$pn_mbs" 1) MB/s, p50 $(calc "$pn_p50") ms, p99 $(calc "$pn_p99") ms, server CPU $pn_cpu ms/page (load tool $pn_tool ms/page)
             ($page objects, $page_bytes bytes, $page_connections connections, $seconds s)  rate ratio $page_ratio, server CPU ratio $page_cpu_ratio  target CPU <= 1.6x nginx: $page_target
  discovery  cairnd $(calc "$dc_rps" 0) req/s, p50 $(calc "$dc_p50") ms, p99 $(calc "$dc_p99") ms, server CPU $dc_cpu us/request
             nginx  $(calc "$dn_rps" 0) req/s, p50 $(calc "$dn_p50") ms, p99 $(calc "$dn_p99") ms, server CPU $dn_cpu us/request
             ($connections connections, $seconds s)  ratio $discovery_ratio  target >= 0.50 with p99 < 10 ms: $discovery_target
             (issue 15)  ${small_cpu[discovery]}  ${small_target[discovery]}
  api root   ${small_line[apiroot]}
             ($connections connections, $seconds s)  ratio ${small_ratio_of[apiroot]}, ${small_cpu[apiroot]}  ${small_target[apiroot]}
  collection ${small_line[collection]}
             ($connections connections, $seconds s)  ratio ${small_ratio_of[collection]}, ${small_cpu[collection]}  ${small_target[collection]}
  failed requests: $errors
EOF

json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
{
  printf '{"tool":"clients/bench/run.sh","date":%s,"cores":%s,' \
    "$(json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(nproc)"
  printf '"load_average_before":%s,"load_average_after":%s,' \
    "$(json_string "$load_before")" "$(json_string "$load_after")"
  printf '"publish":{"objects":%s,"publishers":%s,"batch":%s,"objects_per_second":%s,"p50_ms":%s,"p99_ms":%s,"server_cpu_us_per_object":%s,"target":"%s"},' \
    "$objects" "$publishers" "$batch" "$publish_rate" "$publish_p50" "$publish_p99" "$publish_cpu" "$publish_target"
  printf '"pull":{"pullers":%s,"page":%s,"objects_per_second":%s,"megabytes_per_second":%s},' \
    "$pullers" "$page" "$pull_rate" "$pull_mbs"
  printf '"page":{"objects":%s,"bytes":%s,"connections":%s,"seconds":%s,' \
    "$page" "$page_bytes" "$page_connections" "$seconds"
  printf '"cairnd":{"requests_per_second":%s,"objects_per_second":%s,"megabytes_per_second":%s,"p50_ms":%s,"p99_ms":%s,"server_cpu_ms_per_request":%s},' \
    "$pc_rps" "$pc_objects" "$pc_mbs" "$pc_p50" "$pc_p99" "$pc_cpu"
  printf '"nginx":{"requests_per_second":%s,"objects_per_second":%s,"megabytes_per_second":%s,"p50_ms":%s,"p99_ms":%s,"server_cpu_ms_per_request":%s},' \
    "$pn_rps" "$pn_objects" "$pn_mbs" "$pn_p50" "$pn_p99" "$pn_cpu"
  printf '"ratio":%s,"server_cpu_ratio":%s,"load_tool_cpu_ms_per_request":{"cairnd":%s,"nginx":%s},"target":"%s"},' \
    "$page_ratio" "$page_cpu_ratio" "$pc_tool" "$pn_tool" "$page_target"
  printf '"discovery":{"connections":%s,"seconds":%s,' "$connections" "$seconds"
  printf '"cairnd":{"requests_per_second":%s,"p50_ms":%s,"p99_ms":%s,"server_cpu_us_per_request":%s},' "$dc_rps" "$dc_p50" "$dc_p99" "$dc_cpu"
  printf '"nginx":{"requests_per_second":%s,"p50_ms":%s,"p99_ms":%s,"server_cpu_us_per_request":%s},' "$dn_rps" "$dn_p50" "$dn_p99" "$dn_cpu"
  printf '"ratio":%s,"target":"%s","small":%s},' "$discovery_ratio" "$discovery_target" "${small_json[discovery]}"
  printf '"apiroot":%s,"collection":%s,' "${small_json[apiroot]}" "${small_json[collection]}"
  printf '"failed_requests":%s,"commands":[' "$errors"
  sep=""
  for c in "${commands[@]}"; do printf '%s%s' "$sep" "$(json_string "$c")"; sep=","; done
  printf '],"reports":{'
  sep=""
  for f in publish pull page-cairnd page-nginx discovery-cairnd discovery-nginx $small_phases; do
    printf '%s"%s":%s' "$sep" "$f" "$(tr -d '\n' <"$work/$f.json")"
    sep=","
  done
  printf '}}\n'
} >"$out_file.tmp"
mv "$out_file.tmp" "$out_file"
say "figures written to $out_file"

if [ "$backend" = both ]; then
  # The LMDB node and nginx make way for the PostgreSQL runs.
  kill "$nginx_pid" "$cairnd_pid" 2>/dev/null || true
  wait "$nginx_pid" "$cairnd_pid" 2>/dev/null || true
  nginx_pid=""
  cairnd_pid=""
  first_pg_command=${#commands[@]}
  pg_bench
  pg_report "$publish_rate" "$pull_rate"
  {
    head -c -2 "$out_file"
    printf ',"postgresql":%s,"postgresql_commands":[' "$pg_json"
    sep=""
    for c in "${commands[@]:$first_pg_command}"; do printf '%s%s' "$sep" "$(json_string "$c")"; sep=","; done
    printf ']}\n'
  } >"$out_file.tmp"
  mv "$out_file.tmp" "$out_file"
  say "PostgreSQL figures added to $out_file"
fi
