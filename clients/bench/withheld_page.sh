#!/usr/bin/env bash
# What a withheld collection costs a partner, end to end: starts cairnd on
# 127.0.0.1 (temporary folder, generated certificate), publishes OBJECTS
# TLP:RED indicators (batches of 1,000) into collection "vault" as a red
# account, then has a green account GET the objects page of "vault" and of
# the empty collection "void" on one keep-alive connection for 5 s each with
# cairn-bench. Prints each body, the latency and the server CPU (ticks of
# 10 ms) the phase took.
#
# MODE mixed (issue 15, target 5: a green partner paging a collection where
# 90% is RED costs no more per delivered object than a red partner): every
# tenth indicator of "vault" is TLP:GREEN, the rest TLP:RED; the green
# partner and a red reader each GET the first objects page of "vault" (1,000
# objects, match[version]=last) for 5 s, and the script prints, for each,
# the objects delivered and the server CPU per delivered object (from the
# ticks of /proc/PID/stat around the phase), and the ratio green/red.
#
# Usage: clients/bench/withheld_page.sh CAIRND CAIRN_BENCH [OBJECTS (default 200000)] [MODE]
#   MODE: withheld (default) or mixed
# Needs curl, openssl, python3.
set -euo pipefail
cairnd=$1; bench=$2; objects=${3:-200000}; mode=${4:-withheld}
case $mode in withheld|mixed) ;; *) echo "MODE: withheld or mixed" >&2; exit 2 ;; esac
work=$(mktemp -d /tmp/cairn-e2e-XXXXXX)
pid=""
cleanup() { [ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/server.key" -out "$work/server.pem" 2>/dev/null
pw=$(openssl rand -hex 24)
hash=$(printf '%s\n' "$pw" | "$cairnd" hash-secret)
cat >"$work/cairn.json" <<EOF
{
  "listen": "127.0.0.1:0", "data_dir": "data",
  "tls": { "cert": "server.pem", "key": "server.key" },
  "limits": { "max_content_length": 10485760, "page_size": 1000, "max_connections": 4096,
              "request_timeout_s": 60, "idle_timeout_s": 60, "requests_per_second": 0 },
  "discovery": { "title": "e2e", "default": "bench" },
  "api_roots": { "bench": { "title": "b", "collections": [
      { "id": "$(cat /proc/sys/kernel/random/uuid)", "title": "Vault", "alias": "vault", "default_tlp": "red" },
      { "id": "$(cat /proc/sys/kernel/random/uuid)", "title": "Void", "alias": "void", "default_tlp": "red" } ] } },
  "accounts": [
    { "name": "owner", "password_hash": "$hash", "read": ["*"], "write": ["*"], "clearance": "red" },
    { "name": "partner", "password_hash": "$hash", "read": ["*"], "write": [], "clearance": "green" },
    { "name": "reader", "password_hash": "$hash", "read": ["*"], "write": [], "clearance": "red" } ]
}
EOF
"$cairnd" serve --config "$work/cairn.json" 2>"$work/cairnd.log" </dev/null &
pid=$!
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$work/cairnd.log" | head -1)
  [ -z "$port" ] || break; sleep 0.05
done
url=https://127.0.0.1:$port/taxii2/
export CAIRN_PASSWORD=$pw
python3 - "$work" "$objects" "$mode" <<'PY'
import json, sys, uuid
work, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
for b in range((n + 999) // 1000):
    objs = []
    for i in range(min(1000, n - b * 1000)):
        level = green if mode == "mixed" and i % 10 == 0 else red
        objs.append({"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                     "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
                     "pattern_type": "stix", "pattern": "[ipv4-addr:value = '198.51.100.1']",
                     "valid_from": "2026-11-01T00:00:00Z", "description": "x" * 500,
                     "object_marking_refs": [level]})
    open(f"{work}/env-{b}.json", "w").write(json.dumps({"objects": objs}, separators=(",", ":")))
PY
for f in "$work"/env-*.json; do
  curl -s --cacert "$work/server.pem" -u owner:$pw -H 'Accept: application/taxii+json;version=2.1' \
    -H 'Content-Type: application/taxii+json;version=2.1' --data-binary @"$f" \
    "https://127.0.0.1:$port/bench/collections/vault/objects/" -o /dev/null -w '%{http_code} ' | grep -v 202 || true
  rm -f "$f"
done
echo "owner sees: $(curl -s --cacert "$work/server.pem" -u owner:$pw -H 'Accept: application/taxii+json;version=2.1' "https://127.0.0.1:$port/bench/collections/vault/manifest/?limit=1" -D - -o /dev/null | grep -i date-added-first)"
ticks() { local t=0; for p in $pid; do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
if [ "$mode" = mixed ]; then
  path=/bench/collections/vault/objects/
  for who in partner reader; do
    # The page is the same on every request: its objects, counted once.
    curl -s --cacert "$work/server.pem" -u "$who:$pw" -H 'Accept: application/taxii+json;version=2.1' \
      "https://127.0.0.1:$port$path" -o "$work/page-$who.json"
    t0=$(ticks)
    "$bench" --url "$url" --cacert "$work/server.pem" --user "$who" --phases get --get "$path" \
      --connections 1 --seconds 5 --json > "$work/get-$who.json" 2>/dev/null
    t1=$(ticks)
    echo "$((t1 - t0))" > "$work/ticks-$who"
  done
  python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
tick_ms = 10
per = {}
for who, label in (("partner", "green partner"), ("reader", "red reader")):
    d = json.load(open(f"{work}/get-{who}.json"))
    g = [p for p in d["phases"] if p["phase"] == "get"][0]
    ticks = int(open(f"{work}/ticks-{who}").read())
    per_page = len(json.load(open(f"{work}/page-{who}.json")).get("objects", []))
    pages = g["requests"] - g["errors"]
    objects = pages * per_page
    us = ticks * tick_ms * 1000 / objects if objects else float("nan")
    per[who] = us
    print(f"{label}: {pages} pages of {per_page} objects, {objects} objects delivered, "
          f"{ticks * tick_ms} ms server CPU, {us:.3f} us/object, "
          f"{ticks * tick_ms / pages if pages else float('nan'):.2f} ms/page")
print(f"green/red server CPU per delivered object: {per['partner'] / per['reader']:.2f}")
PY
  exit 0
fi
for col in vault void; do
  path=/bench/collections/$col/objects/
  curl -s --cacert "$work/server.pem" -u partner:$pw -H 'Accept: application/taxii+json;version=2.1' \
    "https://127.0.0.1:$port$path" -D "$work/h" -o "$work/b"
  t0=$(ticks)
  "$bench" --url "$url" --cacert "$work/server.pem" --user partner --phases get --get "$path" \
    --connections 1 --seconds 5 --json > "$work/get-$col.json" 2>/dev/null
  t1=$(ticks)
  python3 - "$work/get-$col.json" "$col" "$work/b" "$((t1 - t0))" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
g = [p for p in d["phases"] if p["phase"] == "get"][0]
body = open(sys.argv[3]).read()
print(sys.argv[2], "body", body[:40], "ticks", sys.argv[4], json.dumps(g)[:600])
PY
done
