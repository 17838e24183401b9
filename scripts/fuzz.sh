#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (default 20): see tests/fuzz/run.sh.
#   scripts/fuzz.sh 20                     CI
#   CAIRN_FUZZ_JOBS=2 scripts/fuzz.sh 3600 long run, two processes per target
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash tests/fuzz/run.sh "${1:-20}" "${@:2}"
