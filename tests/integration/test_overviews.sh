#!/usr/bin/env bash
# test_overviews.sh: zooms below the highest are built from the four children.
#   - a zoom-(max-1) tile equals the 2x2 average over valid pixels of its four
#     child tiles (within 1 DN; a pixel is valid iff one of its 4 children is);
#   - overview_resampling: nearest picks one of the four children's values;
#   - with `overviews: false` each zoom is computed from the source: the tile
#     differs from the child average but equals gdalwarp at that zoom.
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/rgb.tif" --size 512
for v in average nearest off; do
  case $v in
  average) extra="" ;;
  nearest) extra="overview_resampling: nearest, " ;;
  off) extra="overviews: false, " ;;
  esac
  cat >"$WORK/$v.yaml" <<EOF
process: convert
inputs:
  img: data/rgb.tif
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: [13, 15]
output: {${extra}path: out/$v, format: PNG, warp_error: 0}
EOF
  check_run "convert zooms 13-15 ($v) exits 0" 0 run "$WORK/$v.yaml" --workers 2 --no-progress
done

cat >"$WORK/ov.py" <<'EOF'
import numpy as np
import swt

def children_block(root, z, x, y):
    """The four children of z/x/y as one 512x512 block: data [b, h, w], valid."""
    data = np.zeros((3, 512, 512))
    valid = np.zeros((512, 512), bool)
    for j in range(2):
        for i in range(2):
            p = swt.tile_path(root, z + 1, 2 * x + i, 2 * y + j, "png")
            try:
                t = swt.Tile(p)
            except Exception:
                continue  # a missing child has no data
            data[:, 256 * j:256 * j + 256, 256 * i:256 * i + 256] = t.data
            valid[256 * j:256 * j + 256, 256 * i:256 * i + 256] = t.valid
    return data, valid

def average2(data, valid):
    """2x2 mean over valid pixels; valid where any of the four is."""
    d = (data * valid).reshape(3, 256, 2, 256, 2).sum(axis=(2, 4))
    n = valid.reshape(256, 2, 256, 2).sum(axis=(1, 3))
    return np.where(n > 0, d / np.maximum(n, 1), 0), n > 0
EOF

py_checks "$WORK/out" "$WORK" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import numpy as np
import swt, ov
root = sys.argv[1]
for z in (14, 13):
    tiles = [t[1:] for t in swt.list_tiles(root + "/average", "png", z)]
    swt.check("average: zoom %d has tiles (%d)" % (z, len(tiles)), len(tiles) >= 2)
    bad, worst, partial = [], 0.0, 0
    for x, y in tiles:
        data, valid = ov.children_block(root + "/average", z, x, y)
        want, wvalid = ov.average2(data, valid)
        got = swt.Tile(swt.tile_path(root + "/average", z, x, y, "png"))
        if not (got.valid == wvalid).all():
            bad.append("%d/%d/%d: mask differs from the children's on %d px" % (z, x, y, (got.valid != wvalid).sum()))
            continue
        partial += not wvalid.all()
        d = np.abs(got.data - want)[:, wvalid]
        worst = max(worst, d.max() if d.size else 0)
        if d.size and d.max() > 1:
            bad.append("%d/%d/%d: max |parent - 2x2 average of children| = %.2f" % (z, x, y, d.max()))
    swt.check("average: every zoom-%d tile is the 2x2 average of its children over valid pixels "
              "(within 1 DN; worst %.2f; %d partial tiles)" % (z, worst, partial), tiles and not bad, "\n".join(bad[:10]))
    # Children that are missing entirely leave no tile above if all four are
    # (but for the one all-nodata tile that GDAL's STACTA driver needs at the
    # lowest zoom's top-left when no zoom has a tile there: docs/config.md).
    kids = {(x // 2, y // 2) for (_, x, y) in swt.list_tiles(root + "/average", "png", z + 1)}
    blank = {(x, y) for x, y in tiles if not swt.Tile(swt.tile_path(root + "/average", z, x, y, "png")).valid.any()}
    swt.check("average: zoom %d has a tile exactly where some child exists" % z,
              set(tiles) - blank == kids and (not blank or (z == 13 and blank == {min(tiles)})),
              "tiles without children %s, children without tile %s" % (sorted(set(tiles) - kids)[:5], sorted(kids - set(tiles))[:5]))

# nearest: each parent pixel holds one of its four children's valid values.
bad = []
tiles = [t[1:] for t in swt.list_tiles(root + "/nearest", "png", 14)]
for x, y in tiles[:12]:
    data, valid = ov.children_block(root + "/nearest", 14, x, y)
    got = swt.Tile(swt.tile_path(root + "/nearest", 14, x, y, "png"))
    d4 = data.reshape(3, 256, 2, 256, 2).transpose(0, 1, 3, 2, 4).reshape(3, 256, 256, 4)
    v4 = valid.reshape(256, 2, 256, 2).transpose(0, 2, 1, 3).reshape(256, 256, 4)
    match = ((d4 == got.data[..., None]).all(axis=0) & v4).any(axis=-1)
    miss = got.valid & ~match
    if miss.any():
        bad.append("14/%d/%d: %d px hold no child's value" % (x, y, miss.sum()))
swt.check("nearest: parent pixels are values of one of their children (%d tiles)" % len(tiles[:12]),
          tiles and not bad, "\n".join(bad[:10]))
EOF

py_checks "$WORK/out" "$WORK" "$WORK/data/rgb.tif" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import numpy as np
import swt, ov
root, work, src = sys.argv[1:4]
a, b = swt.checksums(root + "/average", "png"), swt.checksums(root + "/off", "png")
top = {t: v for t, v in a.items() if t[0] == 15}
swt.check("overviews: false gives the same highest zoom (%d tiles)" % len(top),
          top and top == {t: v for t, v in b.items() if t[0] == 15})
z = 14
tiles = [t[1:] for t in swt.list_tiles(root + "/off", "png", z)]
inside = [t for t in tiles if swt.box_inside_raster(swt.merc_bounds(z, *t), "EPSG:3857", src)]
sample = (inside + [t for t in tiles if t not in inside])[:6]
worst_avg, bad = 0.0, []
for x, y in sample:
    got = swt.Tile(swt.tile_path(root + "/off", z, x, y, "png"))
    data, valid = ov.children_block(root + "/off", z, x, y)
    want, wvalid = ov.average2(data, valid)
    both = got.valid & wvalid
    if both.any():
        worst_avg = max(worst_avg, np.abs(got.data - want)[:, both].max())
    ref = swt.Tile(swt.gdalwarp(src, "%s/off_%d_%d.tif" % (work, x, y), swt.merc_bounds(z, x, y), (256, 256),
                                extra=["-dstalpha"]))
    got.valid, ref.valid = got.alpha == 255, ref.alpha == 255
    ok, msg = swt.compare("%d/%d/%d" % (z, x, y), got, ref, 1.0, 0.05)
    if not ok:
        bad.append(msg)
swt.check("overviews: false: zoom-%d tiles differ from the child average (max %.0f DN)" % (z, worst_avg),
          sample and worst_avg > 4)
swt.check("overviews: false: zoom-%d tiles equal gdalwarp at that zoom within 1 DN (%d tiles)" % (z, len(sample)),
          sample and not bad, "\n".join(bad))
EOF
