#!/usr/bin/env bash
# Cairn at size (issue 15, "flat with size"): one cairnd on LMDB, loaded in
# steps, measured at each step.
#
#   1. starts cairnd (its own temporary folder, a generated certificate, one
#      account) on a free 127.0.0.1 port and publishes 5 indicators that name
#      198.51.100.77 (the lookup's handful of matches),
#   2. for each size in --sizes (default 100000,1000000,10000000), publishes
#      synthetic indicators with cairn-bench's publish phase (batches of
#      1,000, --publishers 4; at most --chunk objects per cairn-bench run,
#      since it holds them in memory) until the collection holds that many,
#      noting the time when it held half of them, then measures:
#      - disk: bytes of the data folder (du, allocated blocks) per object,
#      - start-up: cairnd is stopped (SIGTERM) and started again; the time
#        from exec to its "listening" log line and to the first answered
#        GET /cairn/v1/health (curl polling), the CPU it used until then
#        (/proc/PID/task/*/schedstat), and its RssAnon then,
#      - page: server CPU per 1,000-object GET objects page (cairn-bench get
#        phase, --page-connections connections, --seconds S; cairnd's CPU
#        ticks from /proc/PID/stat around it), at the start of the collection
#        and in its middle (added_after = the half-way time),
#      - lookup: GET /cairn/v1/lookup?value=198.51.100.77, one connection,
#        --seconds S, p50 and p99 (each lookup's audit record is durable
#        before the answer leaves),
#      - RssAnon of cairnd after the page and lookup phases (and after the
#        publish below),
#      - publish: a further --publish-objects (default 100,000) objects,
#        objects/s and cairnd CPU per object (so the next size starts that
#        many objects above the last one),
#   3. prints a table (and the ratio of the largest size to the smallest) and
#      writes the figures as JSON (--out, default BUILD_DIR/scale-results.json).
#
# Usage: clients/bench/scale.sh [--sizes N,N,...] [--out FILE] [--seconds S]
#                               [--publishers N] [--publish-objects N]
#                               [--page-connections N] [--chunk N]
#                               [--build-dir DIR] [--no-build]
#   --no-build    use the binaries already in the build folder
# Environment: CAIRN_BUILD_DIR (default build), the same as --build-dir;
# CAIRN_SCALE_TMP: where the temporary folder goes (default /tmp; the store
# takes about 1.5 KB per object, so 10 million need some 16 GB there).
# Loading runs at the publish rate (4,000-8,000 objects/s on a busy 2-core
# machine): the default sizes take most of an hour there.
# Needs: cmake/ninja (to build), curl, openssl. Everything listens on
# 127.0.0.1 only; every step has a time limit; cairnd is stopped and the
# temporary folder removed on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${CAIRN_BUILD_DIR:-$repo/build}
sizes=100000,1000000,10000000
out_file=""
seconds=5
publishers=4
publish_objects=100000
page_connections=16
chunk=1000000
batch=1000
page=1000
build=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --out) out_file=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --publishers) publishers=$2; shift 2 ;;
    --publish-objects) publish_objects=$2; shift 2 ;;
    --page-connections) page_connections=$2; shift 2 ;;
    --chunk) chunk=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=""; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "scale.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
IFS=, read -r -a size_list <<<"$sizes"
[ "${#size_list[@]}" -gt 0 ] || { echo "scale.sh: --sizes is empty" >&2; exit 2; }
for n in "${size_list[@]}" "$seconds" "$publishers" "$publish_objects" "$page_connections" "$chunk"; do
  case "$n" in '' | *[!0-9]* | 0) echo "scale.sh: not a positive whole number: $n" >&2; exit 2 ;; esac
done
previous=0
for n in "${size_list[@]}"; do
  [ "$n" -ge "$page" ] || { echo "scale.sh: sizes start at $page objects (one page)" >&2; exit 2; }
  [ "$n" -gt "$previous" ] || { echo "scale.sh: --sizes must grow" >&2; exit 2; }
  previous=$((n + publish_objects))
done
case "$build_dir" in /*) ;; *) build_dir=$PWD/$build_dir ;; esac
[ -n "$out_file" ] || out_file=$build_dir/scale-results.json
case "$out_file" in /*) ;; *) out_file=$PWD/$out_file ;; esac

say() { printf 'scale.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
for tool in curl openssl timeout du awk; do
  command -v "$tool" >/dev/null || die "needs $tool (scripts/setup.sh installs curl and openssl)"
done

# ---- build ----------------------------------------------------------------
if [ -n "$build" ]; then
  if [ ! -f "$build_dir/build.ninja" ]; then
    say "configuring $build_dir"
    (cd "$repo" && cmake --preset bench -B "$build_dir" >/dev/null)
  fi
  say "building cairnd and cairn-bench in $build_dir"
  timeout 3600 ninja -C "$build_dir" cairnd cairn-bench >/dev/null ||
    die "build failed: ninja -C $build_dir cairnd cairn-bench"
fi
cairnd=$build_dir/server/cairnd
bench=$build_dir/clients/cairn-bench
{ [ -x "$cairnd" ] && [ -x "$bench" ]; } || die "no cairnd or cairn-bench in $build_dir"

# ---- a temporary exchange -------------------------------------------------
work=$(mktemp -d "${CAIRN_SCALE_TMP:-/tmp}/cairn-scale-XXXXXX")
cairnd_pid=""
stop_cairnd() {
  [ -n "$cairnd_pid" ] || return 0
  kill "$cairnd_pid" 2>/dev/null || true
  # A clean stop writes a checkpoint and closes the store; it is bounded.
  local i
  for i in $(seq 1 600); do
    kill -0 "$cairnd_pid" 2>/dev/null || break
    [ "$i" -lt 600 ] || kill -KILL "$cairnd_pid" 2>/dev/null || true
    sleep 0.05
  done
  wait "$cairnd_pid" 2>/dev/null || true
  cairnd_pid=""
}
cleanup() {
  stop_cairnd
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

# A fixed port, so that the restarted cairnd answers where the first one did.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  if port_free "$candidate"; then port=$candidate; break; fi
done
[ -n "$port" ] || die "no free port on 127.0.0.1"

cat >"$work/cairn.json" <<EOF
{
  "listen": "127.0.0.1:$port",
  "data_dir": "data",
  "tls": { "cert": "server.pem", "key": "server.key" },
  "limits": { "max_content_length": 10485760, "page_size": $page, "max_connections": 4096,
              "request_timeout_s": 120, "idle_timeout_s": 120, "requests_per_second": 0 },
  "discovery": { "title": "Cairn at size", "description": "clients/bench/scale.sh",
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
"$cairnd" check-config --config "$work/cairn.json" >&2 || die "the benchmark config is refused"
url=https://127.0.0.1:$port
export CAIRN_PASSWORD=$password
unset CAIRN_TOKEN CAIRN_USER CAIRN_URL

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", ($1) }"; }
ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$cairnd_pid/stat"; }
rss_anon_kb() { sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$cairnd_pid/status"; }
health() {
  curl --silent --fail --max-time 5 --cacert "$work/server.pem" -o /dev/null \
    "$url/cairn/v1/health"
}

# Starts cairnd and sets startup_listen_ms (exec to the "listening" line) and
# startup_first_ms (exec to the first answered GET /cairn/v1/health).
start_cairnd() {
  local log=$work/cairnd.log t0 listened=""
  : >"$log"
  t0=$(now)
  "$cairnd" serve --config "$work/cairn.json" 2>>"$log" </dev/null &
  cairnd_pid=$!
  # Up to 10 minutes: a store that indexes itself once says so in the log.
  local deadline=$(($(date +%s) + 600))
  until [ -n "$listened" ]; do
    grep -q '"msg":"listening"' "$log" && listened=$(now)
    [ -n "$listened" ] && break
    kill -0 "$cairnd_pid" 2>/dev/null || die "cairnd exited: $(cat "$log")"
    [ "$(date +%s)" -lt "$deadline" ] || die "cairnd did not start listening: $(cat "$log")"
    sleep 0.002
  done
  until health; do
    kill -0 "$cairnd_pid" 2>/dev/null || die "cairnd exited: $(cat "$log")"
    [ "$(date +%s)" -lt "$deadline" ] || die "cairnd does not answer: $(cat "$log")"
    sleep 0.002
  done
  local served
  served=$(now)
  # CPU of the start and the one request: nanoseconds on the CPU of each
  # thread still running (finer than /proc/PID/stat's clock ticks).
  startup_cpu_ms=$(cat /proc/"$cairnd_pid"/task/*/schedstat 2>/dev/null |
    awk '{ ns += $1 } END { printf "%.1f", ns / 1e6 }')
  startup_listen_ms=$(calc "($listened - $t0) * 1000" 1)
  startup_first_ms=$(calc "($served - $t0) * 1000" 1)
}

# The page at PATH holds $page objects (cairn-bench's get phase counts bytes).
check_page() {  # PATH
  local n
  n=$(curl --silent --show-error --fail --max-time 60 --cacert "$work/server.pem" \
    -u "bench:$password" -H 'Accept: application/taxii+json;version=2.1' "$url$1" |
    grep -o '"spec_version":"2.1"' | wc -l) || die "cannot fetch $1"
  [ "$n" -eq "$page" ] || die "the page at $1 holds $n objects, not $page"
}

# A number from the phase of a cairn-bench JSON report (not its parameters).
phase_field() {
  sed 's/.*"phases":\[//' "$work/$1.json" | grep -o "\"$2\":[-0-9.eE+]*" | head -1 | cut -d: -f2
}
commands=()
# Runs cairn-bench with ARGS... (time limit LIMIT s); its report is $work/NAME.json.
run_bench() {  # NAME LIMIT ARGS...
  local name=$1 limit=$2
  shift 2
  local cmd=("$bench" --url "$url/taxii2/" --cacert "$work/server.pem" --user bench "$@" --json
             --out "$work/$name.json")
  local shown="CAIRN_PASSWORD=... ${cmd[*]}"
  shown=${shown//$work/\$WORK}
  commands+=("$shown")
  say "$name: $shown"
  rm -f "$work/$name.json"
  if ! timeout "$limit" "${cmd[@]}" >"$work/$name.stdout" 2>"$work/$name.stderr"; then
    [ -s "$work/$name.json" ] || die "$name failed: $(head -c 2000 "$work/$name.stderr")"
    die "$name: some requests failed: $(grep -o '"first_error":"[^"]*"' "$work/$name.json" | head -1)"
  fi
}

loaded=0  # objects published into the collection so far
seed=1    # each cairn-bench run its own seed: other ids
# Publishes N more objects in runs of at most $chunk (ungauged).
load() {  # N
  local left=$1 n
  while [ "$left" -gt 0 ]; do
    n=$((left < chunk ? left : chunk))
    # At the rate of a busy machine (10,000/s) and then some.
    run_bench "load-$seed" $((600 + n / 5000)) --phases publish --objects "$n" \
      --publishers "$publishers" --batch "$batch" --seed "$seed"
    seed=$((seed + 1))
    loaded=$((loaded + n))
    left=$((left - n))
  done
}

# ---- start, and the lookup's handful --------------------------------------
start_cairnd
handful='{"objects":['
for i in 1 2 3 4 5; do
  [ "$i" = 1 ] || handful+=','
  handful+="{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--$(cat /proc/sys/kernel/random/uuid)\","
  handful+="\"created\":\"2026-01-0${i}T00:00:00.000Z\",\"modified\":\"2026-01-0${i}T00:00:00.000Z\","
  handful+="\"pattern\":\"[ipv4-addr:value = '198.51.100.77'] OR [domain-name:value = 'h$i.example']\","
  handful+="\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"}"
done
handful+=']}'
curl --silent --show-error --max-time 60 --cacert "$work/server.pem" -u "bench:$password" \
  -o /dev/null -w '%{http_code}\n' -X POST \
  -H 'Content-Type: application/taxii+json;version=2.1' -H 'Accept: application/taxii+json;version=2.1' \
  --data-binary "$handful" "$url/$root/collections/$collection_id/objects/" | grep -q 202 ||
  die "publishing the lookup's handful failed"
loaded=5

json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
# The JSON of the steps so far (written after each step: a long run that
# is stopped keeps what it measured).
write_json() {
  {
    printf '{"tool":"clients/bench/scale.sh","date":%s,"cores":%s,' \
      "$(json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(nproc)"
    printf '"load_average_before":%s,"load_average_after":%s,' \
      "$(json_string "$load_before")" "$(json_string "$load_after")"
    printf '"publishers":%s,"batch":%s,"page":%s,"page_connections":%s,"seconds":%s,"publish_objects":%s,"steps":[' \
      "$publishers" "$batch" "$page" "$page_connections" "$seconds" "$publish_objects"
    sep=""
    for s in "${rows[@]}"; do
      printf '%s{"objects":%s,"disk_bytes":%s,"disk_bytes_per_object":%s,' \
        "$sep" "${fig[$s-objects]}" "${fig[$s-disk]}" "${fig[$s-disk-per-object]}"
      printf '"startup_listening_ms":%s,"startup_first_request_ms":%s,"startup_cpu_ms":%s,' \
        "${fig[$s-startup-listen]}" "${fig[$s-startup-first]}" "${fig[$s-startup-cpu]}"
      printf '"rss_anon_mib_after_startup":%s,"rss_anon_mib_after_reads":%s,"rss_anon_mib_after_publish":%s,' \
        "${fig[$s-rss-start]}" "${fig[$s-rss-after]}" "${fig[$s-rss-publish]}"
      printf '"page_server_cpu_ms":{"start":%s,"middle":%s},' \
        "${fig[$s-page-start]}" "${fig[$s-page-middle]}"
      printf '"lookup_ms":{"p50":%s,"p99":%s},' "${fig[$s-lookup-p50]}" "${fig[$s-lookup-p99]}"
      printf '"publish":{"objects":%s,"objects_per_second":%s,"server_cpu_us_per_object":%s},' \
        "$publish_objects" "${fig[$s-publish-rate]}" "${fig[$s-publish-us]}"
      printf '"load_average":%s}' "${fig[$s-load]}"
      sep=","
    done
    printf '],"commands":['
    sep=""
    for c in "${commands[@]}"; do printf '%s%s' "$sep" "$(json_string "$c")"; sep=","; done
    printf ']}\n'
  } >"$out_file.tmp"
  mv "$out_file.tmp" "$out_file"
}

# ---- the steps --------------------------------------------------------------
declare -A fig
rows=()
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
load_after=$load_before
for size in "${size_list[@]}"; do
  say "step $size: loading $((size - loaded)) objects"
  half=$((size / 2))
  mid_time=""
  if [ "$loaded" -lt "$half" ]; then
    load $((half - loaded))
    # The first object published after this instant is about the middle one.
    mid_time=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
  fi
  [ "$loaded" -ge "$size" ] || load $((size - loaded))
  objects=$loaded

  # Disk: the whole data folder (store, audit log, keys), allocated blocks
  # (every commit is durable, so they are all allocated by now).
  disk=$(du -s -B1 "$work/data" | cut -f1)

  # Start-up of a store this size.
  stop_cairnd
  start_cairnd
  rss_start=$(rss_anon_kb)

  page_path="/$root/collections/$collection_id/objects/?limit=$page"
  check_page "$page_path"
  t=$(cpu_ticks)
  run_bench "page-start-$size" $((seconds + 120)) --phases get --get "$page_path" \
    --connections "$page_connections" --seconds "$seconds"
  page_start_ms=$(calc "($(cpu_ticks) - $t) * 1000 / $ticks_per_second / $(phase_field "page-start-$size" requests)" 3)
  page_mid_ms=""
  if [ -n "$mid_time" ]; then
    check_page "$page_path&added_after=$mid_time"
    t=$(cpu_ticks)
    run_bench "page-middle-$size" $((seconds + 120)) --phases get \
      --get "$page_path&added_after=$mid_time" --connections "$page_connections" --seconds "$seconds"
    page_mid_ms=$(calc "($(cpu_ticks) - $t) * 1000 / $ticks_per_second / $(phase_field "page-middle-$size" requests)" 3)
  fi
  run_bench "lookup-$size" $((seconds + 120)) --phases get \
    --get "/cairn/v1/lookup?value=198.51.100.77" --connections 1 --seconds "$seconds"
  rss_after=$(rss_anon_kb)

  t=$(cpu_ticks)
  t0=$(now)
  run_bench "publish-$size" $((600 + publish_objects / 5000)) --phases publish \
    --objects "$publish_objects" --publishers "$publishers" --batch "$batch" --seed "$seed"
  t1=$(now)
  seed=$((seed + 1))
  loaded=$((loaded + publish_objects))
  publish_us=$(calc "($(cpu_ticks) - $t) * 1000000 / $ticks_per_second / $publish_objects" 1)
  publish_rate=$(calc "$publish_objects / ($t1 - $t0)" 0)
  rss_publish=$(rss_anon_kb)

  fig[$size-objects]=$objects
  fig[$size-disk]=$disk
  fig[$size-disk-per-object]=$(calc "$disk / $objects" 0)
  fig[$size-startup-listen]=$startup_listen_ms
  fig[$size-startup-first]=$startup_first_ms
  fig[$size-startup-cpu]=$startup_cpu_ms
  fig[$size-rss-start]=$(calc "$rss_start / 1024" 1)
  fig[$size-rss-after]=$(calc "$rss_after / 1024" 1)
  fig[$size-rss-publish]=$(calc "$rss_publish / 1024" 1)
  fig[$size-page-start]=$page_start_ms
  fig[$size-page-middle]=${page_mid_ms:-null}
  fig[$size-lookup-p50]=$(calc "$(phase_field "lookup-$size" p50)" 2)
  fig[$size-lookup-p99]=$(calc "$(phase_field "lookup-$size" p99)" 2)
  fig[$size-publish-rate]=$publish_rate
  fig[$size-publish-us]=$publish_us
  fig[$size-load]=$(cut -d' ' -f1 /proc/loadavg)
  rows+=("$size")
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  write_json
  say "step $size: page CPU $page_start_ms ms (middle ${page_mid_ms:-n/a}), lookup p50/p99 ${fig[$size-lookup-p50]}/${fig[$size-lookup-p99]} ms, start-up $startup_first_ms ms ($startup_cpu_ms ms CPU), RssAnon ${fig[$size-rss-start]}/${fig[$size-rss-after]}/${fig[$size-rss-publish]} MiB, ${fig[$size-disk-per-object]} disk bytes/object, publish $publish_rate objects/s at $publish_us us CPU/object (figures so far in $out_file)"
done

# ---- figures --------------------------------------------------------------
printf '\nCairn at size, %s, %s cores, load average %s before / %s after (LMDB, %s publishers, batches of %s, pages of %s at %s connections, %s s per phase)\n' \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$load_before" "$load_after" "$publishers" \
  "$batch" "$page" "$page_connections" "$seconds"
fmt='  %-10s %-11s %-11s %-14s %-10s %-11s %-20s %-18s %-11s %-8s\n'
# shellcheck disable=SC2059 # the format is the table's
printf "$fmt" objects "page ms" "page ms" "lookup ms" "publish" "publish us" "start-up ms" "RssAnon MiB" "disk bytes" load
# shellcheck disable=SC2059
printf "$fmt" "" "CPU start" "CPU middle" "p50 / p99" "objects/s" "CPU/object" "listen/200/CPU" "start/read/publ." "per object" ""
for s in "${rows[@]}"; do
  # shellcheck disable=SC2059
  printf "$fmt" "${fig[$s-objects]}" "${fig[$s-page-start]}" "${fig[$s-page-middle]/null/n\/a}" \
    "${fig[$s-lookup-p50]} / ${fig[$s-lookup-p99]}" "${fig[$s-publish-rate]}" "${fig[$s-publish-us]}" \
    "${fig[$s-startup-listen]} / ${fig[$s-startup-first]} / ${fig[$s-startup-cpu]}" \
    "${fig[$s-rss-start]} / ${fig[$s-rss-after]} / ${fig[$s-rss-publish]}" "${fig[$s-disk-per-object]}" "${fig[$s-load]}"
done
first=${rows[0]}
last=${rows[${#rows[@]} - 1]}
if [ "$first" != "$last" ]; then
  page_ratio=$(calc "${fig[$last-page-start]} / ${fig[$first-page-start]}" 2)
  publish_ratio=$(calc "${fig[$last-publish-us]} / ${fig[$first-publish-us]}" 2)
  printf '  %s vs %s objects: page CPU x%s, publish CPU x%s (target <= 1.2)\n' \
    "${fig[$last-objects]}" "${fig[$first-objects]}" "$page_ratio" "$publish_ratio"
fi
printf '  (publish: %s further objects after the measurements at each size; page middle: added_after the time the collection held half)\n' \
  "$publish_objects"

write_json
say "figures written to $out_file"
