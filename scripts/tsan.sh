#!/usr/bin/env bash
# Builds cairnd and the stress test with ThreadSanitizer (build-tsan) and runs
# the concurrent publish/pull/reload stress test. Any report, from the test
# process or from cairnd (whose stderr the test reads), fails the run.
#   scripts/tsan.sh            short form
#   CAIRN_LONG=1 scripts/tsan.sh   long form (200 requests per publisher)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CAIRN_TSAN_BUILD:-build-tsan}
# shellcheck disable=SC2086 # CAIRN_CMAKE_ARGS is a list of options
cmake --preset tsan -B "$build" ${CAIRN_CMAKE_ARGS:-} >/dev/null
ninja -C "$build" -j"$(nproc)" cairnd stress_tests storage_fault_tests
# The options reach cairnd too (the test forks it): either process stops at
# its first report; the test reads cairnd's reports from its log.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
"$build/tests/integration/stress_tests"
"$build/tests/storage/storage_fault_tests"
