#!/usr/bin/env bash
# Fuzzes ddim's readers with libFuzzer: builds the targets of tests/fuzz with clang,
# AddressSanitizer and UBSan into build-fuzz/ (or $DDIM_FUZZ_BUILD_DIR) and runs each for
# SECONDS (default 60) on its corpus (tests/fuzz/corpus/<target>) and past findings
# (tests/fuzz/regressions/<target>). Prints executions per second, total executions and
# findings per target; exits 1 when a target found a crash, a hang or a memory blow-up (the
# input is saved under build-fuzz/fuzz-findings/<target>/, to be added to regressions/ once fixed).
#
#   scripts/fuzz.sh [SECONDS] [--targets idx,image,cifar,config,tensor,checkpoint,renders,faces,attributes,where]
#   scripts/fuzz.sh --smoke     # 3 seconds each: the ctest test fuzz.libfuzzer
#   scripts/fuzz.sh --corpus    # regenerate tests/fuzz/corpus with fuzz_make_corpus
#
# Needs clang++ and libFuzzer's runtime (Debian: clang, libclang-rt-14-dev; install them with
# `scripts/install-deps.sh --fuzz`). Without them it exits with status 77 (ctest: skipped).
# Run it under `nice` on a shared machine.
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"

seconds=60
targets=(idx image cifar config tensor checkpoint renders faces attributes where)
corpus_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) seconds=3 ;;
    --corpus) corpus_only=1 ;;
    --targets) IFS=, read -r -a targets <<< "$2"; shift ;;
    [0-9]*) seconds="$1" ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (usage: scripts/fuzz.sh [SECONDS] [--smoke] [--corpus] [--targets a,b]; see --help)" ;;
  esac
  shift
done

if ! command -v clang++ > /dev/null; then
  echo "fuzz: skipped: clang++ is not installed (scripts/install-deps.sh --fuzz installs it)"
  exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' > "$probe/p.cpp"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2> "$probe/err"; then
  echo "fuzz: skipped: clang++ cannot link libFuzzer (Debian: libclang-rt-14-dev; scripts/install-deps.sh --fuzz):"
  head -3 "$probe/err"
  exit 77
fi

build="${DDIM_FUZZ_BUILD_DIR:-build-fuzz}"
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja > /dev/null; then generator=(-G Ninja); fi
mkdir -p "$build"
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ -DDDIM_FUZZ=ON \
  > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

if [ "$corpus_only" = 1 ]; then
  rm -rf tests/fuzz/corpus
  "$build/tests/fuzz/fuzz_make_corpus" tests/fuzz/corpus
  exit 0
fi

# LibTorch is not instrumented; its allocations at start-up that live until exit are not leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
rows=()
failed=0
for t in "${targets[@]}"; do
  work="$build/fuzz-work/$t"
  mkdir -p "$work"
  inputs=("tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regressions/$t" ] && inputs+=("tests/fuzz/regressions/$t")
  # Findings go beside the corpus, not into it; only this run's count (older ones may be fixed).
  found="$build/fuzz-findings/$t"
  mkdir -p "$found"
  touch "$probe/start"
  log="$build/fuzz-work/$t.log"
  echo "fuzz: $t for ${seconds} s"
  status=0
  # -rss_limit_mb: a reader that takes over 2 GB on these inputs is a finding (a memory blow-up).
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$found/" "$work" "${inputs[@]}" > "$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  findings=$(find "$found" -maxdepth 1 -newer "$probe/start" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  if [ "$status" != 0 ] || [ "$findings" != 0 ]; then
    failed=1
    grep -E 'ERROR|FUZZ FINDING|runtime error|Test unit written' "$log" | head -5 || true
  fi
  rows+=("$(printf '%-11s %6s %10s %12s %9s' "$t" "$seconds" "${rate:-?}" "${execs:-?}" "$findings")")
done
printf '%-11s %6s %10s %12s %9s\n' target seconds exec/s executions findings
printf '%s\n' "${rows[@]}"
exit "$failed"
