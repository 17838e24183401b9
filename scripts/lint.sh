#!/usr/bin/env bash
# Static checks of the product code (formats/, storage/, server/, clients/):
#   1. clang-format: every C++ file of the repository is formatted as
#      .clang-format says (lists the files that are not, fails);
#   2. clang-tidy with the repository's .clang-tidy, over the product sources
#      of an optimised build's compile database (default build/, made by
#      scripts/build.sh), two files at a time.
#   scripts/lint.sh [BUILD_DIR]
#   CAIRN_LINT_ONLY=format|tidy   run one of the two
# Both tools are Debian 12's clang 16 (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
only=${CAIRN_LINT_ONLY:-}
status=0
for tool in clang-format-16 clang-tidy-16; do
  command -v "$tool" >/dev/null || { echo "lint: needs $tool (scripts/setup.sh installs it)" >&2; exit 1; }
done

if [ "$only" != tidy ]; then
  echo "== clang-format"
  mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
  mapfile -t unformatted < <(clang-format-16 --dry-run "${files[@]}" 2>&1 |
    sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: warning: code should be clang-formatted.*/\1/p' | sort -u)
  if [ ${#unformatted[@]} -gt 0 ]; then
    echo "lint: not formatted (clang-format-16 -i FILE):" >&2
    printf '  %s\n' "${unformatted[@]}" >&2
    status=1
  fi
fi

if [ "$only" != format ]; then
  echo "== clang-tidy"
  [ -f "$build/compile_commands.json" ] ||
    { echo "lint: no $build/compile_commands.json; run scripts/build.sh $build first" >&2; exit 1; }
  # The database is g++'s: clang 16 spells C++23 -std=c++2b and cannot read
  # g++'s precompiled headers (the sources include what they use anyway).
  db=$build/clang-tidy
  mkdir -p "$db"
  sed -e 's/-std=c++23/-std=c++2b/g' -e 's# -Winvalid-pch -include [^ ]*cmake_pch\.hxx##g' \
    "$build/compile_commands.json" >"$db/compile_commands.json"
  mapfile -t sources < <(git ls-files 'formats/*.cpp' 'storage/*.cpp' 'server/*.cpp' 'clients/*.cpp')
  # Clang before 19 implements what libstdc++'s <expected> needs but does
  # not announce it (as in the fuzz build).
  if ! printf '%s\n' "${sources[@]}" |
      xargs -P "$(nproc)" -n 1 clang-tidy-16 --quiet -p "$db" --warnings-as-errors='*' \
        --extra-arg=-U__cpp_concepts --extra-arg=-D__cpp_concepts=202002L \
        >"$build/clang-tidy.log" 2>&1; then
    grep -E -A3 "(warning|error):" "$build/clang-tidy.log" >&2 || tail -40 "$build/clang-tidy.log" >&2
    echo "lint: clang-tidy found problems; the whole output is in $build/clang-tidy.log" >&2
    status=1
  fi
fi
exit $status
