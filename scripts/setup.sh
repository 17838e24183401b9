#!/usr/bin/env bash
# Installs everything Cairn needs to build, test and run on Debian 12 (as root).
# postgresql-15 is for the tests and the benchmark of the PostgreSQL backend:
# they run their own throw-away clusters (tests/support/pg_cluster.sh), not
# the package's system one.
# prometheus gives promtool (the metrics format check) and the server that an
# integration test runs against cairnd's metrics listener; the tests start
# their own instance, so the package's service is stopped and disabled.
# chromium and Node run the console's browser tests (tests/console), with
# puppeteer-core from npm at the version pinned in tests/console/package-lock.json
# (it drives the Debian browser and downloads none). Debian's nodejs (18) is
# installed only when there is no node at all: a machine with Node 20 keeps it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
packages=(
  build-essential g++ cmake ninja-build pkg-config
  libboost-dev libssl-dev openssl liblmdb-dev lmdb-utils rapidjson-dev catch2
  libpq-dev postgresql-15
  prometheus
  ca-certificates curl
  clang-format-16 clang-tidy-16
  chromium
)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
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

# puppeteer-core for the browser tests: again whenever the lock file changed
# since the last install (its hash is kept next to the modules).
console="$root/tests/console"
lock_hash=$(sha256sum "$console/package-lock.json" | cut -d' ' -f1)
if [ ! -d "$console/node_modules/puppeteer-core" ] ||
  [ "$(cat "$console/node_modules/.cairn-lock-sha256" 2>/dev/null)" != "$lock_hash" ]; then
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$console" --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_hash" >"$console/node_modules/.cairn-lock-sha256"
fi
