#!/usr/bin/python3
"""real_raster.py OUT.tif [--size N] [--res R] [--upsample F]: a
georeferenced RGB GeoTIFF made of real photographs, for the benchmarks whose
speed and output size depend on how well tiles compress (PNG, JPEG, WEBP).

Generated rasters (gen_raster.py) compress about three times better than
aerial or satellite imagery: 9 KB against 28 KB per 256 px PNG tile in the
pyramid benchmark. This one is made of the photographs of Debian's
lomiri-wallpapers-16.04 package (landscapes, mountains, a forest stream,
leaves, grass, dandelions, a dog at a wooden house, a table; CC-BY-4.0,
CC-BY-SA-4.0 and CC0-1.0, see /usr/share/doc/lomiri-wallpapers-16.04/
copyright), installed by scripts/install-deps.sh.

The image is a mosaic of blocks: each block is a square cut from a
photograph at the camera's resolution (size/4/F px) and resampled by F
(default 2, bilinear) to size/4 px. With F = 2 the pyramid benchmark's PNG
tiles average about 28 KB, what a Landsat composite shown at 1.2 m a pixel
gives; F = 1 (no resampling: the camera's detail, 50 KB per tile) is harder
to compress than any aerial imagery. The 16 blocks are taken in turn from the
12 photographs below, each photograph's blocks nearest its centre first.
The mosaic is placed like gen_raster.py's rasters: EPSG:32632, centred near
Zurich (463000, 5247000), --res metres a pixel (default 1.2), tiled and
DEFLATE-compressed. Deterministic: the same file every time.

Exits 2 with one line if the package is not installed."""
import argparse
import os
import sys

from osgeo import gdal

gdal.UseExceptions()

DIR = "/usr/share/backgrounds"
# The photographs of lomiri-wallpapers-16.04 at least 2048 px on both sides
# (umang is digital art; Picture_0B and Picture_1A are smaller).
PHOTOS = [
    "Bridge_by_Sander_Klootwijk.jpg",
    "Dragonfly_by_Bolly.jpg",
    "Wine_by_Jakkub_Mede.jpg",
    "aitzgorri_by_Aitzol_Berasategi.jpg",
    "analogpattern_by_Peter_Nerlich.jpg",
    "free_by_Peter_Nerlich.jpg",
    "friends_by_Aitzol_Berasategi.jpg",
    "greentock_by_Peter_Nerlich.jpg",
    "life_by_Aitzol_Berasategi.jpg",
    "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "seeding_by_Clements_Engelhardt.jpg",
    "sunset_by_Aitzol_Berasategi.jpg",
]


def photo_blocks(path, cut):
    """(path, x, y) of the cut x cut squares of a photograph, on a grid
    centred in it, nearest the centre first."""
    ds = gdal.Open(path)
    w, h = ds.RasterXSize, ds.RasterYSize
    nx, ny = w // cut, h // cut
    x0, y0 = (w - nx * cut) // 2, (h - ny * cut) // 2
    cells = [(i, j) for j in range(ny) for i in range(nx)]
    cells.sort(key=lambda c: ((c[0] + 0.5) * cut + x0 - w / 2) ** 2 + ((c[1] + 0.5) * cut + y0 - h / 2) ** 2)
    return [(path, x0 + i * cut, y0 + j * cut) for i, j in cells]


def blocks(cut, count):
    """count blocks, taken in turn from each photograph."""
    lists = [photo_blocks(os.path.join(DIR, p), cut) for p in PHOTOS]
    out = []
    for k in range(max(len(b) for b in lists)):
        out += [b[k] for b in lists if k < len(b)]
    if len(out) < count:
        sys.exit(f"real_raster.py: the photographs hold {len(out)} blocks of {cut} px, not {count}")
    return out[:count]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--res", type=float, default=1.2)
    ap.add_argument("--upsample", type=float, default=2.0)
    a = ap.parse_args()
    if a.size <= 0 or a.size % 4 or not 1 <= a.upsample <= 8:
        sys.exit("real_raster.py: --size must be a positive multiple of 4 and --upsample 1-8")
    missing = [p for p in PHOTOS if not os.path.exists(os.path.join(DIR, p))]
    if missing:
        print(
            "real_raster.py: the photographs of Debian's lomiri-wallpapers-16.04 are missing "
            f"({os.path.join(DIR, missing[0])}): run scripts/install-deps.sh",
            file=sys.stderr,
        )
        sys.exit(2)
    block = a.size // 4
    cut = int(round(block / a.upsample))
    cx, cy = 463000.0, 5247000.0
    half = a.size * a.res / 2
    tmp = a.out + ".part"
    ds = gdal.GetDriverByName("GTiff").Create(
        tmp, a.size, a.size, 3, gdal.GDT_Byte, ["TILED=YES", "COMPRESS=DEFLATE", "PHOTOMETRIC=RGB"]
    )
    ds.SetGeoTransform([cx - half, a.res, 0, cy + half, 0, -a.res])
    ds.SetProjection("EPSG:32632")
    for k, (path, x, y) in enumerate(blocks(cut, 16)):
        data = gdal.Open(path).ReadRaster(
            x, y, cut, cut, block, block, band_list=[1, 2, 3], resample_alg=gdal.GRIORA_Bilinear
        )
        ds.WriteRaster((k % 4) * block, (k // 4) * block, block, block, data, band_list=[1, 2, 3])
    ds = None
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
