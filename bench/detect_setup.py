#!/usr/bin/python3
"""detect_setup.py: the imagery, areas and chips of bench/detect.sh.

Writes into --out:
  scene_SEED.tif  one scene of models/solar/scenes.py, CORE x CORE px (z19)
  mosaic.vrt      REPEAT x REPEAT copies of it side by side, its top-left
                  corner on the zoom-19 metatile grid (tiles 274560, 183616:
                  multiples of 64), EPSG:3857
  wms.tif         the small area plus 1024 px around it, cut from the mosaic
                  (tiled GeoTIFF: what MapServer serves in (c))
  chips.f32       POOL chips of the small area on the run's chip lattice
                  (global zoom-19 pixel multiples of the stride), normalised
                  as src/process/detect.c's fill_chip does: float32 N x 3 x
                  256 x 256, (pixel * scale - mean) / std
  areas.sh        SMALL and LARGE ("x0, y0, x1, y1", EPSG:3857) and NCHIPS
                  ("pool lattice unique": the chips held, the lattice's chips
                  wholly inside the small area's buffered metatiles, and the
                  lattice chips whose top-left corner lies in the area)
"""
import argparse
import os
import subprocess
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
M = 20037508.342789244
TILE = 2 * M / 2 ** 19  # zoom-19 tile, m
PX = TILE / 256
TX0, TY0 = 274560, 183616  # near Zurich; multiples of 64 (metatiles of 8)
SIZE, OVERLAP = 256, 48
STRIDE = SIZE - OVERLAP
BUFFER = SIZE + OVERLAP  # detect's pixel_buffer: chip size + margin (= overlap)
META = 8 * 256
SCALE = 0.00392157
MEAN = np.array([0.485, 0.456, 0.406], np.float64)
STD = np.array([0.229, 0.224, 0.225], np.float64)


def chips_on_axis(a0, a1):
    """Lattice positions j * STRIDE with the chip inside [a0, a1)."""
    lo = -(-a0 // STRIDE)
    hi = (a1 - SIZE) // STRIDE
    return max(0, hi - lo + 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--core", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--pool", type=int, default=64)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    core, rep, out = a.core, a.repeat, a.out
    ox, oy = -M + TX0 * TILE, M - TY0 * TILE
    subprocess.run([sys.executable, a.scenes, "--seed", str(a.seed), "--size", str(core),
                    "--origin", "%.10f,%.10f" % (ox, oy), "--out", out], check=True)
    scene = os.path.join(out, "scene_%d.tif" % a.seed)
    copies = []
    for i in range(rep):
        for j in range(rep):
            x0, y0 = ox + j * core * PX, oy - i * core * PX
            p = os.path.join(out, "copy_%d_%d.vrt" % (i, j))
            gdal.Translate(p, scene, format="VRT", outputBounds=[x0, y0, x0 + core * PX, y0 - core * PX])
            copies.append(p)
    gdal.BuildVRT(os.path.join(out, "mosaic.vrt"), copies)

    # The small area: an inner copy (its buffer holds imagery), else the first.
    k = 1 if rep >= 3 else 0
    c0 = TX0 * 256 + k * core  # global zoom-19 pixel column of its left edge
    r0 = TY0 * 256 + k * core
    sx0, sy1 = -M + c0 * PX, M - r0 * PX
    sx1, sy0 = sx0 + core * PX, sy1 - core * PX
    lx0, ly1 = ox, oy
    lx1, ly0 = ox + rep * core * PX, oy - rep * core * PX
    m = 1024 * PX
    gdal.Translate(os.path.join(out, "wms.tif"), os.path.join(out, "mosaic.vrt"),
                   projWin=[sx0 - m, sy1 + m, sx1 + m, sy0 - m], creationOptions=["TILED=YES"])

    # Chip counts: every metatile of the small area runs the lattice's chips
    # inside its block (the metatile and BUFFER px around it).
    lattice = 0
    for mr in range(r0, r0 + core, META):
        for mc in range(c0, c0 + core, META):
            lattice += chips_on_axis(mc - BUFFER, mc + META + BUFFER) * \
                chips_on_axis(mr - BUFFER, mr + META + BUFFER)
    per_axis = len(range(-(-c0 // STRIDE) * STRIDE, c0 + core, STRIDE))
    unique = per_axis * len(range(-(-r0 // STRIDE) * STRIDE, r0 + core, STRIDE))

    # The pool: the area's first lattice chips, row by row.
    ds = gdal.Open(os.path.join(out, "mosaic.vrt"))
    win = ds.ReadAsArray(k * core, k * core, core, core).astype(np.float64)  # 3 x H x W
    sc = SCALE / STD
    off = -MEAN / STD
    chips = []
    j0 = -(-c0 // STRIDE) * STRIDE - c0
    i0 = -(-r0 // STRIDE) * STRIDE - r0
    for y in range(i0, core - SIZE + 1, STRIDE):
        for x in range(j0, core - SIZE + 1, STRIDE):
            if len(chips) < a.pool:
                c = win[:, y:y + SIZE, x:x + SIZE] * sc[:, None, None] + off[:, None, None]
                chips.append(c.astype("<f4"))
    np.stack(chips).tofile(os.path.join(out, "chips.f32"))
    with open(os.path.join(out, "areas.sh"), "w") as f:
        f.write('SMALL="%.4f, %.4f, %.4f, %.4f"\n' % (sx0, sy0, sx1, sy1))
        f.write('LARGE="%.4f, %.4f, %.4f, %.4f"\n' % (lx0, ly0, lx1, ly1))
        f.write('NCHIPS="%d %d %d"\n' % (len(chips), lattice, unique))
    print("small %s, large %s, chips %d %d %d" % ((sx0, sy0, sx1, sy1), (lx0, ly0, lx1, ly1),
                                                   len(chips), lattice, unique))


if __name__ == "__main__":
    main()
