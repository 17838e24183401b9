#!/usr/bin/env bash
# Pull throughput with the sharing record written before each response (the
# production rule: a page leaves only once its record is durable) against the
# same load with the record written after the response (the benchmark switch
# CAIRN_BENCH_AUDIT_AFTER_RESPONSE=1, never for production). Figures only.
#
#   tests/integration/audit_pull_bench.sh [--build-dir DIR] [--objects N]
#                                         [--pullers C] [--page L] [--rounds R]
#
# Starts cairnd on 127.0.0.1 in a temporary folder with a generated
# certificate and one account, publishes N synthetic indicators with
# cairn-bench, then runs the pull phase R times in each mode, alternating
# (record-first, record-after, ...), restarting cairnd for each run.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$repo/build
objects=20000
pullers=64
page=1000
rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --objects) objects=$2; shift 2 ;;
    --pullers) pullers=$2; shift 2 ;;
    --page) page=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
  esac
done
cairnd=$build_dir/server/cairnd
bench=$build_dir/clients/cairn-bench
dir=$(mktemp -d /tmp/cairn-audit-pull-XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
password=bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf '%s' "$password" > "$dir/password"
hash=$(printf '%s\n' "$password" | "$cairnd" hash-secret)
cat > "$dir/cairn.json" <<EOF
{
  "listen": "127.0.0.1:0", "data_dir": "data",
  "tls": { "cert": "cert.pem", "key": "key.pem" },
  "limits": { "requests_per_second": 0, "page_size": $page, "max_connections": 1024 },
  "discovery": { "title": "audit bench", "default": "bench" },
  "api_roots": { "bench": { "title": "bench", "collections": [
    { "id": "6a1c0e2f-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "title": "Indicators",
      "alias": "indicators", "default_tlp": "green" } ] } },
  "accounts": [ { "name": "bench", "password_hash": "$hash", "read": ["*"], "write": ["*"],
                  "clearance": "red" } ]
}
EOF

start() {  # $1: "after" for the benchmark switch
  : > "$dir/cairnd.log"
  if [ "${1:-}" = after ]; then
    CAIRN_BENCH_AUDIT_AFTER_RESPONSE=1 "$cairnd" serve --config "$dir/cairn.json" 2>"$dir/cairnd.log" &
  else
    "$cairnd" serve --config "$dir/cairn.json" 2>"$dir/cairnd.log" &
  fi
  pid=$!
  for _ in $(seq 200); do
    port=$(grep -o '"msg":"listening".*"port":[0-9]*' "$dir/cairnd.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "cairnd did not start" >&2; cat "$dir/cairnd.log" >&2; exit 1
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
run_bench() {  # $1: phases, $2: report file
  "$bench" --url "https://127.0.0.1:$port/taxii2/" --cacert "$dir/cert.pem" --user bench \
    --password-file "$dir/password" --collection indicators --phases "$1" \
    --objects "$objects" --publishers 4 --batch 1000 --pullers "$pullers" --page "$page" \
    --seed 7 --json --out "$2" > /dev/null
}
rate() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); p=[x for x in r["phases"] if x["phase"]=="pull"][0]; print(p["objects_per_second"])' "$1"; }

start
run_bench publish "$dir/publish.json"
stop
echo "published $objects indicators; pulling with $pullers partners, pages of $page"
first=()
after=()
for r in $(seq "$rounds"); do
  start
  run_bench pull "$dir/first-$r.json"
  stop
  first+=("$(rate "$dir/first-$r.json")")
  start after
  run_bench pull "$dir/after-$r.json"
  stop
  after+=("$(rate "$dir/after-$r.json")")
  echo "round $r: record before the response ${first[-1]} objects/s, after it ${after[-1]} objects/s"
done
python3 - "${first[@]}" -- "${after[@]}" <<'EOF'
import sys
a = sys.argv[1:]
i = a.index("--")
first, after = [float(x) for x in a[:i]], [float(x) for x in a[i + 1:]]
f, g = sum(first) / len(first), sum(after) / len(after)
print(f"mean: record first {f:.0f} objects/s, record after {g:.0f} objects/s, ratio {f / g:.1%}")
EOF
"$cairnd" audit verify --data "$dir/data"
