#!/usr/bin/env bash
# Configures and builds one build tree from a preset of CMakePresets.json:
#   scripts/build.sh DIR [cmake options...]
# CAIRN_PRESET: the configure preset (default dev; asan, tsan, fuzz, bench).
# CAIRN_CMAKE_ARGS: more cmake options, for every build tree of a run.
# Warnings are errors (the presets set CMAKE_COMPILE_WARNING_AS_ERROR).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
# shellcheck disable=SC2086 # CAIRN_CMAKE_ARGS is a list of options
cmake --preset "${CAIRN_PRESET:-dev}" -B "$dir" ${CAIRN_CMAKE_ARGS:-} "$@" >/dev/null
ninja -C "$dir" -j"$(nproc)"
