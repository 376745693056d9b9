"""Oracle for the tiles of an area file, with OGR/GEOS (python3-gdal).

What "a tile of the area" means, as swath documents it (docs/config.md,
src/core/area.h): a tile belongs to the area when its interior meets the
area's interior; a tile that shares only an edge or a corner with the area
is not part of it. The area is the union of every polygon in the file.

The oracle computes that independently of swath's route:
  - no union and no whole-file MakeValid: each polygon of each feature (each
    part of a MultiPolygon on its own) is made valid by itself when it is
    invalid, and a tile is in when it meets any of those parts;
  - swath moves the area into the grid CRS; the oracle moves each tile (its
    outline densified) into the file's CRS instead, and tests it there;
  - the grids' tile arithmetic is written out here (OGC TMS 2.0 formulas),
    not taken from swath.

Exactness: a tile whose membership changes when it is shrunk or grown by
`tol` of its size is "borderline" and may go either way (the area's edges
are straight in the file's CRS but curved in the grid's, and swath itself
shrinks tiles by 1e-7 of their size). Every other tile is either surely in
or surely out, and swath must agree on each of those. Tests also check that
the borderline tiles are few, so a loose tolerance cannot hide a bug.
"""
import json
import math
import subprocess

from osgeo import gdal, ogr, osr

ogr.UseExceptions()
osr.UseExceptions()
# GEOS says "Self-intersection at or near point ..." for the invalid rings,
# which are there on purpose.
gdal.PushErrorHandler("CPLQuietErrorHandler")

MERC = 20037508.342789244


def srs(text):
    r = osr.SpatialReference()
    r.SetFromUserInput(text)
    r.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return r


class Grid:
    """A quadtree tile matrix set: per zoom the tile span (grid CRS units),
    the top-left origin and the matrix size; XYZ rows counted from the top."""

    def __init__(self, name, crs, span0, origin, cols0, rows0, tms_json=None):
        self.name, self.crs = name, crs
        self.span0, self.origin, self.cols0, self.rows0 = span0, origin, cols0, rows0
        self.tms_json = tms_json  # what to pass to `swath --grid`, if not the name

    def span(self, z):
        return self.span0 / (1 << z)

    def matrix(self, z):
        return self.cols0 << z, self.rows0 << z

    def bounds(self, z, x, y):
        s = self.span(z)
        ox, oy = self.origin
        return (ox + x * s, oy - (y + 1) * s, ox + (x + 1) * s, oy - y * s)

    def arg(self):
        return self.tms_json or self.name


def web_mercator():
    return Grid("WebMercatorQuad", "EPSG:3857", 2 * MERC, (-MERC, MERC), 1, 1)


def world_crs84():
    return Grid("WorldCRS84Quad", "EPSG:4326", 180.0, (-180.0, 90.0), 2, 1)


def utm_grid(path, zooms=15):
    """A UTM 32N quadtree (cells 2048 m at zoom 0, 256 px tiles, origin
    0 E / 9437184 N), written as an OGC TMS 2.0 JSON file at `path`."""
    mats = []
    for z in range(zooms):
        m = {"id": str(z), "cellSize": 2048.0 / (1 << z), "pointOfOrigin": [0, 9437184],
             "tileWidth": 256, "tileHeight": 256, "matrixWidth": 2 << z, "matrixHeight": 18 << z}
        if z == 0:
            m["cornerOfOrigin"] = "topLeft"
        mats.append(m)
    with open(path, "w") as f:
        json.dump({"id": "UTM32NOracle", "crs": {"uri": "http://www.opengis.net/def/crs/EPSG/0/32632"},
                   "tileMatrices": mats}, f)
    return Grid("UTM32NOracle", "EPSG:32632", 2048.0 * 256, (0.0, 9437184.0), 2, 18, path)


def _polygons(g):
    t = ogr.GT_Flatten(g.GetGeometryType())
    if t == ogr.wkbPolygon:
        return [g.Clone()]
    if t in (ogr.wkbMultiPolygon, ogr.wkbGeometryCollection):
        out = []
        for i in range(g.GetGeometryCount()):
            out += _polygons(g.GetGeometryRef(i))
        return out
    return []


class Area:
    """Every polygon of every layer of a vector file, each valid on its own,
    in the file's CRS."""

    def __init__(self, path):
        ds = ogr.Open(path)
        self.parts = []
        self.srs = None
        for li in range(ds.GetLayerCount()):
            lyr = ds.GetLayer(li)
            s = lyr.GetSpatialRef()
            self.srs = s.Clone() if s else srs("EPSG:4326")
            self.srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            for f in lyr:
                for p in _polygons(f.GetGeometryRef()):
                    p.FlattenTo2D()
                    if not p.IsValid():
                        p = p.MakeValid()
                    for q in _polygons(p):
                        self.parts.append((q.GetEnvelope(), q))
        self.envelope = (min(e[0] for e, _ in self.parts), max(e[1] for e, _ in self.parts),
                         min(e[2] for e, _ in self.parts), max(e[3] for e, _ in self.parts))

    def area(self):
        return sum(p.GetArea() for _, p in self.parts)


class Oracle:
    """Tiles of `area` on `grid`: classify(z) -> (surely in, borderline)."""

    def __init__(self, grid, area, tol):
        self.grid, self.area, self.tol = grid, area, tol
        gs = srs(grid.crs)
        self.same = gs.IsSame(area.srs) == 1
        self.to_file = None if self.same else osr.CoordinateTransformation(gs, area.srs)
        self.merc_to_ll = grid.crs == "EPSG:3857" and area.srs.IsGeographic() and area.srs.IsSame(srs("EPSG:4326"))
        x0, x1, y0, y1 = area.envelope
        if self.same:
            self.box = (x0, y0, x1, y1)
        else:
            ct = osr.CoordinateTransformation(area.srs, gs)
            self.box = ct.TransformBounds(x0, y0, x1, y1, 41)

    def outline(self, b):
        """Tile box (grid CRS) as a polygon in the file's CRS."""
        x0, y0, x1, y1 = b
        if self.same:
            pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        elif self.merc_to_ll:
            # Web Mercator boxes are lon/lat boxes: exact, no densifying.
            lon0, lon1 = x0 / MERC * 180, x1 / MERC * 180
            lat0 = math.degrees(math.atan(math.sinh(y0 / MERC * math.pi)))
            lat1 = math.degrees(math.atan(math.sinh(y1 / MERC * math.pi)))
            pts = [(lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1)]
        else:
            k = 16
            ring = []
            for i in range(k):
                t = i / k
                ring.append((x0 + t * (x1 - x0), y0))
            for i in range(k):
                t = i / k
                ring.append((x1, y0 + t * (y1 - y0)))
            for i in range(k):
                t = i / k
                ring.append((x1 - t * (x1 - x0), y1))
            for i in range(k):
                t = i / k
                ring.append((x0, y1 - t * (y1 - y0)))
            pts = [p[:2] for p in self.to_file.TransformPoints(ring)]
        r = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in pts + pts[:1]:
            r.AddPoint_2D(x, y)
        g = ogr.Geometry(ogr.wkbPolygon)
        g.AddGeometry(r)
        return g

    def _meets(self, g):
        e = g.GetEnvelope()
        for pe, p in self.area.parts:
            if e[1] < pe[0] or e[0] > pe[1] or e[3] < pe[2] or e[2] > pe[3]:
                continue
            if p.Intersects(g):
                return True
        return False

    def frame(self, z):
        """Tile columns xa..xb and rows ya..yb around the area's envelope,
        one tile wider on each side (inside the matrix)."""
        g = self.grid
        s = g.span(z)
        ox, oy = g.origin
        cols, rows = g.matrix(z)
        bx0, by0, bx1, by1 = self.box
        return (max(0, int(math.floor((bx0 - ox) / s)) - 1), min(cols - 1, int(math.floor((bx1 - ox) / s)) + 1),
                max(0, int(math.floor((oy - by1) / s)) - 1), min(rows - 1, int(math.floor((oy - by0) / s)) + 1))

    def candidates(self, z):
        xa, xb, ya, yb = self.frame(z)
        return [(x, y) for y in range(ya, yb + 1) for x in range(xa, xb + 1)]

    def classify(self, z):
        """(set of (x, y) surely in, set borderline) at zoom z."""
        g = self.grid
        d = self.tol * g.span(z)
        sure, border = set(), set()
        for x, y in self.candidates(z):
            x0, y0, x1, y1 = g.bounds(z, x, y)
            if self._meets(self.outline((x0 + d, y0 + d, x1 - d, y1 - d))):
                sure.add((x, y))
            elif self._meets(self.outline((x0 - d, y0 - d, x1 + d, y1 + d))):
                border.add((x, y))
        # The frame must hold the whole area: no tile surely in on its outer
        # ring (unless that is the matrix's edge); borderline ones may be
        # there, as the grown tiles reach one tile further out.
        xa, xb, ya, yb = self.frame(z)
        cols, rows = g.matrix(z)
        for x, y in sure:
            if x in (xa, xb) and 0 < x < cols - 1 or y in (ya, yb) and 0 < y < rows - 1:
                raise RuntimeError("oracle frame too small at zoom %d" % z)
        return sure, border


def metatiles(tiles, m):
    return {(x // m, y // m) for x, y in tiles}


def swath_tiles(swath, grid, path, z0, z1, m=1):
    """swath tiles' listing for zooms z0..z1: {z: set of (x, y)}."""
    out = subprocess.run([swath, "tiles", "--grid", grid.arg(), "--zoom", "%d-%d" % (z0, z1), "--area", path,
                          "--metatiling", str(m)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise RuntimeError("swath tiles failed (%d): %s" % (out.returncode, out.stderr.strip()))
    got = {z: set() for z in range(z0, z1 + 1)}
    for line in out.stdout.split():
        z, x, y = map(int, line.split("/"))
        got[z].add((x, y))
    return got


def compare(got, sure, border):
    """'' when got agrees with the oracle, else what differs."""
    missing = sorted(sure - got)
    extra = sorted(got - sure - border)
    if not missing and not extra:
        return ""
    return "missing %d (oracle: surely in) %s; extra %d (oracle: surely out) %s" % (
        len(missing), missing[:8], len(extra), extra[:8])
