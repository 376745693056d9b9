#!/usr/bin/env bash
# test_catalog_stac.sh: the catalog against the standards' own examples
# (tests/data/cql2: OGC CQL2's 109 CQL2-JSON examples; tests/data/stac: the
# STAC specification's example items; see tests/data/README.md).
#
#  - a catalog of STAC items with varied properties (null datetime with an
#    interval, end_datetime alone, no cloud cover, ids with % _ \ capitals
#    and non-ASCII, the strings the examples compare with) and colour
#    statistics of constant rasters: every example filter, as written and
#    with its properties renamed to swath's queryables, run through the CLI,
#    GET and POST /search, gives the ids a small CQL2 evaluator in Python
#    gives (test_catalog_stac.py), or a one-line refusal (exit 2, HTTP 400)
#    where it uses what swath does not support; the cases of issue 15 too;
#  - the example items come back equal, every number exact, a bbox computed
#    when missing, geometry null kept, a BOM and \u0000 accepted; bare dates
#    and longitudes past 180 refused with the line;
#  - /collections/{id}/items pages carry self and collection links; a token
#    reused with another sortby is a clean error; sub-millisecond datetime
#    bounds are rounded inwards.
. "$(dirname "$0")/lib.sh"
require_swath
T="$SWATH_SRC/tests/integration/test_catalog_stac.py"

"$PY" "$T" gen "$WORK" || die "generate the filter catalog"
DB=$WORK/cql2.db
check_run "ingest the filter catalog" 0 catalog ingest "$WORK/cql2.ndjson" --catalog "$DB"
grep -q "new, 0 updated, 0 malformed" "$WORK/run.out" || fail "no item refused" "$(last_run_output)"
check_run "colour statistics of the constant rasters" 0 catalog stats --catalog "$DB" --threads 2 \
  --ids "$(cat "$WORK/rgb_ids")"
for x in core-item collectionless-item proj-example; do
  run_swath catalog ingest "$SWATH_SRC/tests/data/stac/$x.json" --catalog "$DB"
  [ "$RUN_RC" -eq 0 ] || die "ingest $x.json" "$(last_run_output)"
done

"$SWATH" serve --catalog "$DB" --port 0 --threads 2 --count-limit 0 2>"$WORK/serve.log" &
track_bg $!
PORT=$(serve_port "$WORK/serve.log")
[ -n "$PORT" ] || die "server started" "$(cat "$WORK/serve.log")"
BASE=http://127.0.0.1:$PORT

py_checks cql2 "$SWATH" "$DB" "$BASE" "$SWATH_SRC/tests/data/cql2" "$SWATH_SRC/tests/data/stac" <"$T"
mkdir -p "$WORK/stac"
py_checks stac "$SWATH" "$WORK/stac" "$BASE" "$SWATH_SRC/tests/data/stac" <"$T"
