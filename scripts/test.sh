#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Cairn twice (optimised, and with
# AddressSanitizer + UndefinedBehaviorSanitizer) and runs the whole test suite
# on each. Ends with ctest's summary; exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== optimised build"
bash scripts/build.sh build
(cd build && ctest --output-on-failure -j2 --timeout 600)

echo "== ASan + UBSan build"
bash scripts/build.sh build-asan -DCAIRN_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-asan && ctest --output-on-failure -j2 --timeout 900
