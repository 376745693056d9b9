#!/usr/bin/env bash
# test_png_trns.sh: PNG tiles whose transparency is a colour key (a tRNS chunk
# in an RGB or grey PNG, no alpha channel), served by lighttpd as XYZ.
#
# Tiles of zoom 15 are written with GDAL's PNG driver from a MEM dataset with
# nodata, which becomes the tRNS key (checked: the chunk is there and GDAL
# reads the key back as the bands' nodata). Some pixels have the key colour;
# others match it in one or two channels only (opaque: the key is the whole
# colour). A job over the XYZ source on the same grid (near: one output pixel
# per source pixel) must make exactly the key pixels transparent, for RGB
# and for grey tiles.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

DOC=$WORK/doc
mkdir -p "$DOC"
# Zoom-15 tiles 17160-17162 x 11474-11476 (Zurich).
py "$DOC" <<'PY' || die "tRNS tiles written"
import os, sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
doc = sys.argv[1]
KEY = (10, 20, 30)
for kind in ("rgb", "grey"):
    for x in range(17160, 17163):
        for y in range(11474, 11477):
            yy, xx = np.mgrid[0:256, 0:256]
            seed = (x * 7 + y * 13) % 17
            r = ((xx + seed) * 3 % 200 + 40).astype(np.uint8)
            g = ((yy + seed) * 5 % 200 + 40).astype(np.uint8)
            b = ((xx + yy) % 200 + 40).astype(np.uint8)
            hole = (xx - 128) ** 2 + (yy - 100 - seed) ** 2 < (40 + 3 * seed) ** 2
            stripe = (xx // 8 + yy // 8 + seed) % 5 == 0
            if kind == "rgb":
                r[hole | stripe], g[hole | stripe], b[hole | stripe] = KEY
                # one or two channels of the key: opaque
                near = (yy > 220) & (xx < 120)
                r[near], g[near] = KEY[0], KEY[1]
                near2 = (yy > 220) & (xx >= 120)
                b[near2] = KEY[2]
                bands = [r, g, b]
            else:
                r[hole | stripe] = KEY[0]
                bands = [r]
            ds = gdal.GetDriverByName("MEM").Create("", 256, 256, len(bands), gdal.GDT_Byte)
            for i, a in enumerate(bands):
                ds.GetRasterBand(i + 1).WriteArray(a)
                ds.GetRasterBand(i + 1).SetNoDataValue(KEY[i])
            p = os.path.join(doc, kind, "15", str(x), "%d.png" % y)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            gdal.GetDriverByName("PNG").CreateCopy(p, ds)
PY
check_py "the tiles carry a tRNS colour key that GDAL reads as nodata" "$DOC" <<'PY'
import glob, struct, sys
from osgeo import gdal
gdal.UseExceptions()
want = {"rgb": ([10.0, 20.0, 30.0], 2), "grey": ([10.0], 0)}
n = 0
for kind, (nodata, ctype) in want.items():
    for p in glob.glob(sys.argv[1] + "/" + kind + "/15/*/*.png"):
        b = open(p, "rb").read()
        assert b[25] == ctype and b"tRNS" in b, (p, b[25])
        ds = gdal.Open(p)
        got = [ds.GetRasterBand(i + 1).GetNoDataValue() for i in range(ds.RasterCount)]
        assert got == nodata, (p, got)
        n += 1
print(n, "tiles: colour type 2 (RGB) or 0 (grey) with tRNS, nodata", want["rgb"][0], want["grey"][0])
sys.exit(0 if n == 18 else 1)
PY
servers_start_lighttpd "$DOC" || die "lighttpd starts"

job() { # job NAME KIND BANDS
  cat >"$WORK/$1.yaml" <<JOB
process: convert
inputs:
  img: {type: xyz, url: "$SERVERS_URL/$2/{z}/{x}/{y}.png", zoom: 15, bands: $3, empty_status: [404]}
grid: {name: WebMercatorQuad, metatiling: 1}
zoom: [15, 15]
area: {bounds: [8.5260, 47.3615, 8.5580, 47.3830], crs: EPSG:4326}
cache: {path: $WORK/cache}
output: {path: $WORK/out-$1, format: PNG, resampling: near, warp_error: 0}
JOB
}
for kind in "rgb 3" "grey 1"; do
  read -r k bands <<<"$kind"
  job "$k" "$k" "$bands"
  check_run "$k: run" 0 run "$WORK/$k.yaml" --no-progress
  check_py "$k: exactly the key-coloured pixels are transparent" "$DOC/$k" "$WORK/out-$k" <<'PY'
import glob, os, sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
src, out = sys.argv[1], sys.argv[2]
KEY = (10, 20, 30)
n = keyed = partial = 0
for p in sorted(glob.glob(src + "/15/*/*.png")):
    t = os.path.relpath(p, src)
    a = gdal.Open(p).ReadAsArray()
    a = a if a.ndim == 3 else a[None]
    key = np.all([a[i] == KEY[i] for i in range(a.shape[0])], axis=0)
    q = os.path.join(out, t)
    if not os.path.exists(q):
        print("missing output tile", t); sys.exit(1)
    o = gdal.Open(q).ReadAsArray()
    alpha = o[-1]
    if ((alpha == 0) != key).any():
        print(t, "transparent where not keyed:", int(((alpha == 0) & ~key).sum()),
              "opaque where keyed:", int(((alpha > 0) & key).sum()))
        sys.exit(1)
    if (o[:-1][:, ~key] != a[:, ~key]).any():
        print(t, "opaque pixels differ from the source"); sys.exit(1)
    n += 1
    keyed += int(key.sum())
    if a.shape[0] == 3:
        partial += int((np.any([a[i] == KEY[i] for i in range(3)], axis=0) & ~key).sum())
print(n, "tiles,", keyed, "transparent pixels as in the source;", partial, "partial matches stay opaque")
sys.exit(0 if n == 9 and keyed > 10000 and (partial > 1000 or "grey" in src) else 1)
PY
done
