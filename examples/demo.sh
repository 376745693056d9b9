#!/usr/bin/env bash
# demo.sh SWATH: generate a DEM, run examples/demo.yaml on it, show what came
# out; then find solar panels in a generated scene with the model in
# models/solar (examples/solar.yaml) and export them. Offline: the data is
# made here. Output lands in demo-out/ (git-ignored).
set -euo pipefail
swath=${1:-build/swath}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/demo-out"
mkdir -p "$out/data"
cp "$root/examples/demo.yaml" "$out/demo.yaml"
[ -f "$out/data/dem.tif" ] || /usr/bin/python3 "$root/tests/data/gen_raster.py" dem "$out/data/dem.tif" --size 2048 --nodata
echo "== swath run demo-out/demo.yaml"
"$swath" run "$out/demo.yaml" --overwrite
echo
echo "== what it wrote"
echo "tiles per zoom:"
for z in "$out"/out/hillshade/[0-9]*; do printf '  zoom %s: %s tiles\n' "$(basename "$z")" "$(find "$z" -name '*.png' | wc -l)"; done
ls "$out/out/hillshade"
echo
echo "== GDAL opens the pyramid through its STAC tiled-assets item"
gdalinfo "STACTA:$out/out/hillshade/stac.json" | sed -n '1,4p'
# Tiles without data are not written; the open option reads those gaps as
# no data (output.empty_tiles: link makes it unnecessary, docs/config.md).
echo "gdal_translate -oo SKIP_MISSING_METATILE=YES STACTA:demo-out/out/hillshade/stac.json demo-out/hillshade.tif"
gdal_translate -q -oo SKIP_MISSING_METATILE=YES "STACTA:$out/out/hillshade/stac.json" "$out/hillshade.tif"
gdalinfo "$out/hillshade.tif" | grep '^Size is'
echo
echo "== a second run resumes: nothing is redone"
"$swath" run "$out/demo.yaml"
echo
echo "Open $out/out/hillshade/stac.json in QGIS with the open option SKIP_MISSING_METATILE=YES (or the"
echo "environment variable GDAL_STACTA_SKIP_MISSING_METATILE=YES), or serve the folder and point any XYZ"
echo "client at {z}/{x}/{y}.png."

echo
echo "== detection: solar panels in a generated 0.3 m scene (examples/solar.yaml, models/solar)"
mkdir -p "$out/models"
rm -rf "$out/models/solar" && cp -r "$root/models/solar" "$out/models/solar"
sed 's#\.\./models/solar#models/solar#' "$root/examples/solar.yaml" >"$out/solar.yaml"
[ -f "$out/data/scene_7.tif" ] ||
  /usr/bin/python3 "$root/models/solar/scenes.py" --seed 7 --size 2048 --origin 949000,6004000 --out "$out/data" >/dev/null
"$swath" run "$out/solar.yaml" --overwrite
echo "swath export demo-out/out/solar --format geojson --threshold 0.5 > demo-out/panels.geojson"
"$swath" export "$out/out/solar" --format geojson --threshold 0.5 >"$out/panels.geojson"
echo "swath export demo-out/out/solar --format csv --threshold 0.5 > demo-out/panels.csv"
"$swath" export "$out/out/solar" --format csv --threshold 0.5 >"$out/panels.csv"
head -n 3 "$out/panels.csv"
echo "Open demo-out/panels.geojson over demo-out/data/scene_7.tif in QGIS; demo-out/out/solar/heatmap/tilejson.json"
echo "is their density as XYZ tiles (zooms 14-18)."
