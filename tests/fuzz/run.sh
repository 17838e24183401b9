#!/usr/bin/env bash
# Builds the libFuzzer targets (clang++-16, ASan + UBSan) and runs each for
# SECONDS (default 30). Seeds: the shared STIX corpus and tests/fuzz/seeds;
# the growing corpora live in the build dir. A crash stops with exit 1 and
# leaves the input under BUILD/fuzz-artifacts/ (add it as a regression case in
# tests/fuzz/regressions/<target>/ once fixed).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#   CAIRN_FUZZ_BUILD=dir   build dir (default build-fuzz)
#   CAIRN_FUZZ_JOBS=N      parallel fuzzing processes per target (default 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
shift || true
build=${CAIRN_FUZZ_BUILD:-build-fuzz}
jobs=${CAIRN_FUZZ_JOBS:-1}
corpus_dir=${CAIRN_CORPUS_DIR:-$(pwd)/../shared/corpus}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_http_request fuzz_envelope fuzz_query fuzz_credentials fuzz_tlp)

cxx=$(command -v clang++-16 || true)
if [ -z "$cxx" ] || [ ! -e /usr/lib/llvm-16/lib/clang/16/lib/linux/libclang_rt.fuzzer-x86_64.a ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "fuzz: installing clang-16 and libclang-rt-16-dev (Debian 12)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends clang-16 libclang-rt-16-dev >/dev/null ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        clang-16 libclang-rt-16-dev >/dev/null; }
    cxx=$(command -v clang++-16)
  else
    echo "fuzz: needs clang++-16 and libclang-rt-16-dev" >&2
    exit 1
  fi
fi

# shellcheck disable=SC2086 # CAIRN_CMAKE_ARGS is a list of options
cmake --preset fuzz -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCAIRN_CORPUS_DIR="$corpus_dir" \
  ${CAIRN_CMAKE_ARGS:-} >/dev/null
ninja -C "$build" -j"$(nproc)" "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
status=0
for t in "${targets[@]}"; do
  work="$build/fuzz-corpus/$t"
  mkdir -p "$work"
  seeds=()
  case $t in
    fuzz_envelope|fuzz_tlp) seeds=("$corpus_dir/valid" "$corpus_dir/invalid" "$corpus_dir/taxii") ;;
    fuzz_http_request) seeds=(tests/fuzz/seeds/http) ;;
    fuzz_query) seeds=(tests/fuzz/seeds/query) ;;
    fuzz_credentials) seeds=(tests/fuzz/seeds/credentials) ;;
  esac
  [ -d "tests/fuzz/regressions/$t" ] && seeds+=("tests/fuzz/regressions/$t")
  max_len=4096
  case $t in
    fuzz_envelope|fuzz_tlp) max_len=262144 ;;
    fuzz_http_request) max_len=32768 ;;
  esac
  parallel=()
  [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  echo "== $t for ${seconds}s"
  # The regressions first, one by one: each must pass.
  if [ -d "tests/fuzz/regressions/$t" ]; then
    "$build/tests/fuzz/$t" "tests/fuzz/regressions/$t"/* >"$build/$t.regressions.log" 2>&1 || {
      echo "fuzz: $t fails on a regression input; see $build/$t.regressions.log" >&2
      status=1
      continue
    }
  fi
  if ! "$build/tests/fuzz/$t" "$work" "${seeds[@]}" "${dict[@]}" -max_total_time="$seconds" \
      -max_len="$max_len" -timeout=20 -rss_limit_mb=2560 "${parallel[@]}" \
      -print_final_stats=1 -artifact_prefix="$artifacts/$t-" >"$build/$t.log" 2>&1; then
    echo "fuzz: $t found a problem; input in $artifacts, log $build/$t.log" >&2
    tail -40 "$build/$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added|cov:" "$build/$t.log" | tail -3
  fi
done
exit $status
