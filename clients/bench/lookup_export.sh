#!/usr/bin/env bash
# Lookup and export benchmark (issue 13): one run on an LMDB store.
#
#   1. starts cairnd (its own temporary folder, a generated certificate, one
#      account) on 127.0.0.1 with two collections,
#   2. loads --indicators synthetic indicators (default 1,000,000: IPv4,
#      domain, URL and SHA-256 patterns, some later versions) into
#      "indicators" with cairn-bench's publish phase, plus 5 indicators that
#      name 198.51.100.77 (the lookup's handful of matches), and
#      --export-values synthetic indicators (default 100,000) into "feed",
#   3. measures GET /cairn/v1/lookup?value=198.51.100.77 with cairn-bench's
#      get phase (one connection, then --connections), p50/p99 end to end:
#      TLS, authentication, the index probes, and the audit record (each
#      lookup's pull record is durable before the answer leaves),
#   4. downloads the EDL export of "feed" with curl (time, lines, bytes) while
#      sampling cairnd's resident memory every 20 ms (VmRSS before and its
#      peak during the export), then once more with If-None-Match (304).
#
# Usage: clients/bench/lookup_export.sh [--indicators N] [--export-values N]
#                                       [--seconds S] [--connections N]
#                                       [--build-dir DIR] [--no-build]
#   --no-build    use the binaries already in the build folder
# Environment: CAIRN_BUILD_DIR (default build).
# Needs: cmake/ninja (to build), curl, openssl. Everything listens on
# 127.0.0.1 only; cairnd is stopped and the temporary folder removed on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${CAIRN_BUILD_DIR:-$repo/build}
indicators=1000000
export_values=100000
seconds=10
connections=8
build=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --indicators) indicators=$2; shift 2 ;;
    --export-values) export_values=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=""; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "lookup_export.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$indicators" "$export_values" "$seconds" "$connections"; do
  case "$n" in '' | *[!0-9]*) echo "lookup_export.sh: not a whole number: $n" >&2; exit 2 ;; esac
done
case "$build_dir" in /*) ;; *) build_dir=$PWD/$build_dir ;; esac

say() { printf 'lookup_export.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
for tool in curl openssl timeout; do
  command -v "$tool" >/dev/null || die "needs $tool"
done

if [ -n "$build" ]; then
  if [ ! -f "$build_dir/build.ninja" ]; then
    (cd "$repo" && cmake --preset bench -B "$build_dir" >/dev/null)
  fi
  timeout 3600 ninja -C "$build_dir" cairnd cairn-bench >/dev/null ||
    die "build failed: ninja -C $build_dir cairnd cairn-bench"
fi
cairnd=$build_dir/server/cairnd
bench=$build_dir/clients/cairn-bench

work=$(mktemp -d /tmp/cairn-lookup-bench-XXXXXX)
cairnd_pid=""
cleanup() {
  [ -z "$cairnd_pid" ] || { kill "$cairnd_pid" 2>/dev/null || true; wait "$cairnd_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/server.key" -out "$work/server.pem" 2>/dev/null || die "openssl req failed"
password=$(openssl rand -hex 24)
password_hash=$(printf '%s\n' "$password" | "$cairnd" hash-secret) || die "cairnd hash-secret failed"
indicators_id=$(cat /proc/sys/kernel/random/uuid)
feed_id=$(cat /proc/sys/kernel/random/uuid)
cat >"$work/cairn.json" <<EOF
{
  "listen": "127.0.0.1:0",
  "data_dir": "data",
  "storage": { "backend": "lmdb", "map_size": 34359738368 },
  "tls": { "cert": "server.pem", "key": "server.key" },
  "limits": { "max_content_length": 10485760, "page_size": 1000, "max_connections": 4096,
              "request_timeout_s": 120, "idle_timeout_s": 120, "requests_per_second": 0 },
  "monitoring": { "enabled": false },
  "discovery": { "title": "Cairn lookup benchmark", "default": "bench" },
  "api_roots": {
    "bench": { "title": "Benchmark root",
               "collections": [
                 { "id": "$indicators_id", "title": "Indicators", "alias": "indicators" },
                 { "id": "$feed_id", "title": "Feed", "alias": "feed" } ] }
  },
  "accounts": [
    { "name": "bench", "password_hash": "$password_hash", "read": ["*"], "write": ["*"],
      "clearance": "red" }
  ]
}
EOF
# Keys this cairnd does not know yet (monitoring, rate limits) are dropped.
for key in monitoring requests_per_second storage; do
  if ! "$cairnd" check-config --config "$work/cairn.json" >/dev/null 2>&1; then
    case $key in
      monitoring) sed -i '/"monitoring"/d' "$work/cairn.json" ;;
      requests_per_second) sed -i 's/, "requests_per_second": 0//' "$work/cairn.json" ;;
      storage) sed -i '/"storage"/d' "$work/cairn.json" ;;
    esac
  fi
done
"$cairnd" check-config --config "$work/cairn.json" >&2 || die "the benchmark config is refused"

"$cairnd" serve --config "$work/cairn.json" 2>"$work/cairnd.log" </dev/null &
cairnd_pid=$!
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$work/cairnd.log" | head -1)
  [ -z "$port" ] || break
  kill -0 "$cairnd_pid" 2>/dev/null || die "cairnd exited: $(cat "$work/cairnd.log")"
  sleep 0.05
done
[ -n "$port" ] || die "cairnd did not start listening"
url=https://127.0.0.1:$port
export CAIRN_PASSWORD=$password
curl_auth=(--cacert "$work/server.pem" -u "bench:$password" -sS)

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
phase_field() {
  sed 's/.*"phases":\[//' "$work/$1.json" | grep -o "\"$2\":[-0-9.eE+]*" | head -1 | cut -d: -f2
}
run_bench() {  # NAME ARGS...
  local name=$1
  shift
  local cmd=("$bench" --url "$url/taxii2/" --cacert "$work/server.pem" --user bench "$@" --json
             --out "$work/$name.json")
  say "CAIRN_PASSWORD=... ${cmd[*]}"
  timeout 7200 "${cmd[@]}" >/dev/null || die "cairn-bench $name failed"
}

# ---- load -------------------------------------------------------------------
t0=$(now)
run_bench load-indicators --phases publish --collection indicators --objects "$indicators" \
  --publishers 4 --batch 1000 --seed 7
t1=$(now)
say "loaded $indicators indicators in $(calc "$t1 - $t0" 1) s"
handful='{"objects":['
for i in 1 2 3 4 5; do
  [ "$i" = 1 ] || handful+=','
  handful+="{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--$(cat /proc/sys/kernel/random/uuid)\","
  handful+="\"created\":\"2026-01-0${i}T00:00:00.000Z\",\"modified\":\"2026-01-0${i}T00:00:00.000Z\","
  handful+="\"pattern\":\"[ipv4-addr:value = '198.51.100.77'] OR [domain-name:value = 'h$i.example']\","
  handful+="\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"}"
done
handful+=']}'
curl "${curl_auth[@]}" -o /dev/null -w '%{http_code}\n' -X POST \
  -H 'Content-Type: application/taxii+json;version=2.1' -H 'Accept: application/taxii+json;version=2.1' \
  --data-binary "$handful" "$url/bench/collections/indicators/objects/" | grep -q 202 ||
  die "publishing the handful failed"
run_bench load-feed --phases publish --collection feed --objects "$export_values" \
  --publishers 4 --batch 1000 --seed 11
sleep 1
matches=$(curl "${curl_auth[@]}" "$url/cairn/v1/lookup?value=198.51.100.77" | grep -o '"id":' | wc -l)
say "the lookup value has $matches matches"

# ---- lookup -------------------------------------------------------------------
target="/cairn/v1/lookup?value=198.51.100.77"
run_bench lookup-1 --phases get --get "$target" --connections 1 --seconds "$seconds"
run_bench lookup-n --phases get --get "$target" --connections "$connections" --seconds "$seconds"

# ---- export -------------------------------------------------------------------
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$cairnd_pid/status"; }
rss_before=$(rss)
peak=$rss_before
curl "${curl_auth[@]}" -D "$work/edl.head" -o "$work/edl.txt" \
  -w '%{time_total} %{size_download}\n' "$url/cairn/v1/export/bench/feed?format=edl" \
  >"$work/edl.curl" &
curl_pid=$!
while kill -0 "$curl_pid" 2>/dev/null; do
  r=$(rss)
  [ -z "$r" ] || [ "$r" -le "$peak" ] || peak=$r
  sleep 0.02
done
wait "$curl_pid" || die "the export failed"
read -r edl_time edl_bytes <"$work/edl.curl"
edl_lines=$(wc -l <"$work/edl.txt")
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$work/edl.head")
again=$(curl "${curl_auth[@]}" -o /dev/null -w '%{http_code} %{time_total}' \
  -H "If-None-Match: $etag" "$url/cairn/v1/export/bench/feed?format=edl")

printf '\nCairn lookup and export (LMDB, %s indicators + %s in the exported collection)\n' \
  "$indicators" "$export_values"
printf '  lookup, 1 connection:   %s req/s, p50 %s ms, p99 %s ms (%s matches)\n' \
  "$(calc "$(phase_field lookup-1 requests_per_second)" 0)" "$(phase_field lookup-1 p50)" \
  "$(phase_field lookup-1 p99)" "$matches"
printf '  lookup, %s connections: %s req/s, p50 %s ms, p99 %s ms\n' "$connections" \
  "$(calc "$(phase_field lookup-n requests_per_second)" 0)" "$(phase_field lookup-n p50)" \
  "$(phase_field lookup-n p99)"
printf '  EDL export: %s lines, %s bytes in %s s; cairnd RSS %s MiB before, peak %s MiB\n' \
  "$edl_lines" "$edl_bytes" "$edl_time" "$(calc "$rss_before / 1024" 1)" "$(calc "$peak / 1024" 1)"
printf '  EDL again with If-None-Match: %s\n' "$again"
