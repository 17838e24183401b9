#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs everything CI runs:
#   1. an optimised build and the whole test suite under ctest,
#   2. the short forms of the reliability runs that need builds of their own:
#      the concurrent publish/pull stress test under ThreadSanitizer
#      (scripts/tsan.sh) and every libFuzzer target for CAIRN_FUZZ_SECONDS
#      (default 30) each (scripts/fuzz.sh),
#   3. a build with AddressSanitizer + UndefinedBehaviorSanitizer and the whole
#      test suite again under ctest.
# Ends with ctest's summary; exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Line tables only (-g1): sanitizer reports keep file and line, and the builds
# are about a third faster than with full -g.
export CAIRN_CMAKE_ARGS="-DCAIRN_LINE_TABLES=ON ${CAIRN_CMAKE_ARGS:-}"

echo "== optimised build"
bash scripts/build.sh build
(cd build && ctest --output-on-failure -j2 --timeout 600)

echo "== ThreadSanitizer: concurrent publish/pull stress"
bash scripts/tsan.sh

echo "== libFuzzer: every target for ${CAIRN_FUZZ_SECONDS:-30} s"
bash scripts/fuzz.sh "${CAIRN_FUZZ_SECONDS:-30}"

echo "== ASan + UBSan build"
bash scripts/build.sh build-asan -DCAIRN_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-asan && ctest --output-on-failure -j2 --timeout 900
