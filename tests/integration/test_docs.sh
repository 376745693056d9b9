#!/usr/bin/env bash
# test_docs.sh: every fenced code block of README.md and docs/*.md is run or
# checked (tests/integration/docs_test.py says how a block is classified, and
# how a block is marked to be skipped or checked as example output; the rules
# are also in docs/internals.md, "The docs test"). This script makes the
# placeholder data the docs assume and starts the servers their examples
# talk to, then runs docs_test.py, whose ok/FAIL lines are counted here.
#
# Placeholder data, copied into each doc's sandbox (its working folder):
#   data/dem.tif        the DEM `make demo` makes (2048 px, 10 m, near Zurich;
#                       it covers the README's bounds)
#   data/rgb.tif        an RGB image (512 px, 10 m, near Zurich)
#   data/B08.tif, data/B04.tif   NIR and red Float32 bands (512 px)
#   zurich.geojson      a polygon inside the DEM
#   index.csv.gz        a Sentinel-2 index (Google's schema): granules over
#                       Copenhagen in June 2023 whose BASE_URL is a local
#                       folder with their TCI (gcs/), one across the
#                       antimeridian, one of the old naming
#   job.yaml            a small job over a remote XYZ input (the local tiles)
#   old.so              a plugin built for plugin ABI 0
#   examples/, include/, models/, tests/data/gen_raster.py   copies from the tree
# Servers (servers.sh, one lighttpd), for the URLs docs_test.py rewrites:
#   https://tiles.example.org/{z}/{x}/{y}.png   a tile tree swath made of data/rgb.tif
#   https://example.org/cog.tif                 data/rgb.tif, over HTTP
#   https://wms.example.org/service             MapServer: layer ortho_2024 (EPSG:2056 raster)
#   https://example.org/wmts/1.0.0/WMTSCapabilities.xml   MapCache: layer ortho
#   127.0.0.1:8080                              a free port for `swath serve`
# Also runs examples/demo.sh (what `make demo` runs after building) in a copy.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

FIX=$WORK/fixtures
WWW=$WORK/www
mkdir -p "$FIX/data" "$FIX/gcs" "$FIX/tests/data" "$WWW/example.org" "$WORK/bin" "$WORK/docs"
ln -s "$SWATH" "$WORK/bin/swath"

gen_dem "$FIX/data/dem.tif" --size 2048 --nodata
gen_rgb "$FIX/data/rgb.tif" --size 512
gen_bands "$WORK/bands.tif" --size 512
gdal_translate -q -b 1 "$WORK/bands.tif" "$FIX/data/B08.tif" || die "data/B08.tif"
gdal_translate -q -b 2 "$WORK/bands.tif" "$FIX/data/B04.tif" || die "data/B04.tif"
gen_rgb "$WORK/ortho2056.tif" --size 1024 --crs EPSG:2056 --center 2683000,1248000
cp "$FIX/data/rgb.tif" "$WWW/example.org/cog.tif"
cp -r "$SWATH_SRC/examples" "$SWATH_SRC/include" "$SWATH_SRC/models" "$FIX/"
rm -f "$FIX/examples/plugin/"*.so
cp "$SWATH_SRC/tests/data/gen_raster.py" "$FIX/tests/data/"

"$PY" - "$FIX" <<'EOF' || die "placeholder data written"
import csv, gzip, io, json, os, sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
fix = sys.argv[1]
json.dump({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Zurich"},
           "geometry": {"type": "Polygon", "coordinates": [[[8.48, 47.35], [8.56, 47.35], [8.58, 47.40],
                                                             [8.50, 47.42], [8.48, 47.35]]]}}]},
          open(fix + "/zurich.geojson", "w"))
# Granules: (granule id, product id, MGRS tile, sensing time, cloud, N, S, W, E, local TCI)
rows = [
    ("L1C_T32UPE_A041234_20230615T102559", "S2A_MSIL1C_20230615T102031_N0509_R065_T32UPE_20230615T123456",
     "32UPE", "2023-06-15T10:25:59.024000Z", 12.5, 55.95, 54.95, 11.9, 12.8, True),
    ("L1C_T33UUB_A041277_20230618T103630", "S2B_MSIL1C_20230618T103629_N0509_R008_T33UUB_20230618T124501",
     "33UUB", "2023-06-18T10:36:30.500000Z", 4.25, 55.9, 55.0, 12.1, 13.0, True),
    ("L1C_T32UPF_A041320_20230621T102601", "S2A_MSIL1C_20230621T102031_N0509_R065_T32UPF_20230621T130102",
     "32UPF", "2023-06-21T10:26:01.250000Z", 35.0, 56.0, 55.2, 11.8, 12.7, True),
    ("L1C_T32UPE_A041377_20230625T102559", "S2B_MSIL1C_20230625T102029_N0509_R065_T32UPE_20230625T122233",
     "32UPE", "2023-06-25T10:25:59.900000Z", 18.0, 55.95, 54.95, 11.9, 12.8, True),
    ("L1C_T01KAB_A041500_20230610T221000", "S2A_MSIL1C_20230610T220959_N0509_R001_T01KAB_20230611T010101",
     "01KAB", "2023-06-10T22:10:00.000000Z", 50.0, -10.5, -11.5, 179.6, -179.5, False),
    ("S2A_OPER_MSI_L1C_TL_SGS__20160115T101500_A002930_T32TMT_N02.01",
     "S2A_OPER_PRD_MSIL1C_PDMC_20160115T170000_R022_V20160115T101500_20160115T101500",
     "32TMT", "2016-01-15T10:15:00.000000Z", 60.0, 47.8, 46.8, 7.6, 9.0, False),
]
out = io.StringIO()
w = csv.writer(out, lineterminator="\n")
w.writerow("GRANULE_ID,PRODUCT_ID,DATATAKE_IDENTIFIER,MGRS_TILE,SENSING_TIME,TOTAL_SIZE,CLOUD_COVER,"
           "GEOMETRIC_QUALITY_FLAG,GENERATION_TIME,NORTH_LAT,SOUTH_LAT,WEST_LON,EAST_LON,BASE_URL".split(","))
yy, xx = np.mgrid[0:128, 0:128]
for i, (g, p, mg, t, cloud, n, s, we, e, local) in enumerate(rows):
    sq = "%s/%s/%s" % (mg[:2], mg[2], mg[3:])
    base = ("%s/gcs/tiles/%s/%s.SAFE" % (fix, sq, p) if local
            else "gs://gcp-public-data-sentinel-2/tiles/%s/%s.SAFE" % (sq, p))
    w.writerow([g, p, "GS2A_%s_%06d_N05.09" % (t[:19].replace("-", "").replace(":", ""), i), mg, t,
                "800000000", cloud, "PASSED", t, n, s, we, e, base])
    if local:
        d = "%s/GRANULE/%s/IMG_DATA" % (base, g)
        os.makedirs(d, exist_ok=True)
        ds = gdal.GetDriverByName("GTiff").Create("%s/T%s_%s_TCI.jp2" % (d, mg, p.split("_")[2]),
                                                  128, 128, 3, gdal.GDT_Byte)
        for k, a in enumerate((60 + 20 * i + xx % 50, 90 + yy % 60, 120 + 0 * xx)):
            ds.GetRasterBand(k + 1).WriteArray(a.astype(np.uint8))
        ds = None
with gzip.open(fix + "/index.csv.gz", "wt") as f:
    f.write(out.getvalue())
EOF

# A plugin built for ABI 0 (docs/plugins.md shows the message it gets).
printf '#include "swath/plugin.h"\nstatic const swath_process_vtable v = {.abi_version = 0, .name = "old"};\nconst swath_process_vtable *swath_plugin_entry(int abi) { (void)abi; return &v; }\n' >"$WORK/old.c"
cc -shared -fPIC -I"$SWATH_SRC/include" "$WORK/old.c" -o "$FIX/old.so" || die "old.so built"

# The tile tree behind https://tiles.example.org/, made by swath.
cat >"$WORK/tiles.yaml" <<EOF
process: convert
inputs: {img: $FIX/data/rgb.tif}
zoom: [13, 15]
output: {path: $WWW/tiles.example.org, format: PNG}
EOF
"$SWATH" -q run "$WORK/tiles.yaml" --no-progress >"$WORK/tiles.log" 2>&1 || die "tile tree made" "$(cat "$WORK/tiles.log")"

servers_start_lighttpd "$WWW" || die "lighttpd starts"
servers_mapfile "$WORK/ortho_2024.map" "$WORK/ortho2056.tif" ortho_2024 || die "WMS mapfile"
servers_mapfile "$WORK/ortho.map" "$WORK/ortho2056.tif" ortho || die "WMTS mapfile"
servers_wmts "$WORK/ortho.map" ortho image/png || die "MapCache WMTS"
export DOCS_WMS_URL DOCS_WMTS_CAPS DOCS_SERVE_PORT DOCS_FIXTURES DOCS_WORK DOCS_BIN SWATH SWATH_SRC
DOCS_WMS_URL=$(servers_wms_url "$WORK/ortho_2024.map")
DOCS_WMTS_CAPS=$SERVERS_WMTS_CAPS
DOCS_SERVE_PORT=$(_servers_free_port)
DOCS_FIXTURES=$FIX
DOCS_WORK=$WORK/docs
DOCS_BIN=$WORK/bin

cat >"$FIX/job.yaml" <<EOF
# A small job over a remote XYZ input (the local tile server).
process: convert
inputs:
  imagery: {type: xyz, url: "$SERVERS_URL/tiles.example.org/{z}/{x}/{y}.png", max_zoom: 15}
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: 15
area: {bounds: [8.505, 47.37, 8.515, 47.375], crs: EPSG:4326}
output: {path: out/imagery}
EOF

# What `make demo` runs once it has built swath, in a copy of the tree.
mkdir -p "$WORK/demo/tests/data"
cp -r "$SWATH_SRC/examples" "$SWATH_SRC/models" "$WORK/demo/"
cp "$SWATH_SRC/tests/data/gen_raster.py" "$WORK/demo/tests/data/"
if (cd "$WORK/demo" && bash examples/demo.sh "$SWATH") >"$WORK/demo.log" 2>&1 &&
  grep -q "STACTA" "$WORK/demo.log" && grep -q "already done" "$WORK/demo.log"; then
  pass "examples/demo.sh (make demo) runs"
else
  fail "examples/demo.sh (make demo) runs" "$(tail -n 20 "$WORK/demo.log")"
fi

py_checks <"$SWATH_SRC/tests/integration/docs_test.py"
# (docs_test.py stops the `swath serve` it started; should it have died first)
for f in "$DOCS_WORK"/*/serve.pids; do
  [ -f "$f" ] && while read -r p; do kill "$p" 2>/dev/null; done <"$f"
done
