#!/usr/bin/env bash
# Instructions cairnd executes per request, counted by valgrind's callgrind:
# a figure that, unlike rates and CPU time, a busy or shared machine does not
# distort, for comparing two builds (before/after a change).
#   clients/bench/instructions.sh [BUILD_DIR]     (default: build-bench)
# Starts cairnd under callgrind on 127.0.0.1 (own temporary folder and
# certificate), publishes 5,000 synthetic indicators, then counts the
# instructions of 15 s of 1,000-object GET objects pages and of 15 s of
# discovery requests (counters zeroed before, dumped after each), divided by
# the requests cairn-bench completed. CAIRN_INSTR_PHASES (default
# "page discovery") may add apiroot and collection: 15 s each of GET on the
# API root and on the collection resource, like discovery. Needs valgrind,
# openssl, a built cairnd and cairn-bench.
set -euo pipefail
b=${1:-build-bench}
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cairnd=$b/server/cairnd; bench=$b/clients/cairn-bench
work=$(mktemp -d /tmp/instr-XXXXXX); trap 'kill $pid 2>/dev/null; rm -rf $work' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout $work/server.key -out $work/server.pem 2>/dev/null
password=$(openssl rand -hex 24)
hash=$(printf '%s\n' "$password" | $cairnd hash-secret)
cid=$(cat /proc/sys/kernel/random/uuid)
cat > $work/cairn.json <<EOF
{"listen": "127.0.0.1:0", "data_dir": "data", "tls": {"cert": "server.pem", "key": "server.key"},
 "limits": {"max_content_length": 10485760, "page_size": 1000, "max_connections": 4096, "requests_per_second": 0, "request_timeout_s": 120},
 "discovery": {"title": "b", "default": "bench"},
 "api_roots": {"bench": {"title": "b", "collections": [{"id": "$cid", "title": "I", "alias": "indicators"}]}},
 "accounts": [{"name": "bench", "password_hash": "$hash", "read": ["*"], "write": ["*"], "clearance": "red"}]}
EOF
cd $work
valgrind --tool=callgrind --callgrind-out-file=$work/cg.%p --collect-atstart=yes $cairnd serve --config $work/cairn.json 2>$work/log </dev/null & pid=$!
for _ in $(seq 1 600); do port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' $work/log | head -1); [ -z "$port" ] || break; sleep 0.1; done
export CAIRN_PASSWORD=$password
url=https://127.0.0.1:$port/taxii2/
$bench --cacert $work/server.pem --user bench --url $url --phases publish --objects 5000 --publishers 1 --batch 1000 --json --out $work/p.json > $work/p.out 2>&1 || { tail -3 $work/p.out; exit 1; }
for phase in ${CAIRN_INSTR_PHASES:-page discovery}; do
  case $phase in
    page) args=(--phases get --get /bench/collections/$cid/objects/?limit=1000 --connections 2 --seconds 15) ;;
    discovery) args=(--phases discovery --discovery-path /taxii2/ --connections 4 --seconds 15) ;;
    apiroot) args=(--phases get --get /bench/ --connections 4 --seconds 15) ;;
    collection) args=(--phases get --get /bench/collections/$cid/ --connections 4 --seconds 15) ;;
    *) echo "instructions.sh: unknown phase $phase (page, discovery, apiroot, collection)" >&2; exit 2 ;;
  esac
  callgrind_control -z $pid >/dev/null
  $bench --cacert $work/server.pem --user bench --url $url "${args[@]}" --json --out $work/$phase.json >/dev/null
  rm -f $work/cg.$pid.*
  callgrind_control -d $phase $pid >/dev/null
  sleep 1
  f=$(ls $work/cg.$pid.* | tail -1)
  ir=$(grep '^summary:' $f | awk '{print $2}')
  reqs=$(grep -o '"requests":[0-9]*' $work/$phase.json | head -1 | cut -d: -f2)
  echo "$phase: $reqs requests, $((ir / reqs)) instructions/request"
done
