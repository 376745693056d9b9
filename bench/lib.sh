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
