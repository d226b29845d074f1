#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in BUILD_DIR and runs each for
# SECONDS, all at once; fails on any crash, sanitizer report, broken
# invariant or timeout. Exit 77 (skipped) without clang or libFuzzer.
#   bash tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET ...]
# TARGET: fuzz_path_rules, fuzz_tree_writer, fuzz_delta, fuzz_digest_plan
# (default: all).
# The corpus grows in BUILD_DIR/corpus/TARGET across runs; crash inputs go
# to BUILD_DIR/artifacts/. ctest's fuzz.short runs this with 15 seconds.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,8p' "$0" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
build=$1
seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_path_rules fuzz_tree_writer fuzz_delta fuzz_digest_plan)

cxx=${LIVESYNC_FUZZ_CXX:-clang++}
if ! command -v "$cxx" >/dev/null; then
  echo "SKIP: $cxx not found (Debian: apt-get install clang libclang-rt-14-dev)"
  exit 77
fi
if [ ! -f "$("$cxx" -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]; then
  echo "SKIP: libFuzzer not found for $cxx (Debian: libclang-rt-14-dev)"
  exit 77
fi

start=$(date +%s)
CXX=$cxx cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE= >/dev/null
cmake --build "$build" -j "${LIVESYNC_JOBS:-$(nproc)}" --target "${targets[@]}" \
  | grep -E "error|warning:" || true
for t in "${targets[@]}"; do
  [ -x "$build/$t" ] || { echo "FAIL: $t did not build"; exit 1; }
done
echo "built ${targets[*]} in $(( $(date +%s) - start )) s"

python3 "$src/seeds.py" "$build/seeds"
mkdir -p "$build/artifacts"
declare -A pids
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  # -timeout: one input running this long is a hang, reported as a crash.
  "$build/$t" "$build/corpus/$t" "$build/seeds/$t" \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 \
    >"$build/$t.log" 2>&1 &
  pids[$t]=$!
done
failed=0
for t in "${targets[@]}"; do
  if wait "${pids[$t]}"; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$t.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$build/$t.log")
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$build/$t.log" | tail -1)
    echo "ok   $t: $runs inputs, $rate/s, $cov"
  else
    failed=1
    echo "FAIL $t (log: $build/$t.log):"
    grep -E "invariant broken|runtime error|ERROR:|SUMMARY|Test unit written" \
      "$build/$t.log" | head -20
  fi
done
echo "total $(( $(date +%s) - start )) s"
exit $failed
