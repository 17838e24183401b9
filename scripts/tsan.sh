#!/usr/bin/env bash
# Builds cairnd and the stress test with ThreadSanitizer (build-tsan) and runs
# the concurrent publish/pull/reload stress test, the injected commit faults,
# and the store contract on every backend (PostgreSQL's on a cluster of its
# own, tests/support/pg_cluster.sh). Any report, from the test process or
# from cairnd (whose stderr the test reads), fails the run.
#   scripts/tsan.sh            short form
#   CAIRN_LONG=1 scripts/tsan.sh   long form (200 requests per publisher)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CAIRN_TSAN_BUILD:-build-tsan}
# shellcheck disable=SC2086 # CAIRN_CMAKE_ARGS is a list of options
cmake --preset tsan -B "$build" ${CAIRN_CMAKE_ARGS:-} >/dev/null
ninja -C "$build" -j"$(nproc)" cairnd stress_tests storage_fault_tests store_contract_tests
# The options reach cairnd too (the test forks it): either process stops at
# its first report; the test reads cairnd's reports from its log.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
"$build/tests/integration/stress_tests"
"$build/tests/storage/storage_fault_tests"

# The store contract on every backend, the PostgreSQL store's writer thread
# and pool included, against a cluster of this run's own (stopped on exit).
pg_dir=$build/pg-cluster
trap 'bash tests/support/pg_cluster.sh remove "$pg_dir" >/dev/null 2>&1 || true' EXIT
pg_status=0
bash tests/support/pg_cluster.sh setup "$pg_dir" >/dev/null || pg_status=$?
if [ $pg_status -eq 4 ]; then
  echo "tsan.sh: no PostgreSQL: the store contract runs without its PostgreSQL cases" >&2
elif [ $pg_status -ne 0 ]; then
  echo "tsan.sh: the PostgreSQL cluster did not start" >&2
  exit 1
fi
CAIRN_TEST_PG_FILE=$pg_dir/conninfo "$build/tests/storage/store_contract_tests"
