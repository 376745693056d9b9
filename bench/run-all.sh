#!/usr/bin/env bash
# run-all.sh SWATH: every engine benchmark, one after the other.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for b in pyramid hillshade; do
  echo "=== $b"
  bash "$here/$b.sh" "${1:-build/swath}"
done
