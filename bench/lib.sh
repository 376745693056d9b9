# lib.sh: shared by the benchmarks. Runs a command under /usr/bin/time and
# leaves wall seconds, CPU seconds and peak RSS (MB) in WALL, CPU, RSS_MB.
# RSS is the largest single process (GNU time reports the maximum over the
# process and its waited-for children), which is what bounds memory use.
measure() {
  local log
  log=$(mktemp)
  /usr/bin/time -f '%e %U %S %M' -o "$log" "$@" >/dev/null 2>"$log.err" || {
    echo "bench: command failed: $*" >&2
    cat "$log.err" >&2
    rm -f "$log" "$log.err"
    return 1
  }
  read -r WALL user sys rss_kb <"$log"
  CPU=$(echo "$user + $sys" | bc)
  RSS_MB=$(( rss_kb / 1024 ))
  rm -f "$log" "$log.err"
}

ratio() { echo "scale=2; $1 / $2" | bc; }

bench_machine() {
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), $(gdalinfo --version)"
}

# boundary_files DIR: DIR/many.gpkg (2,400 units of ~160 vertices) and
# DIR/dense.gpkg (96 units of ~12,000 vertices) over Switzerland's box,
# from tests/data/gen_boundaries.py (units sharing wiggly borders), made once.
boundary_files() {
  local gen="/usr/bin/python3 $(dirname "${BASH_SOURCE[0]}")/../tests/data/gen_boundaries.py"
  [ -f "$1/many.gpkg" ] || $gen "$1/many.gpkg" --format GPKG --bounds 6,45.8,10.5,47.8 --nx 60 --ny 40 2>/dev/null
  [ -f "$1/dense.gpkg" ] || $gen "$1/dense.gpkg" --format GPKG --bounds 6,45.8,10.5,47.8 --nx 12 --ny 8 \
    --vertices 3000 2>/dev/null
}

# median: the median of the numbers on stdin, one a line.
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
