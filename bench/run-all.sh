#!/usr/bin/env bash
# run-all.sh SWATH: the engine, remote-imagery and detection benchmarks, one after the
# other (`make bench`). The scene catalog's benchmark needs a 10M-row index
# and PostgreSQL and runs on its own: bash bench/catalog/run.sh SWATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for b in pyramid png hillshade remote remote-memory area count detect; do
  echo "=== $b"
  bash "$here/$b.sh" "${1:-build/swath}"
done
