#!/usr/bin/env bash
# Catch2's catch_discover_tests splits a test case name at ';' (CMake's list
# separator): such a test becomes two ctest entries whose filters match
# nothing, which run no assertion and count as passed. Refuse them.
#   tests/test_names.sh SOURCE_DIR
set -euo pipefail
cd "$1/tests"
bad=$(grep -rnE --include='*.cpp' 'TEST_CASE\("[^"]*;' . || true)
if [ -n "$bad" ]; then
  echo "test names with ';' (ctest would run nothing for them):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "no test case name holds ';'"
