#!/usr/bin/env bash
# test_catalog_stats.sh: colour statistics and colour ranking.
#
#  - a folder of generated rasters (UTM and lon/lat, nodata regions, an alpha
#    band, band order 3,2,1) is ingested: footprints in EPSG:4326 via GDAL;
#  - `swath catalog stats --exact` means equal `gdalinfo -stats` band means;
#    --sample-step N equals numpy on arr[::N, ::N]; --overview equals GDAL's
#    own reduced read; nodata never counts; a thread pool does the work;
#  - values are cached with their method, reused or replaced as asked, shown
#    as item properties and sortable; a ranking over mixed methods says so;
#  - Sentinel-2 rows whose BASE_URL points at a local folder: TCI for new
#    granules (0 = no data), B04/B03/B02 scaled to the TCI range for legacy ones.
#
# Env and output: see lib.sh (checks are shell conditions, run by `check NAME eval`).
. "$(dirname "$0")/lib.sh"
require_swath
work=$WORK
cat="$work/local.db"

# ---- rasters ----------------------------------------------------------------
mkdir -p "$work/rasters/sub"
$PY - "$work/rasters" <<'EOF'
import sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
root = sys.argv[1]
def make(path, w, h, epsg, gt, bands, nodata=None, dtype=gdal.GDT_Byte, when=None):
    ds = gdal.GetDriverByName("GTiff").Create(path, w, h, len(bands), dtype, ["TILED=YES"])
    srs = osr.SpatialReference(); srs.ImportFromEPSG(epsg)
    ds.SetProjection(srs.ExportToWkt()); ds.SetGeoTransform(gt)
    if when: ds.SetMetadataItem("TIFFTAG_DATETIME", when)
    for i, a in enumerate(bands):
        b = ds.GetRasterBand(i + 1)
        if nodata is not None: b.SetNoDataValue(nodata)
        b.WriteArray(a)
    if len(bands) == 4: ds.GetRasterBand(4).SetColorInterpretation(gdal.GCI_AlphaBand)
    ds = None
yy, xx = np.mgrid[0:200, 0:300]
# red-ish UTM scene, nodata 0 in a corner disc (all bands)
hole = (xx - 40) ** 2 + (yy - 40) ** 2 < 35 ** 2
r = (200 + 50 * np.sin(xx / 17.0)).astype(np.uint8); g = (60 + (yy % 50)).astype(np.uint8)
b = (30 + (xx + yy) % 40).astype(np.uint8)
for a in (r, g, b): a[hole] = 0
make(f"{root}/red_utm.tif", 300, 200, 32632, (463000, 10, 0, 5247000, 0, -10), [r, g, b], 0,
     when="2023:06:15 10:20:30")
# blue-ish lon/lat scene, no nodata
make(f"{root}/sub/blue_ll.tif", 250, 180, 4326, (12.0, 0.001, 0, 55.7, 0, -0.001),
     [(40 + xx[:180, :250] % 30).astype(np.uint8), (90 + yy[:180, :250] % 20).astype(np.uint8),
      (180 + (xx[:180, :250] * 3) % 70).astype(np.uint8)], when="2023:06:20 09:00:00")
# RGBA: alpha 0 over the left third is no data
a = np.full((200, 300), 255, np.uint8); a[:, :100] = 0
make(f"{root}/alpha.tif", 300, 200, 32632, (470000, 10, 0, 5250000, 0, -10),
     [(100 + xx % 100).astype(np.uint8), (120 + yy % 60).astype(np.uint8), np.full((200, 300), 77, np.uint8), a],
     when="2023:06:25 11:00:00")
# stored B, G, R: ingested with --rgb-bands 3,2,1 in its own collection
make(f"{root}/../bgr.tif", 120, 90, 32632, (480000, 10, 0, 5240000, 0, -10),
     [np.full((90, 120), 10, np.uint8), np.full((90, 120), 20, np.uint8), (150 + xx[:90, :120] % 50).astype(np.uint8)])
open(f"{root}/notes.dat", "w").write("not a raster\n")
EOF
"$SWATH" -q catalog ingest "$work/rasters" --catalog "$cat" >"$work/ingest.out" 2>"$work/ingest.err"
check "folder ingest: 3 rasters, the non-raster file reported" eval \
  "grep -q '4 records: 3 new, 0 updated, 1 malformed' '$work/ingest.out' && grep -q 'notes.dat' '$work/ingest.err'"
"$SWATH" -q catalog ingest "$work/bgr.tif" --catalog "$cat" --collection bgr --rgb-bands 3,2,1 >/dev/null 2>&1
$PY - "$cat" "$work/rasters/red_utm.tif" <<'EOF' >"$work/fp.out" 2>&1
import json, sqlite3, sys
from osgeo import gdal
gdal.UseExceptions()
db = sqlite3.connect(sys.argv[1])
doc = json.loads(db.execute("select doc from items where id='red_utm'").fetchone()[0])
info = gdal.Info(sys.argv[2], format="json")
ll = info["wgs84Extent"]["coordinates"][0]
lons = [p[0] for p in ll]; lats = [p[1] for p in ll]
b = doc["bbox"]
ok = abs(b[0] - min(lons)) < 1e-6 and abs(b[2] - max(lons)) < 1e-6 and abs(b[1] - min(lats)) < 1e-6 and abs(b[3] - max(lats)) < 1e-6
print("bbox", b, "gdalinfo", min(lons), min(lats), max(lons), max(lats))
print(doc["properties"]["datetime"])
sys.exit(0 if ok and doc["properties"]["datetime"] == "2023-06-15T10:20:30Z" else 1)
EOF
rc=$?
check "raster footprint in EPSG:4326 matches gdalinfo's wgs84Extent; datetime from TIFFTAG" eval "[ $rc -eq 0 ]"

# ---- exact statistics vs gdalinfo -stats ------------------------------------------
"$SWATH" -q catalog stats --catalog "$cat" --exact --threads 2 >"$work/s1.out" 2>&1
check "stats --exact: 4 computed" eval "grep -q '4 selected, 4 computed, 0 cached, 0 failed' '$work/s1.out'"
props() { # COLLECTION ID -> "red green blue brightness method pixels source"
  "$SWATH" -q catalog search --catalog "$cat" --collections "$1" --ids "$2" --json 2>/dev/null |
    $PY -c 'import json,sys; p=json.load(sys.stdin)["features"][0]["properties"]; print(p["color:red"], p["color:green"], p["color:blue"], p["color:brightness"], p["color:method"], p["color:pixels"], p.get("color:source"))'
}
near() { $PY -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if abs(a-b) <= 1e-6*max(1,abs(b)) else 1)" "$1" "$2"; }
for f in red_utm sub/blue_ll; do
  read -r r g b br m px src <<<"$(props local "$f")"
  gdalinfo -stats -json "$work/rasters/$f.tif" >"$work/gi.json" 2>/dev/null
  # STATISTICS_MEAN carries more digits than the rounded "mean"
  read -r gr gg gb <<<"$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(*[x["metadata"][""]["STATISTICS_MEAN"] for x in d["bands"][:3]])' "$work/gi.json")"
  check "$f: exact means = gdalinfo -stats ($r $g $b vs $gr $gg $gb)" eval \
    "near $r $gr && near $g $gg && near $b $gb && [ $m = exact ]"
  check "$f: brightness is the mean of the three means" eval \
    "near $br \$($PY -c 'import sys; print(sum(map(float, sys.argv[1:]))/3)' $r $g $b)"
done
read -r r g b br m px src <<<"$(props local red_utm)"
want=$($PY -c 'import numpy as np; yy,xx=np.mgrid[0:200,0:300]; print(int(((xx-40)**2+(yy-40)**2 >= 35**2).sum()))')
check "nodata pixels excluded ($px counted, $want valid)" eval "[ $px = $want ]"
read -r r g b br m px src <<<"$(props local alpha)"
$PY - "$work/rasters/alpha.tif" "$r" "$g" "$px" <<'EOF'
import sys
from osgeo import gdal
a = gdal.Open(sys.argv[1]).ReadAsArray().astype(float)
v = a[3] > 0
ok = abs(a[0][v].mean() - float(sys.argv[2])) < 1e-6 and abs(a[1][v].mean() - float(sys.argv[3])) < 1e-6 and int(sys.argv[4]) == v.sum()
sys.exit(0 if ok else 1)
EOF
check "alpha band: transparent pixels excluded" eval "[ $? -eq 0 ]"
read -r r g b br m px src <<<"$(props bgr bgr)"
check "configured bands 3,2,1: red is band 3 ($r), blue is band 1 ($b), source $src" eval \
  "[ \$($PY -c 'print(round($b))') = 10 ] && [ \$($PY -c 'print(int($r >= 150))') = 1 ] && [ '$src' = data:3,2,1 ]"

# ---- sampling, reduced resolution, caching ------------------------------------------
"$SWATH" -q catalog stats --catalog "$cat" --sample-step 7 >"$work/s2.out" 2>&1
check "--sample-step 7 after --exact: all 4 cached (exact answers everything)" eval \
  "grep -q '4 cached' '$work/s2.out'"
"$SWATH" -q catalog stats --catalog "$cat" --sample-step 7 --force --threads 3 >"$work/s3.out" 2>&1
check "--force recomputes" eval "grep -q '4 computed' '$work/s3.out'"
read -r r g b br m px src <<<"$(props local red_utm)"
$PY - "$work/rasters/red_utm.tif" "$r" "$g" "$b" "$px" <<'EOF'
import sys
from osgeo import gdal
a = gdal.Open(sys.argv[1]).ReadAsArray().astype(float)[:, ::7, ::7]
v = (a[0] != 0) & (a[1] != 0) & (a[2] != 0)
ok = all(abs(a[k][v].mean() - float(sys.argv[2 + k])) < 1e-6 for k in range(3)) and int(sys.argv[5]) == v.sum()
sys.exit(0 if ok else 1)
EOF
check "step 7 means = numpy on every 7th pixel of every 7th row (method $m)" eval "[ $? -eq 0 ] && [ $m = step:7 ]"
"$SWATH" -q catalog stats --catalog "$cat" --sample-step 7 >"$work/s4.out" 2>&1
check "same method again: cached" eval "grep -q '4 cached' '$work/s4.out'"
"$SWATH" -q catalog stats --catalog "$cat" --overview --overview-size 64 --ids sub/blue_ll >"$work/s5.out" 2>&1
read -r r g b br m px src <<<"$(props local sub/blue_ll)"
$PY - "$work/rasters/sub/blue_ll.tif" "$r" "$g" "$b" <<'EOF'
import sys
from osgeo import gdal
ds = gdal.Open(sys.argv[1])
a = ds.ReadAsArray(buf_xsize=64, buf_ysize=47).astype(float)
sys.exit(0 if all(abs(a[k].mean() - float(sys.argv[2 + k])) < 1e-6 for k in range(3)) else 1)
EOF
check "--overview means = GDAL's reduced read (method $m)" eval "[ $? -eq 0 ] && [ $m = overview:64x47 ]"

# ---- ranking ------------------------------------------------------------------
"$SWATH" -q catalog stats --catalog "$cat" --exact --collections local >/dev/null 2>&1
order=$("$SWATH" -q catalog search --catalog "$cat" --collections local --sortby -color:red 2>/dev/null | cut -f1 | tr '\n' ' ')
want=$("$SWATH" -q catalog search --catalog "$cat" --collections local --json 2>/dev/null |
  $PY -c 'import json,sys; f=json.load(sys.stdin)["features"]; print(" ".join(x["id"] for x in sorted(f, key=lambda x: -x["properties"]["color:red"])) + " ")')
check "--sortby -color:red ranks by mean red ($order)" eval "[ '$order' = '$want' ]"
order2=$("$SWATH" -q catalog search --catalog "$cat" --collections local --sortby color.brightness 2>/dev/null | cut -f1 | tr '\n' ' ')
want2=$("$SWATH" -q catalog search --catalog "$cat" --collections local --json 2>/dev/null |
  $PY -c 'import json,sys; f=json.load(sys.stdin)["features"]; print(" ".join(x["id"] for x in sorted(f, key=lambda x: x["properties"]["color:brightness"])) + " ")')
check "--sortby color.brightness (alias) ranks by brightness" eval "[ '$order2' = '$want2' ]"
"$SWATH" -q catalog search --catalog "$cat" --collections local --sortby -color:red >/dev/null 2>"$work/w1.err"
check "all exact: no mixed-method warning" eval "! grep -q 'different methods' '$work/w1.err'"
# (bgr was last computed with step:7)
"$SWATH" -q catalog search --catalog "$cat" --sortby -color:red >/dev/null 2>"$work/w2.err"
check "mixed exact and step:7 in one ranking: the CLI says so" eval "grep -q 'different methods (exact,step:7\|different methods (step:7,exact' '$work/w2.err'"
out=$("$SWATH" -q catalog search --catalog "$cat" --sortby -color:red --filter '{"op":"=","args":[{"property":"color:method"},"exact"]}' 2>&1 >/dev/null)
check "filtering on color:method ranks like with like, no warning" eval "! echo \"$out\" | grep -q warning"

# ---- Sentinel-2 granules with local assets ---------------------------------------
gcs="$work/gcs"
$PY "$SWATH_SRC/tests/data/gen_s2_index.py" "$work/s2.csv" --rows 6 --seed 4 --tiles 3 \
  --start 2016-11-20 --end 2016-12-20 --base-url-root "$gcs"
$PY - "$work/s2.csv" <<'EOF' >"$work/s2exp.txt"
import csv, os, sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
for i, r in enumerate(csv.DictReader(open(sys.argv[1]))):
    g, base, mg = r["GRANULE_ID"], r["BASE_URL"], r["MGRS_TILE"]
    d = f"{base}/GRANULE/{g}/IMG_DATA"
    os.makedirs(d, exist_ok=True)
    yy, xx = np.mgrid[0:100, 0:120]
    if "_OPER_" in g:  # legacy: 12-bit bands, no TCI; 0 is no data
        stem = g.rsplit("_", 1)[0]
        vals = []
        for k, band in enumerate(("B04", "B03", "B02")):
            a = (300 + 900 * k + 37 * xx + 11 * yy + 100 * i).astype(np.uint16)
            a[:10, :] = 0
            ds = gdal.GetDriverByName("GTiff").Create(f"{d}/{stem}_{band}.jp2", 120, 100, 1, gdal.GDT_UInt16)
            ds.GetRasterBand(1).WriteArray(a); ds = None
            vals.append(np.minimum(a[10:, :] * 255.0 / 2000.0, 255.0).mean())
        print(g, "B04,B03,B02", *vals)
    else:  # TCI: 8-bit, 0 = no data though not declared
        stamp = r["PRODUCT_ID"].split("_")[2]
        a = np.stack([(50 + 3 * i + xx % 100), (80 + yy % 90), np.full((100, 120), 120 + i)]).astype(np.uint8)
        a[:, :, :20] = 0
        ds = gdal.GetDriverByName("GTiff").Create(f"{d}/T{mg}_{stamp}_TCI.jp2", 120, 100, 3, gdal.GDT_Byte)
        for k in range(3): ds.GetRasterBand(k + 1).WriteArray(a[k])
        ds = None
        print(g, "TCI", *[a[k][:, 20:].astype(float).mean() for k in range(3)])
EOF
"$SWATH" -q catalog ingest "$work/s2.csv" --catalog "$work/s2.db" >/dev/null 2>&1
"$SWATH" -q catalog stats --catalog "$work/s2.db" --threads 2 >"$work/s2stats.out" 2>&1
check "Sentinel-2 stats: 6 computed" eval "grep -q '6 selected, 6 computed' '$work/s2stats.out'"
kinds=$(cut -d' ' -f2 "$work/s2exp.txt" | sort -u | tr '\n' ' ')
check "the sample has both new (TCI) and legacy (B04,B03,B02) granules: $kinds" eval "[ '$kinds' = 'B04,B03,B02 TCI ' ]"
bad_s2=0
while read -r id src er eg eb; do
  read -r r g b br m px gotsrc <<<"$("$SWATH" -q catalog search --catalog "$work/s2.db" --ids "$id" --json 2>/dev/null |
    $PY -c 'import json,sys; p=json.load(sys.stdin)["features"][0]["properties"]; print(p["color:red"], p["color:green"], p["color:blue"], p["color:brightness"], p["color:method"], p["color:pixels"], p["color:source"])')"
  { near "$r" "$er" && near "$g" "$eg" && near "$b" "$eb" && [ "$gotsrc" = "$src" ]; } || {
    bad_s2=$((bad_s2 + 1))
    echo "  $id: got $r $g $b ($gotsrc), want $er $eg $eb ($src)"
  }
done <"$work/s2exp.txt"
check "Sentinel-2 means: TCI with 0 as no data; legacy bands scaled to the TCI range" eval "[ $bad_s2 -eq 0 ]"
"$SWATH" -q catalog stats --catalog "$work/s2.db" --ids nope >"$work/none.out" 2>&1
check "a selection matching nothing is fine" eval "grep -q '0 selected' '$work/none.out'"
rm -f "$gcs"/tiles/*/*/*/*/GRANULE/*/IMG_DATA/*TCI.jp2
"$SWATH" -q catalog stats --catalog "$work/s2.db" --force >"$work/fail.out" 2>"$work/fail.err"
rc=$?
check "unreadable assets: reported per scene, exit 1, the others still computed" eval \
  "[ $rc -eq 1 ] && grep -q 'failed' '$work/fail.out' && grep -q 'cannot open' '$work/fail.err' && grep -q 'computed' '$work/fail.out'"

# ---- over HTTP --------------------------------------------------------------------
"$SWATH" serve --catalog "$cat" --port 0 2>"$work/serve.log" &
track_bg $!
port=$(serve_port "$work/serve.log")
[ -n "$port" ] || die "server started" "$(cat "$work/serve.log")"
base="http://127.0.0.1:$port"
http=$(curl -s "$base/search?sortby=-color:red&collections=local" | $PY -c 'import json,sys; print(" ".join(f["id"] for f in json.load(sys.stdin)["features"]) + " ")')
check "HTTP sortby=-color:red gives the CLI's order" eval "[ '$http' = '$order' ]"
w=$(curl -s "$base/search?sortby=-color:red" | $PY -c 'import json,sys; print(len(json.load(sys.stdin).get("swath:warnings", [])))')
check "HTTP ranking over mixed methods carries a warning" eval "[ '$w' -ge 1 ]"
n=$(curl -s -X POST -d '{"filter":{"op":"and","args":[{"op":">","args":[{"property":"color:red"},100]},{"op":"=","args":[{"property":"color:method"},"exact"]}]}}' "$base/search" |
  $PY -c 'import json,sys; print(json.load(sys.stdin)["numberMatched"])')
want=$("$SWATH" -q catalog search --catalog "$cat" --filter '{"op":"and","args":[{"op":">","args":[{"property":"color:red"},100]},{"op":"=","args":[{"property":"color:method"},"exact"]}]}' 2>/dev/null | wc -l)
check "CQL2 filter on colour properties, same count over HTTP and CLI ($n)" eval "[ '$n' = '$want' ] && [ '$n' -ge 1 ]"

