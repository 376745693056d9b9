#!/usr/bin/env bash
# test_oracle_convert.sh: `convert` tiles equal gdalwarp of the same tile
# bounds (-t_srs EPSG:3857 -te <tile> -ts 256 256 -r <method> -dstalpha)
# within 1 DN on every pixel where both alphas are 255, for near, bilinear and
# cubic, on a sample of highest-zoom tiles: inside the raster and on its edge.
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/rgb.tif" --size 512

for method in bilinear near cubic; do
  case $method in bilinear) m=2 ;; near) m=1 ;; cubic) m=4 ;; esac
  cat >"$WORK/$method.yaml" <<EOF
process: convert
inputs:
  img: data/rgb.tif
grid: {name: WebMercatorQuad, metatiling: $m}
zoom: [14, 15]
output: {path: out/$method, format: PNG, resampling: $method, warp_error: 0}
EOF
  check_run "convert with resampling $method (metatiling $m) exits 0" 0 \
    run "$WORK/$method.yaml" --workers 2 --no-progress || continue
  py_checks "$WORK/out/$method" "$WORK/data/rgb.tif" "$WORK" "$method" <<'EOF'
import sys, swt
out, src, work, method = sys.argv[1:5]
z = 15
tiles = [t[1:] for t in swt.list_tiles(out, "png", z)]
# Tiles with data: not the one all-nodata tile GDAL's STACTA driver may need
# at the top-left of the limits (docs/config.md, "Empty tiles").
tiles = [t for t in tiles if swt.Tile(swt.tile_path(out, z, *t, "png")).valid.any()]
inside = [t for t in tiles if swt.box_inside_raster(swt.merc_bounds(z, *t), "EPSG:3857", src)]
edge = [t for t in tiles if t not in inside]
# A spread-out sample: every third inside tile (up to 6) and 4 edge tiles.
sample = inside[::3][:6] + edge[:: max(1, len(edge) // 4)][:4]
swt.check("%s: sample of %d inside and %d edge tiles" % (method, len(inside[::3][:6]), len(sample) - len(inside[::3][:6])),
          len(inside) >= 2 and len(edge) >= 2)
bad, msgs = [], []
for x, y in sample:
    ref = swt.gdalwarp(src, "%s/ref_%s_%d_%d.tif" % (work, method, x, y), swt.merc_bounds(z, x, y),
                       (256, 256), resampling=method, extra=["-dstalpha"])
    got, want = swt.Tile(swt.tile_path(out, z, x, y, "png")), swt.Tile(ref)
    # Compare where both alphas are 255 (partly covered edge pixels excluded).
    got.valid = got.alpha == 255
    want.valid = want.alpha == 255
    # Edge tiles may hold only a sliver of the raster: no minimum overlap there.
    ok, msg = swt.compare("%d/%d/%d" % (z, x, y), got, want, 1.0, 0.05 if (x, y) in inside else 0.0)
    msgs.append(msg)
    if (x, y) in inside and not (got.valid.all() and want.valid.all()):
        ok = False
        msg += " (inside tile not fully opaque: swath %d, gdalwarp %d px)" % (got.valid.sum(), want.valid.sum())
    if not ok:
        bad.append(msg)
swt.check("%s: tiles equal gdalwarp within 1 DN where both alphas are 255" % method, not bad,
          "\n".join(bad or msgs))
# The masks agree too: pixels opaque in one and fully transparent in the other
# are rare (only along the raster's edge, where the two may round differently).
worst = 0.0
for x, y in sample:
    got = swt.Tile(swt.tile_path(out, z, x, y, "png"))
    want = swt.Tile("%s/ref_%s_%d_%d.tif" % (work, method, x, y))
    diff = ((got.alpha == 255) & (want.alpha == 0)) | ((got.alpha == 0) & (want.alpha == 255))
    worst = max(worst, diff.mean())
swt.check("%s: alpha agrees with gdalwarp's (worst tile: %.3f%% of pixels opaque in one, empty in the other)"
          % (method, 100 * worst), worst < 0.01)
EOF
done
