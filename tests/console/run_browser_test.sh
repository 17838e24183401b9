#!/usr/bin/env bash
# Runs browser_test.mjs for ctest: run_browser_test.sh CAIRND OUT_DIR [more options].
# Without node, Chromium or tests/console/node_modules (scripts/setup.sh
# installs all three) the test is skipped, visibly (exit 77), unless
# CAIRN_REQUIRE_BROWSER=1 (as in CI: scripts/test.sh), where it fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
chromium=${CAIRN_CHROMIUM:-/usr/bin/chromium}
missing() {
  if [ "${CAIRN_REQUIRE_BROWSER:-}" = 1 ]; then
    echo "console browser tests: $1; CAIRN_REQUIRE_BROWSER=1, so this is a failure" >&2
    exit 1
  fi
  echo "SKIPPED: console browser tests: $1 (scripts/setup.sh installs it)"
  exit 77
}
command -v node >/dev/null 2>&1 || missing "node is not installed"
[ -x "$chromium" ] || missing "no Chromium at $chromium"
[ -d "$here/node_modules/puppeteer-core" ] ||
  missing "puppeteer-core is not in $here/node_modules (npm ci --prefix tests/console)"
exec node "$here/browser_test.mjs" --cairnd "$1" --out "$2" --chromium "$chromium" "${@:3}"
