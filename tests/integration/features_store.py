"""features_store.py: features stores for the export and heatmap tests.

A store is what a detect run writes (docs/detection.md, "Features store"):
a GeoPackage with one layer `features` (any geometry type, the grid's CRS)
and the fields class, score, model, job, z, x, y, task, value. The tests
build stores of known features here and read them back with OGR as the
oracle for what swath exports.

    python3 features_store.py make STORE.gpkg [--epsg N] [--n N] [--seed S]
        [--drop-field F] [--layer NAME] [--spread M]
"""
import argparse
import math
import random

from osgeo import ogr, osr

ogr.UseExceptions()
osr.UseExceptions()

FIELDS = [("class", ogr.OFTString), ("score", ogr.OFTReal), ("model", ogr.OFTString),
          ("job", ogr.OFTString), ("z", ogr.OFTInteger), ("x", ogr.OFTInteger64),
          ("y", ogr.OFTInteger64), ("task", ogr.OFTString), ("value", ogr.OFTReal)]
CLASSES = ["solar_panel", "pool", "roof"]
# Zurich, in EPSG:3857
CX, CY = 950668.0, 6002678.0


def srs(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def merc_tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def make(path, epsg=3857, n=60, seed=7, drop=None, layer="features", spread=4000.0):
    """n features around Zurich: boxes (most), one contour line, one point;
    classes in turn, scores i/(n-1) (0 to 1, 0.6 exactly at i = 0.6 (n-1)
    when that is whole, and one 0.6 added otherwise)."""
    rnd = random.Random(seed)
    to = osr.CoordinateTransformation(srs(3857), srs(epsg))
    to_ll = osr.CoordinateTransformation(srs(3857), srs(4326))
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    lyr = ds.CreateLayer(layer, srs(epsg), ogr.wkbUnknown)
    for name, t in FIELDS:
        if name != drop:
            lyr.CreateField(ogr.FieldDefn(name, t))
    scores = [i / (n - 1) for i in range(n)]
    if 0.6 not in scores:
        scores[len(scores) // 2] = 0.6
    for i, score in enumerate(scores):
        cx = CX + (rnd.random() - 0.5) * spread
        cy = CY + (rnd.random() - 0.5) * spread
        h = 2 + rnd.random() * 10
        if i == 1:
            g = ogr.CreateGeometryFromWkt(f"LINESTRING ({cx - h} {cy - h}, {cx + h} {cy + h})")
        elif i == 2:
            g = ogr.CreateGeometryFromWkt(f"POINT ({cx} {cy})")
        else:
            g = ogr.CreateGeometryFromWkt(
                f"POLYGON (({cx - h} {cy - h}, {cx + h} {cy - h}, {cx + h} {cy + h}, "
                f"{cx - h} {cy + h}, {cx - h} {cy - h}))")
        lon, lat, _ = to_ll.TransformPoint(cx, cy)
        tx, ty = merc_tile(lon, lat, 19)
        g.Transform(to)
        f = ogr.Feature(lyr.GetLayerDefn())
        vals = {"class": CLASSES[i % 3], "score": score, "model": "solar-v1", "job": "0123abcd",
                "z": 19, "x": tx, "y": ty, "task": f"16/{tx // 8}/{ty // 8}",
                "value": 420.5 + i if i == 1 else None}
        for k, v in vals.items():
            if k != drop and v is not None:
                f[k] = v
        f.SetGeometry(g)
        lyr.CreateFeature(f)
    ds = None


def read(path):
    """[(fid, props dict, geometry in lon/lat, centre lon/lat, centre in store CRS)]"""
    ds = ogr.Open(path)
    lyr = ds.GetLayerByName("features")
    s = lyr.GetSpatialRef().Clone()
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(s, srs(4326))
    out = []
    for f in lyr:
        g = f.GetGeometryRef().Clone()
        c = g.Centroid()
        cs = (c.GetX(), c.GetY())
        c.Transform(ct)
        g.Transform(ct)
        props = {k: f[k] for k, _ in FIELDS}
        out.append((f.GetFID(), props, g, (c.GetX(), c.GetY()), cs))
    return out


def vertices(g):
    """Sorted distinct vertices of a geometry (orientation does not matter)."""
    pts = set()

    def walk(h):
        if h.GetGeometryCount():
            for i in range(h.GetGeometryCount()):
                walk(h.GetGeometryRef(i))
        else:
            for i in range(h.GetPointCount()):
                pts.add(h.GetPoint_2D(i))
    walk(g)
    return sorted(pts)


def same_shape(a, b, tol):
    """Same type and the same vertices within tol (each has a partner)."""
    va, vb = vertices(a), vertices(b)
    if a.GetGeometryName() != b.GetGeometryName():
        return False

    def covered(p, q):
        return all(any(abs(x[0] - y[0]) <= tol and abs(x[1] - y[1]) <= tol for y in q) for x in p)
    return covered(va, vb) and covered(vb, va)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["make"])
    ap.add_argument("path")
    ap.add_argument("--epsg", type=int, default=3857)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--drop-field")
    ap.add_argument("--layer", default="features")
    ap.add_argument("--spread", type=float, default=4000.0)
    a = ap.parse_args()
    make(a.path, a.epsg, a.n, a.seed, a.drop_field, a.layer, a.spread)
