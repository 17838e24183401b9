#!/usr/bin/env bash
# Configures and builds one build tree: scripts/build.sh DIR [cmake options...]
# CAIRN_CMAKE_ARGS: more cmake options, for every build tree of a run.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
# shellcheck disable=SC2086 # CAIRN_CMAKE_ARGS is a list of options
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CAIRN_CMAKE_ARGS:-} "$@" >/dev/null
ninja -C "$dir" -j"$(nproc)"
