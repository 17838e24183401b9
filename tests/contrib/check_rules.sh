#!/usr/bin/env bash
# contrib/prometheus-alerts.yml passes `promtool check rules`, and each rule
# fires on its pattern and stays quiet otherwise (`promtool test rules` with
# prometheus-alerts.test.yml). Without promtool (Debian's prometheus package)
# the test says so and is skipped (exit 4), unless CAIRN_REQUIRE_PROMETHEUS=1.
# Usage: check_rules.sh SOURCE_DIR
set -euo pipefail
src=$1
if ! command -v promtool >/dev/null; then
  echo "SKIPPED: promtool is not installed (apt-get install prometheus)" >&2
  [ "${CAIRN_REQUIRE_PROMETHEUS:-0}" = 1 ] && exit 1
  exit 4
fi
promtool check rules "$src/contrib/prometheus-alerts.yml"
cd "$src/tests/contrib"
promtool test rules prometheus-alerts.test.yml
