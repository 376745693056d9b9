#!/usr/bin/env bash
# test_cli.sh: the command line itself: help texts, `swath processes`, and
# exit status 2 for commands and options swath does not know.
. "$(dirname "$0")/lib.sh"
require_swath

# --help: exit 0, usage on stdout naming every documented command.
run_swath --help
check_eq "swath --help exits 0" 0 "$RUN_RC"
for c in run tiles processes; do
  if grep -qw "$c" "$WORK/run.out"; then pass "swath --help lists '$c'"
  else fail "swath --help lists '$c'" "$(cat "$WORK/run.out" "$WORK/run.err")"; fi
done

run_swath run --help
check_eq "swath run --help exits 0" 0 "$RUN_RC"
for o in --zoom --bounds --workers --overwrite --progress --no-progress; do
  if grep -q -- "$o\b" "$WORK/run.out"; then pass "swath run --help documents $o"
  else fail "swath run --help documents $o" "$(cat "$WORK/run.out" "$WORK/run.err")"; fi
done

run_swath tiles --help
check_eq "swath tiles --help exits 0" 0 "$RUN_RC"
for o in --grid --zoom --bounds --area --metatiling --geojson --count; do
  if grep -q -- "$o\b" "$WORK/run.out"; then pass "swath tiles --help documents $o"
  else fail "swath tiles --help documents $o" "$(cat "$WORK/run.out" "$WORK/run.err")"; fi
done

# processes: every built-in with its parameters.
run_swath processes
check_eq "swath processes exits 0" 0 "$RUN_RC"
out=$(cat "$WORK/run.out")
for p in convert hillshade bandmath; do
  if grep -qw "$p" <<<"$out"; then pass "swath processes lists $p"
  else fail "swath processes lists $p" "$out"; fi
done
# hillshade takes gdaldem's parameters.
for p in azimuth altitude z_factor scale multidirectional; do
  if grep -qw "$p" <<<"$out"; then pass "swath processes lists hillshade parameter $p"
  else fail "swath processes lists hillshade parameter $p" "$out"; fi
done
# bandmath takes an expression; its parameter line names it.
if grep -qiE '\bexpr(ession)?\b' <<<"$out"; then pass "swath processes lists bandmath's expression parameter"
else fail "swath processes lists bandmath's expression parameter" "$out"; fi
# The hillshade parameters appear after 'hillshade' and before the next process
# (they belong to it, not to a global list).
check_py "hillshade parameters are listed under hillshade" "$WORK/run.out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
names = ["convert", "hillshade", "bandmath"]
pos = {n: re.search(r"(?m)^\s*%s\b" % n, text) for n in names}
missing = [n for n in names if not pos[n]]
if missing:
    sys.exit("no line starts with process name(s) %s:\n%s" % (missing, text))
start = pos["hillshade"].start()
ends = [m.start() for n, m in pos.items() if m.start() > start]
section = text[start:min(ends) if ends else len(text)]
for p in ["azimuth", "altitude", "z_factor", "multidirectional"]:
    if not re.search(r"\b%s\b" % p, section):
        sys.exit("parameter %s not in the hillshade section:\n%s" % (p, section))
print("hillshade section has %d lines" % section.count("\n"))
EOF

# Unknown command / option: exit 2, one line on stderr.
run_swath frobnicate
check_eq "unknown command exits 2" 2 "$RUN_RC"
if grep -q "^swath:.*frobnicate" "$WORK/run.err"; then pass "unknown command is named on stderr"
else fail "unknown command is named on stderr" "$(cat "$WORK/run.err")"; fi

run_swath --frobnicate
check_eq "unknown global option exits 2" 2 "$RUN_RC"

run_swath
check_eq "no command exits 2" 2 "$RUN_RC"

run_swath run --frobnicate job.yaml
check_eq "swath run with an unknown option exits 2" 2 "$RUN_RC"

run_swath run
check_eq "swath run without a job file exits 2" 2 "$RUN_RC"
