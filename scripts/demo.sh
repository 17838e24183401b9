#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Cairn and runs `cairnd demo`.
# Extra arguments go to `cairnd demo` (e.g. --port 9443 --dir /tmp/cairn-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build -DCAIRN_BUILD_TESTS=OFF
exec ./build/server/cairnd demo "$@"
