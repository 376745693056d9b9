#!/usr/bin/env bash
# run.sh: run one libFuzzer target as `make test` and `make fuzz` do
# (docs/fuzzing.md).
#
#   run.sh BINARY NAME SECONDS [CORPUS]
#
# 1. Replays every input of tests/fuzz/regressions/NAME/ once: inputs that
#    crashed or hung before a fix, kept so that they stay fixed.
# 2. Fuzzes for SECONDS, starting from tests/fuzz/seeds/NAME/, with the
#    dictionary dicts/NAME.dict when there is one. New inputs go to CORPUS
#    (kept between runs by `make fuzz`), else to a temporary folder.
#
# Fails on a crash or sanitizer report (ASan, UBSan, a leak), on an input
# that runs longer than FUZZ_TIMEOUT seconds (default 10), on memory past
# FUZZ_RSS_MB (default 2048) and on a broken rule of the target (it
# aborts). The failing input is kept under $FUZZ_ARTIFACTS/NAME/ (default
# ./fuzz-artifacts) and named in the output.
set -uo pipefail

if [ $# -lt 3 ]; then
  echo "usage: run.sh BINARY NAME SECONDS [CORPUS]" >&2
  exit 2
fi
bin=$1 name=$2 secs=$3 corpus=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
seeds=$here/seeds/$name
regs=$here/regressions/$name
dict=$here/dicts/$name.dict
art=${FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}/$name
mkdir -p "$art" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/swath-fuzz-$name.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
[ -n "$corpus" ] || corpus=$tmp/corpus
mkdir -p "$corpus" || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
opts=(-timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}"
  -artifact_prefix="$art/" -print_final_stats=1)
[ -f "$dict" ] && opts+=(-dict="$dict")

# What failed, and how to keep it as a regression input.
report() {
  echo "FAIL - fuzz target $name: $1 (exit status $2)"
  local f
  for f in $(find "$art" -type f -newer "$tmp" 2>/dev/null); do
    echo "    failing input: $f ($(stat -c %s "$f") bytes), base64:"
    head -c 3000 "$f" | base64 | sed -e 's/^/      /'
    echo "    once fixed, keep it: cp '$f' $regs/<what-it-is>"
  done
}

if [ -d "$regs" ] && [ -n "$(ls -A "$regs" 2>/dev/null)" ]; then
  n=$(find "$regs" -type f | wc -l)
  "$bin" "${opts[@]}" $(find "$regs" -type f | sort) >"$tmp/replay.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    tail -n 60 "$tmp/replay.log"
    report "a regression input fails again" $rc
    exit 1
  fi
  echo "ok - fuzz target $name: $n regression input(s) replayed"
fi

"$bin" "${opts[@]}" -max_total_time="$secs" "$corpus" "$seeds" >"$tmp/fuzz.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  tail -n 80 "$tmp/fuzz.log"
  report "fuzzing found a failure" $rc
  exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/fuzz.log")
cov=$(grep -o 'cov: [0-9]*' "$tmp/fuzz.log" | tail -n 1)
echo "ok - fuzz target $name: ${runs:-?} inputs in ${secs} s (${cov:-cov: ?}), no failure"
