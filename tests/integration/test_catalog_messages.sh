#!/usr/bin/env bash
# test_catalog_messages.sh: what `swath catalog` prints about files and
# items is safe for a terminal, and GDAL's reasons reach the user.
#
#  - item ids, collections and file names holding control characters (ESC
#    sequences, new lines, tabs, BEL) are printed with them written out
#    (\x1b, \n, \t, \x07), as every error message is (core/error.c): by
#    ingest (its summary and its skipped-record lines), by search (one line
#    per item) and by stats (one line per failed scene);
#  - the catalog's own GDAL calls go through swath's GDAL handler
#    (core/gdal_log.c): quiet by default, shown at -v ("GDAL error"), and
#    GDAL's reason is part of the one-line message (a self-intersecting
#    intersects geometry says where; an unreadable asset says why).
. "$(dirname "$0")/lib.sh"
require_swath

ESC=$'\e'
DB=$WORK/cat.db
# a file name with a new line, an ESC sequence and a tab in it
NAME=$WORK/$'items\nname\e[1m\tx.ndjson'
"$PY" - "$NAME" <<'EOF'
import json, sys
def item(i, coll):
    return {"type": "Feature", "stac_version": "1.0.0", "id": i, "collection": coll,
            "bbox": [0, 0, 1, 1],
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
            "properties": {"datetime": "2021-03-01T10:00:00Z"},
            "links": [], "assets": {"data": {"href": "/nonexistent/scene.tif"}}}
with open(sys.argv[1], "w") as f:
    f.write(json.dumps(item("evil\u001b[2J\u001b]0;title\u0007id\nsecond line", "c\tx")) + "\n")
    f.write("{not json\n")
EOF
[ -s "$NAME" ] || die "items file written"

# ---- ingest -----------------------------------------------------------------
run_swath -q catalog ingest "$NAME" --catalog "$DB"
check_eq "ingest: exit 0 (one malformed line is not fatal)" 0 "$RUN_RC"
check_eq "ingest summary: one line on stdout" 1 "$(wc -l <"$WORK/run.out")"
grep -q 'items\\nname\\x1b\[1m\\tx.ndjson: stac' "$WORK/run.out" &&
  pass "ingest summary: the file name's control characters written out" ||
  fail "ingest summary: the file name's control characters written out" "$(cat -v "$WORK/run.out")"
check_eq "skipped record: one line on stderr" 1 "$(wc -l <"$WORK/run.err")"
grep -q 'items\\nname\\x1b\[1m\\tx.ndjson:2: skipped' "$WORK/run.err" &&
  pass "skipped record: the file name's control characters written out" ||
  fail "skipped record: the file name's control characters written out" "$(cat -v "$WORK/run.err")"

# ---- search -----------------------------------------------------------------
run_swath -q catalog search --catalog "$DB" --bbox 0,0,1,1
check_eq "search: exit 0" 0 "$RUN_RC"
check_eq "search: one item, one line" 1 "$(wc -l <"$WORK/run.out")"
grep -q "$ESC" "$WORK/run.out" && fail "search: no raw ESC in the output" "$(cat -v "$WORK/run.out")" ||
  pass "search: no raw ESC in the output"
grep -q $'\a' "$WORK/run.out" && fail "search: no raw BEL in the output" "$(cat -v "$WORK/run.out")" ||
  pass "search: no raw BEL in the output"
IFS=$'\t' read -r id coll _ <"$WORK/run.out"
check_eq "search: the id written out" 'evil\x1b[2J\x1b]0;title\x07id\nsecond line' "$id"
check_eq "search: the collection written out (its tab does not split the columns)" 'c\tx' "$coll"
# --json is JSON: its escapes are JSON's own, the id comes back whole
run_swath -q catalog search --catalog "$DB" --bbox 0,0,1,1 --json
check_py "search --json: the id as it was ingested" "$WORK/run.out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert [f["id"] for f in d["features"]] == ["evil\u001b[2J\u001b]0;title\u0007id\nsecond line"], d
EOF

# ---- stats: a scene whose asset cannot be read --------------------------------
run_swath catalog stats --catalog "$DB" --threads 1
check_eq "stats: exit 1 (a scene failed)" 1 "$RUN_RC"
grep 'evil' "$WORK/run.err" >"$WORK/failed.line"
check_eq "stats: the failed scene on one line" 1 "$(wc -l <"$WORK/failed.line")"
check_eq "stats: every line on stderr is swath's" "" "$(grep -v '^swath: ' "$WORK/run.err")"
grep -qF 'swath: c\tx/evil\x1b[2J\x1b]0;title\x07id\nsecond line: cannot open' "$WORK/failed.line" &&
  pass "stats: the failed scene's collection and id written out" ||
  fail "stats: the failed scene's collection and id written out" "$(cat -v "$WORK/run.err")"
grep -q "No such file or directory" "$WORK/failed.line" &&
  pass "stats: GDAL's reason is in the line" || fail "stats: GDAL's reason is in the line" "$(cat -v "$WORK/run.err")"
grep -q "GDAL error" "$WORK/run.err" && fail "stats: GDAL says nothing of its own by default" "$(cat "$WORK/run.err")" ||
  pass "stats: GDAL says nothing of its own by default"
run_swath -v catalog stats --catalog "$DB" --threads 1
grep -q "swath: debug: GDAL error [0-9]*: .*nonexistent/scene.tif" "$WORK/run.err" &&
  pass "stats -v: GDAL's message is shown" || fail "stats -v: GDAL's message is shown" "$(cat "$WORK/run.err")"

# ---- intersects: GDAL's reason for an invalid geometry ------------------------
BOWTIE='{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}'
run_swath catalog search --catalog "$DB" --intersects "$BOWTIE"
check_eq "self-intersecting intersects: exit 2" 2 "$RUN_RC"
check_eq "self-intersecting intersects: one line" 1 "$(wc -l <"$WORK/run.err")"
grep -q "intersects: the Polygon is not valid (Self-intersection at or near point 0.5 0.5)" "$WORK/run.err" &&
  pass "self-intersecting intersects: GDAL's reason names the point" ||
  fail "self-intersecting intersects: GDAL's reason names the point" "$(cat "$WORK/run.err")"
run_swath -v catalog search --catalog "$DB" --intersects "$BOWTIE"
grep -q "swath: debug: GDAL warning 1: Self-intersection" "$WORK/run.err" &&
  pass "self-intersecting intersects -v: GDAL's message is shown" ||
  fail "self-intersecting intersects -v: GDAL's message is shown" "$(cat "$WORK/run.err")"
