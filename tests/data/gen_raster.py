#!/usr/bin/python3
"""Generate the synthetic rasters that the demo, tests and benchmarks use.

Nothing is downloaded and nothing large is kept in git: every raster is made
here, deterministically (fixed formulas, no randomness), with GDAL.

  gen_raster.py dem  OUT.tif [--size N] [--crs EPSG:32632] [--center X,Y] [--res R] [--nodata]
  gen_raster.py rgb  OUT.tif [--size N] ...
  gen_raster.py bands OUT.tif [--size N] ...   # 2-band Float32 (nir, red) for NDVI

dem:   Float32 hills (sum of smooth bumps and a ridge), nodata -9999 in a
       corner disc when --nodata is given.
rgb:   3-band Byte image with gradients and stripes (edges for resampling).
bands: nir and red reflectance-like Float32 bands.
Defaults: EPSG:32632 centred near Zurich (463000, 5247000), 10 m pixels.
"""
import argparse
import sys

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["dem", "rgb", "bands"])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--crs", default="EPSG:32632")
    ap.add_argument("--center", default="463000,5247000")
    ap.add_argument("--res", type=float, default=10.0)
    ap.add_argument("--nodata", action="store_true")
    ap.add_argument("--compress", default="DEFLATE")
    a = ap.parse_args()

    n = a.size
    cx, cy = (float(v) for v in a.center.split(","))
    srs = osr.SpatialReference()
    srs.SetFromUserInput(a.crs)
    gt = (cx - n / 2 * a.res, a.res, 0, cy + n / 2 * a.res, 0, -a.res)

    drv = gdal.GetDriverByName("GTiff")
    opts = ["TILED=YES", "COMPRESS=" + a.compress, "BIGTIFF=IF_SAFER"]
    bands = {"dem": 1, "rgb": 3, "bands": 2}[a.kind]
    dtype = gdal.GDT_Byte if a.kind == "rgb" else gdal.GDT_Float32
    ds = drv.Create(a.out, n, n, bands, dtype, opts)
    ds.SetGeoTransform(gt)
    ds.SetProjection(srs.ExportToWkt())

    # Write in strips so that large rasters need little memory.
    strip = 512
    for y0 in range(0, n, strip):
        h = min(strip, n - y0)
        yy, xx = np.mgrid[y0:y0 + h, 0:n].astype(np.float64)
        u, v = xx / n, yy / n
        if a.kind == "dem":
            z = (800 + 400 * np.sin(6.0 * u) * np.cos(5.0 * v)
                 + 250 * np.exp(-((u - 0.3) ** 2 + (v - 0.6) ** 2) / 0.02)
                 + 120 * np.abs(np.sin(20 * (u + 0.5 * v)))
                 + 30 * np.sin(60 * u) * np.sin(47 * v))
            if a.nodata:
                z[(u - 0.1) ** 2 + (v - 0.1) ** 2 < 0.005] = -9999
            ds.GetRasterBand(1).WriteArray(z.astype(np.float32), 0, y0)
        elif a.kind == "rgb":
            r = 128 + 127 * np.sin(12 * u + 3 * v)
            g = 255 * v
            b = np.where((np.floor(xx / 37) + np.floor(yy / 29)) % 2 == 0, 40, 220)
            for i, arr in enumerate((r, g, b)):
                ds.GetRasterBand(i + 1).WriteArray(np.clip(arr, 0, 255).astype(np.uint8), 0, y0)
        else:
            nir = 0.3 + 0.25 * np.sin(9 * u) * np.cos(7 * v)
            red = 0.1 + 0.05 * np.cos(11 * u + 2 * v)
            ds.GetRasterBand(1).WriteArray(nir.astype(np.float32), 0, y0)
            ds.GetRasterBand(2).WriteArray(red.astype(np.float32), 0, y0)
    if a.kind == "dem" and a.nodata:
        ds.GetRasterBand(1).SetNoDataValue(-9999)
    if a.kind == "rgb":
        for i, ci in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)):
            ds.GetRasterBand(i + 1).SetColorInterpretation(ci)
    ds = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
