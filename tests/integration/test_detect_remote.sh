#!/usr/bin/env bash
# test_detect_remote.sh: issue 18, point 2's last sentence: a detect job
# whose model runs behind a KServe v2 server (`swath model serve` over the
# committed model: the download/predict split) finds the same features as
# the same job with the model in-process (count, class, owning tile,
# geometry within 1 mm, scores within 1e-5), in the binary tensor protocol
# and in JSON; and a server that stops answering mid-run fails the tiles
# it was asked for (listed, exit 1), which a rerun against a live server
# completes with the same features. Also: the imagery as a remote XYZ
# source gives the local run's features, with the tile memo (process tiles
# pasting their neighbours' decoded tiles) and without it the same ones.
. "$(dirname "$0")/lib.sh"
require_swath

. "$SWATH_SRC/tests/integration/detect_lib.sh"
detect_scene

"$SWATH" model serve "$MODEL" --port 0 --threads 2 --name solar >"$WORK/serve.log" 2>&1 &
track_bg $!
PORT=$(serve_port "$WORK/serve.log")
[ -n "$PORT" ] || die "swath model serve started" "$(cat "$WORK/serve.log")"

detect_job local 4
detect_job binary 4 "{type: kserve, url: 'http://127.0.0.1:$PORT', name: solar}"
detect_job json 4 "{type: kserve, url: 'http://127.0.0.1:$PORT', name: solar, protocol: json}"
for j in local binary json; do
  check_run "$j: the run exits 0" 0 run "$WORK/$j.yaml"
  cp "$WORK/run.err" "$WORK/$j.err"
done

# A batch larger than any process tile's chips: every batch is a process
# tile's short last one. In process its chips run one at a time, so the
# model only ever sees two shapes (OpenCV DNN reallocates its buffers for
# each new one); a server gets the batch whole (a call is a round trip).
# The features are the same; the chips counted are the real ones.
for j in local binary; do
  sed -e 's/^  min_score:/  batch: 1024\n  min_score:/' -e "s#path: out/$j#path: out/$j-tail#" \
    "$WORK/$j.yaml" >"$WORK/$j-tail.yaml"
  check_run "$j, batch 1024: the run exits 0" 0 run "$WORK/$j-tail.yaml"
  sed -n 's/.*model [^ ]*: \([0-9]*\) chips in \([0-9]*\) batches.*/\1 \2/p' "$WORK/run.err" >"$WORK/$j-tail.n"
done
read -r CHIPS BATCHES <"$WORK/local-tail.n"
read -r RCHIPS RBATCHES <"$WORK/binary-tail.n"
CHIPS8=$(sed -n 's/.*model [^ ]*: \([0-9]*\) chips in .*/\1/p' "$WORK/local.err")
check_eq "in process, batch 1024: the chips of the 8-chip batches, each its own batch" \
  "$CHIPS8 chips in $CHIPS8 batches" "$CHIPS chips in $BATCHES batches"
check "server, batch 1024: the same chips in one batch per process tile" \
  test "$RCHIPS" = "$CHIPS" -a "$RBATCHES" -gt 0 -a "$RBATCHES" -lt "$CHIPS"
# Every run's features equal the in-process run's with the default batch.
for j in binary json local-tail binary-tail; do
  check_py "$j: the features equal the in-process run's" "$WORK" "$j" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import feat
a = feat.load(sys.argv[1] + "/out/local/features.gpkg")
why = feat.same(a, feat.load(sys.argv[1] + "/out/%s/features.gpkg" % sys.argv[2]), tol=1e-3)
print(len(a), "features")
if why: sys.exit(why)
EOF
done

# A server that is not there any more: every tile fails (listed), exit 1.
FREE=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
detect_job gone 4 "{type: kserve, url: 'http://127.0.0.1:$FREE', name: solar}"
"$SWATH" model serve "$MODEL" --port "$FREE" --name solar >"$WORK/serve2.log" 2>&1 &
SPID=$!
track_bg $SPID
[ -n "$(serve_port "$WORK/serve2.log")" ] || die "second server started" "$(cat "$WORK/serve2.log")"
# Stop it once the run has opened the model (the open needs it), before
# the tiles: a run with 1 worker and the server killed after its check.
( for _ in $(seq 1 200); do
    grep -q "tasks at zooms" "$WORK/gone.err" 2>/dev/null && break
    sleep 0.05
  done
  kill -9 $SPID ) &
KILLER=$!
"$SWATH" run --workers 1 "$WORK/gone.yaml" >"$WORK/gone.out" 2>"$WORK/gone.err"
RC=$?
wait $KILLER
check_eq "the server gone mid-run: exit 1, tiles listed as failed" "1 yes" \
  "$RC $([ -s "$WORK/out/gone/.swath/failed.txt" ] && echo yes)"
# The server back on its port (the job, so its key, unchanged).
"$SWATH" model serve "$MODEL" --port "$FREE" --name solar >"$WORK/serve3.log" 2>&1 &
track_bg $!
[ -n "$(serve_port "$WORK/serve3.log")" ] || die "the server restarted" "$(cat "$WORK/serve3.log")"
check_run "a rerun against the server, back, completes" 0 run "$WORK/gone.yaml"
check_py "after the rerun: the in-process run's features" "$WORK" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import feat
why = feat.same(feat.load(sys.argv[1] + "/out/local/features.gpkg"),
                feat.load(sys.argv[1] + "/out/gone/features.gpkg"), tol=1e-3)
if why: sys.exit(why)
EOF

# The imagery as a remote XYZ source (its own PNG tiles from lighttpd),
# read with the detect process's pixel buffer: the local run's features.
. "$SWATH_SRC/tests/integration/servers.sh"
cat >"$WORK/tiles.yaml" <<EOF_T
process: convert
inputs: {img: data/scene.tif}
grid: {name: WebMercatorQuad, metatiling: 1}
zoom: 19
output: {path: www/xyz, format: PNG}
EOF_T
check_run "the scene as PNG tiles" 0 run "$WORK/tiles.yaml"
servers_start_lighttpd "$WORK/www" || die "lighttpd started"
AREA=$(py "$WORK/data/scene.tif" <<'EOF'
import sys
from osgeo import gdal
d = gdal.Open(sys.argv[1]); g = d.GetGeoTransform()
print("{bounds: [%r, %r, %r, %r], crs: EPSG:3857}" % (g[0], g[3] + d.RasterYSize * g[5],
                                                      g[0] + d.RasterXSize * g[1], g[3]))
EOF
)
detect_job xyz 4 "" "" "$AREA"
sed -i "s#imagery: data/scene.tif#imagery: {type: xyz, url: '$SERVERS_URL/xyz/{z}/{x}/{y}.png', zoom: 19, empty_status: [404]}#" \
  "$WORK/xyz.yaml"
check_run "the job over the XYZ source exits 0" 0 run "$WORK/xyz.yaml"
check "over the XYZ source: process tiles paste their neighbours' decoded tiles from the memo" \
  grep -qE "tiles: [0-9]+ cached tiles pasted, [0-9]+ decoded, [1-9][0-9]* from the tile memo" \
  "$WORK/run.err"
# The same without the memo (every paste decodes): the very same features.
sed "s#path: out/xyz#path: out/xyz-nomemo#" "$WORK/xyz.yaml" >"$WORK/xyz-nomemo.yaml"
SWATH_TILE_MEMO_MB=0 check_run "the XYZ job without the tile memo exits 0" 0 run "$WORK/xyz-nomemo.yaml"
check_py "the tile memo changes no feature (class, tile, geometry, score all equal)" "$WORK" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import feat
a = feat.load(sys.argv[1] + "/out/xyz/features.gpkg")
b = feat.load(sys.argv[1] + "/out/xyz-nomemo/features.gpkg")
print(len(a), "features")
sys.exit(0 if a == b and a else "differ: %d vs %d features" % (len(a), len(b)))
EOF
check_py "over the XYZ source: the local run's features" "$WORK" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import feat
a = feat.load(sys.argv[1] + "/out/local/features.gpkg")
why = feat.same(a, feat.load(sys.argv[1] + "/out/xyz/features.gpkg"), tol=1e-3)
print(len(a), "features")
if why: sys.exit(why)
EOF
