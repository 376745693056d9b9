#!/usr/bin/env bash
# test_heatmap.sh: `swath heatmap` over a features store built here
# (features_store.py): heatmap.tif's cells equal a numpy histogram of the
# centres (computed by OGR), exactly for counts; score sums; the cell size
# of "100m"; PNG tiles at every zoom that GDAL opens, transparent exactly
# where the cells are empty, the densest cell dark red; tilejson bounds; a
# rebuild leaves no tile of the previous one; bad input.
. "$(dirname "$0")/lib.sh"
require_swath

FS="$SWATH_SRC/tests/integration/features_store.py"
export PYTHONPATH="$SWATH_SRC/tests/integration:$PYTHONPATH"
mkdir -p "$WORK/out"
STORE=$WORK/out/features.gpkg
"$PY" "$FS" make "$STORE" --n 400 --spread 6000 --seed 11 || die "store built"

check_run "heatmap --cell 500 --zoom 11-13" 0 heatmap "$WORK/out" --cell 500 --zoom 11-13 --no-progress
grep -q "^swath: heatmap of 400 features (of 400)" "$WORK/run.err" && pass "summary line" ||
  fail "summary line" "$(cat "$WORK/run.err")"
HM=$WORK/out/heatmap
py_checks "$STORE" "$HM" <<'EOF'
import json, os, sys
import numpy as np
import swt
from osgeo import gdal, osr
import features_store as fs
store, hm = sys.argv[1:3]
truth = fs.read(store)
xs = np.array([t[4][0] for t in truth]); ys = np.array([t[4][1] for t in truth])
ds = gdal.Open(f"{hm}/heatmap.tif")
gt = ds.GetGeoTransform()
w, h = ds.RasterXSize, ds.RasterYSize
swt.check("heatmap.tif: cells of 500 CRS units on multiples of 500",
          gt[1] == 500 and gt[5] == -500 and gt[0] % 500 == 0 and gt[3] % 500 == 0, str(gt))
s = osr.SpatialReference(wkt=ds.GetProjection())
swt.check("heatmap.tif: in the store's CRS (EPSG:3857)", s.GetAuthorityCode(None) == "3857")
a = ds.GetRasterBand(1).ReadAsArray()
xe = gt[0] + np.arange(w + 1) * gt[1]
ye = gt[3] + np.arange(h + 1) * gt[5]
# rows count down from the top: histogram over -y
H, _, _ = np.histogram2d(-ys, xs, bins=[-ye, xe])
swt.check("heatmap.tif: counts equal numpy's histogram of the centres (exact)",
          a.shape == H.shape and np.array_equal(a, H.astype(a.dtype)) and a.sum() == 400,
          f"sum {a.sum()}, diff cells {(a != H).sum() if a.shape == H.shape else 'shape'}")
# The tiles
for z in (11, 12, 13):
    tiles = swt.list_tiles(hm, "png", z)
    ok = bool(tiles)
    for t in tiles:
        d = gdal.Open(swt.tile_path(hm, *t, "png"))
        ok &= d is not None and d.RasterCount == 4
    swt.check(f"zoom {z}: PNG tiles, each opens in GDAL as RGBA", ok, str(len(tiles)))
# At zoom 13 (19 m pixels, cells of 500 m) every pixel centre away from a
# cell edge shows its cell: alpha 0 exactly where the count is 0.
bad = 0; seen_empty = seen_full = 0; top = None
mx = a.max()
for t in swt.list_tiles(hm, "png", 13):
    d = gdal.Open(swt.tile_path(hm, *t, "png"))
    px = d.ReadAsArray()
    b = swt.merc_bounds(*t)
    n = px.shape[1]
    r = (b[2] - b[0]) / n
    cx = b[0] + (np.arange(n) + 0.5) * r
    cy = b[3] - (np.arange(n) + 0.5) * r
    ci = np.floor((cx - gt[0]) / 500).astype(int)
    cj = np.floor((gt[3] - cy) / 500).astype(int)
    fx = ((cx - gt[0]) / 500) % 1; fy = ((gt[3] - cy) / 500) % 1
    okx = (fx > 0.05) & (fx < 0.95); oky = (fy > 0.05) & (fy < 0.95)
    for j in range(n):
        if not oky[j]:
            continue
        for i in range(n):
            if not okx[i]:
                continue
            inside = 0 <= ci[i] < w and 0 <= cj[j] < h
            c = a[cj[j], ci[i]] if inside else 0
            alpha = px[3, j, i]
            if (c == 0) != (alpha == 0):
                bad += 1
            seen_empty += c == 0
            seen_full += c > 0
            if c == mx:
                top = tuple(px[:, j, i])
swt.check("zoom 13: transparent exactly where cells are empty", bad == 0 and seen_empty and seen_full,
          f"{bad} pixels differ ({seen_empty} empty, {seen_full} not)")
swt.check("zoom 13: the densest cell is the ramp's top (189, 0, 38)", top == (189, 0, 38, 255), str(top))
tj = json.load(open(f"{hm}/tilejson.json"))
lons = [t[3][0] for t in truth]; lats = [t[3][1] for t in truth]
bb = tj["bounds"]
swt.check("tilejson: bounds hold every centre", bb[0] <= min(lons) and bb[1] <= min(lats) and bb[2] >= max(lons) and bb[3] >= max(lats),
          f"{bb} vs {min(lons), min(lats), max(lons), max(lats)}")
ll = osr.CoordinateTransformation(fs.srs(3857), fs.srs(4326))
x0, y0, _ = ll.TransformPoint(gt[0], gt[3] + h * gt[5]); x1, y1, _ = ll.TransformPoint(gt[0] + w * gt[1], gt[3])
swt.check("tilejson: bounds within heatmap.tif's extent", bb[0] >= x0 - 1e-9 and bb[1] >= y0 - 1e-9 and bb[2] <= x1 + 1e-9 and bb[3] <= y1 + 1e-9,
          f"{bb} vs {x0, y0, x1, y1}")
swt.check("tilejson: zooms 11-13", tj["minzoom"] == 11 and tj["maxzoom"] == 13)
st = gdal.OpenEx(f"STACTA:{hm}/stac.json", open_options=["SKIP_MISSING_METATILE=YES"])
swt.check("stac.json opens in GDAL (STACTA) as RGBA", st is not None and st.RasterCount == 4)
EOF

# Score sums over a threshold, and cells of 100 m on the ground
check_run "heatmap --value score --threshold 0.5 --cell 100m" 0 heatmap "$STORE" --value score \
  --threshold 0.5 --cell 100m --zoom 12-12 -o "$WORK/score" --no-progress
py_checks "$STORE" "$WORK/score" <<'EOF'
import math, sys
import numpy as np
import swt
from osgeo import gdal
import features_store as fs
truth = [t for t in fs.read(sys.argv[1]) if t[1]["score"] >= 0.5]
ds = gdal.Open(f"{sys.argv[2]}/heatmap.tif")
gt = ds.GetGeoTransform()
lat = math.radians(sum(t[3][1] for t in truth) / len(truth))
swt.check("100m: cells of 100 m on the ground (100 / cos(lat) Web Mercator units, 0.5%)",
          abs(gt[1] - 100 / math.cos(lat)) < 0.005 * gt[1], f"{gt[1]} vs {100 / math.cos(lat)}")
a = ds.GetRasterBand(1).ReadAsArray().astype(float)
xe = gt[0] + np.arange(ds.RasterXSize + 1) * gt[1]
ye = gt[3] + np.arange(ds.RasterYSize + 1) * gt[5]
H, _, _ = np.histogram2d(-np.array([t[4][1] for t in truth]), np.array([t[4][0] for t in truth]),
                         bins=[-ye, xe], weights=np.array([t[1]["score"] for t in truth]))
swt.check("score sums equal numpy's weighted histogram (1e-5)", np.abs(a - H).max() < 1e-5,
          f"max diff {np.abs(a - H).max()}")
swt.check("zoom 12 tiles written", len(swt.list_tiles(sys.argv[2], "png", 12)) > 0)
EOF

# A rebuild over fewer features replaces the pyramid: no tile of the old one.
check_run "rebuild with --threshold 0.9" 0 heatmap "$WORK/out" --cell 500 --zoom 11-13 --threshold 0.9 --no-progress
check_run "fresh build with --threshold 0.9" 0 heatmap "$STORE" --cell 500 --zoom 11-13 --threshold 0.9 -o "$WORK/fresh" --no-progress
check_eq "rebuild: the same tiles as a fresh build" "$(cd "$WORK/fresh" && tile_files . png)" "$(cd "$WORK/out/heatmap" && tile_files . png)"
check_eq "no temporary files left" "" "$(tmp_files "$WORK")"

# Nothing passes: nothing written, said in one line
check_run "no feature passes: exit 0" 0 heatmap "$STORE" --threshold 1 -o "$WORK/none" --no-progress
"$PY" "$FS" make "$WORK/one.gpkg" --n 2
run_swath heatmap "$WORK/one.gpkg" --threshold 1 --zoom 12 -o "$WORK/none2" --no-progress
check_eq "score 1 only: one feature mapped" "0" "$RUN_RC"

bad() {
  local name=$1 pattern=$2
  shift 2
  run_swath heatmap "$@"
  if [ "$RUN_RC" -eq 2 ] && [ "$(wc -l <"$WORK/run.err")" -eq 1 ] && grep -q "^swath: .*$pattern" "$WORK/run.err"; then
    pass "bad input: $name: exit 2, one line"
  else
    fail "bad input: $name: exit 2, one line" "exit $RUN_RC" "$(cat "$WORK/run.err")"
  fi
}
mkdir -p "$WORK/product" && echo "process: convert" >"$WORK/product/job.yaml"
bad "--cell 0" "--cell" "$STORE" --cell 0 -o "$WORK/b"
bad "--cell abc" "--cell" "$STORE" --cell 10km -o "$WORK/b"
bad "--zoom 40" "--zoom" "$STORE" --zoom 12-40 -o "$WORK/b"
bad "--value other" "--value: expected count or score" "$STORE" --value mean -o "$WORK/b"
bad "--threshold 2" "--threshold" "$STORE" --threshold 2 -o "$WORK/b"
bad "--max -1" "--max" "$STORE" --max -1 -o "$WORK/b"
bad "unknown grid" "unknown grid" "$STORE" --grid Nope -o "$WORK/b"
bad "missing store" "no such" "$WORK/nowhere.gpkg" -o "$WORK/b"
bad "a folder holding another product" "another product" "$STORE" -o "$WORK/product"
bad "too many cells" "too many" "$STORE" --cell 0.01 -o "$WORK/b"
