#!/usr/bin/env bash
# sanitized.sh TEST.sh: run an integration test against a swath built with
# -fsanitize=address,undefined (SWATH_SANITIZE: `make test-sanitize` runs
# the tests labelled sanitize-integration this way). Every swath process the
# test starts writes its sanitizer reports into one folder, and any report
# fails the test, also where the test's own checks would not notice (a
# server thread that died after its last request, a bad read whose value
# happened to pass).
#
# LeakSanitizer checks every process that exits (a server stopped by a
# signal is not checked). Reads inside uninstrumented libraries (jansson,
# SQLite, GDAL) are not seen: a use after free there is found by the
# tests' own checks, or by valgrind.
set -uo pipefail
logs=$(mktemp -d "${TMPDIR:-/tmp}/swath-sanitized.XXXXXX")
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
bash "$1"
rc=$?
if [ -n "$(ls -A "$logs")" ]; then
  echo "FAIL - sanitizer reports from swath processes:"
  cat "$logs"/* | head -n 200
  rc=1
fi
rm -rf "$logs"
exit $rc
