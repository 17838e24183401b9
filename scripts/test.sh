#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs everything CI runs:
#   1. an optimised build and the whole test suite under ctest, then the
#      clang-format check and clang-tidy over the product code (scripts/lint.sh),
#   2. the short forms of the reliability runs that need builds of their own:
#      the concurrent publish/pull stress test under ThreadSanitizer
#      (scripts/tsan.sh) and every libFuzzer target for CAIRN_FUZZ_SECONDS
#      (default 30) each (scripts/fuzz.sh),
#   3. a build with AddressSanitizer + UndefinedBehaviorSanitizer and the whole
#      test suite again under ctest.
# Each ctest run starts its own PostgreSQL cluster for the tests that need
# one (as an unprivileged user, on a free 127.0.0.1 port, in a folder of the
# build tree) and stops it at the end, also when tests fail.
# Every build comes from a preset of CMakePresets.json (warnings are errors).
# Ends with ctest's summary; exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The tests of the PostgreSQL backend run against a real PostgreSQL 15 that a
# ctest fixture starts (tests/support/pg_cluster.sh). setup.sh installed it:
# here a missing PostgreSQL is a failure, not a skip.
export CAIRN_REQUIRE_PG=1
# The same for promtool and the Prometheus server of the metrics tests
# (tests/integration/metrics_test.cpp): setup.sh installed them.
export CAIRN_REQUIRE_PROMETHEUS=1
# The same for node, Chromium and puppeteer-core of the console's browser
# tests (tests/console/browser_test.mjs).
export CAIRN_REQUIRE_BROWSER=1

# Line tables only (-g1): sanitizer reports keep file and line, and the builds
# are about a third faster than with full -g.
export CAIRN_CMAKE_ARGS="-DCAIRN_LINE_TABLES=ON ${CAIRN_CMAKE_ARGS:-}"

echo "== optimised build"
bash scripts/build.sh build
(cd build && ctest --output-on-failure -j2 --timeout 600)

echo "== clang-format and clang-tidy"
# A finding fails the run at the end, after the other steps had their say.
lint_status=0
bash scripts/lint.sh build || lint_status=1

echo "== ThreadSanitizer: concurrent publish/pull stress"
bash scripts/tsan.sh

echo "== libFuzzer: every target for ${CAIRN_FUZZ_SECONDS:-30} s"
bash scripts/fuzz.sh "${CAIRN_FUZZ_SECONDS:-30}"

echo "== ASan + UBSan build"
CAIRN_PRESET=asan bash scripts/build.sh build-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j2 --timeout 900)
[ $lint_status -eq 0 ] || { echo "test: clang-format or clang-tidy found problems (above)" >&2; exit 1; }
