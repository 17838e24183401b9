#!/usr/bin/env bash
# The architecture as a test, from the sources' #include lines:
#  1. no include cycle among the project's files (tsort finds loops);
#  2. the layers: formats <- storage <- server, formats <- clients; and inside
#     server/ its parts, each using only those before it:
#     config <- metrics <- transport <- auth <- monitor <- api <- app;
#  3. no LMDB or libpq type reaches server/: no header that a server/ file
#     includes, directly or through other headers, mentions lmdb or libpq
#     (only the seam, storage/store.hpp, and the backends' headers free of
#     them: lmdb_store.hpp, postgres_store.hpp).
# Usage: tests/layering.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

failures=0
fail() {
  echo "layering: $*" >&2
  failures=$((failures + 1))
}

mapfile -t files < <(git ls-files -- 'formats/*.[ch]pp' 'storage/*.[ch]pp' 'server/*.[ch]pp' \
  'clients/*.[ch]pp' 2>/dev/null || find formats storage server clients -name '*.[ch]pp')

# Edges "file included-file" for the project's own headers.
edges=$(for f in "${files[@]}"; do
  grep -oE '^#include "(formats|storage|server|clients)/[^"]+"' "$f" |
    sed -E 's/^#include "(.*)"/\1/' | while read -r inc; do echo "$f $inc"; done
done)

# 1. Cycles, at the level of modules (a header and its .cpp are one node).
module_edges=$(echo "$edges" | sed -E 's/\.(c|h)pp( |$)/\2/g' | awk '$1 != $2')
if ! loops=$(echo "$module_edges" | tsort 2>&1 >/dev/null) || [ -n "$loops" ]; then
  fail "include cycle: $loops"
fi

# 2. Layers. rank of a path: its top folder, and for server/ its part.
rank() {
  case "$1" in
    formats/*) echo 0 ;;
    storage/*) echo 1 ;;
    clients/*) echo 1 ;;
    server/config/*) echo 2 ;;
    server/metrics/*) echo 3 ;;
    server/transport/*) echo 4 ;;
    server/auth/*) echo 5 ;;
    server/monitor/*) echo 6 ;;
    server/api/*) echo 7 ;;
    server/app/*) echo 8 ;;
    server/*) echo 9 ;;  # a file outside the parts
    *) echo 9 ;;
  esac
}
while read -r from to; do
  [ -n "$from" ] || continue
  rf=$(rank "$from")
  rt=$(rank "$to")
  if [ "$rf" = 9 ]; then fail "$from is outside the server parts (config, metrics, transport, auth, monitor, api, app)"; fi
  case "$from:$to" in
    clients/*:storage/* | clients/*:server/* | storage/*:clients/* | storage/*:server/*)
      fail "$from includes $to (clients and storage use formats only)"
      continue
      ;;
  esac
  if [ "$rt" -gt "$rf" ]; then fail "$from includes $to, a later layer"; fi
done <<<"$edges"

# 3. What server/ sees of storage.
declare -A seen=()
queue=()
while read -r from to; do
  case "$from:$to" in server/*:storage/*) queue+=("$to") ;; esac
done <<<"$edges"
while [ ${#queue[@]} -gt 0 ]; do
  h=${queue[0]}
  queue=("${queue[@]:1}")
  [ -z "${seen[$h]:-}" ] || continue
  seen[$h]=1
  if grep -qE 'lmdb::|MDB_[A-Za-z]|<lmdb\.h>|"storage/lmdb\.hpp"' "$h"; then
    fail "server/ sees $h, which holds an LMDB type"
  fi
  if grep -qE 'PG(conn|result)|\bpg_(conn|result)\b|libpq-fe\.h|pq::|"storage/pg/' "$h"; then
    fail "server/ sees $h, which holds a libpq type"
  fi
  while read -r inc; do
    case "$inc" in storage/*) queue+=("$inc") ;; esac
  done < <(grep -oE '^#include "storage/[^"]+"' "$h" | sed -E 's/^#include "(.*)"/\1/')
done

if [ "$failures" -gt 0 ]; then
  echo "layering: $failures problem(s)" >&2
  exit 1
fi
echo "layering: ${#files[@]} files, no cycle, layers kept, server/ sees no LMDB or libpq type"
