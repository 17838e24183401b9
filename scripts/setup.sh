#!/usr/bin/env bash
# Installs everything Cairn needs to build, test and run on Debian 12 (as root).
# postgresql-15 is for the tests and the benchmark of the PostgreSQL backend:
# they run their own throw-away clusters (tests/support/pg_cluster.sh), not
# the package's system one.
# prometheus gives promtool (the metrics format check) and the server that an
# integration test runs against cairnd's metrics listener; the tests start
# their own instance, so the package's service is stopped and disabled.
set -euo pipefail
packages=(
  build-essential g++ cmake ninja-build pkg-config
  libboost-dev libssl-dev openssl liblmdb-dev lmdb-utils rapidjson-dev catch2
  libpq-dev postgresql-15
  prometheus
  ca-certificates curl
  clang-format-16 clang-tidy-16
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q "install ok installed" &&
  [ "$(id -u)" -eq 0 ]; then
  # Best effort: without a running systemd (containers) there is nothing to
  # stop, but the unit is still disabled so that a later boot does not start it.
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable prometheus >/dev/null 2>&1 || true
    systemctl stop prometheus >/dev/null 2>&1 || true
  fi
  if [ -x /etc/init.d/prometheus ]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
fi
