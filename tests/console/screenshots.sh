#!/usr/bin/env bash
# Writes the README's pictures of the console: the auditor's views (history,
# who received, chart, alerts, checkpoint) at 1280x800 as PNGs in
# console/screenshots/, from a fresh `cairnd demo` driven by the browser
# test (which checks everything on the way; every view's screenshot also goes
# to BUILD_DIR/console-screenshots).
#   tests/console/screenshots.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
cairnd="$build/server/cairnd"
[ -x "$cairnd" ] || { echo "screenshots: no $cairnd (ninja -C $build cairnd)" >&2; exit 1; }
export CAIRN_REQUIRE_BROWSER=1
bash "$root/tests/console/run_browser_test.sh" "$cairnd" "$build/console-screenshots" \
  --readme "$root/console/screenshots"
