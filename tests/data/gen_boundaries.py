#!/usr/bin/python3
"""Generate a boundary file shaped like real administrative units (cantons).

  gen_boundaries.py OUT [--crs EPSG:4326] [--format "ESRI Shapefile"]
                        [--bounds W,S,E,N] [--nx 4] [--ny 3] [--seed 15]
                        [--vertices 40]

A jittered nx x ny partition of the lon/lat box (default 8.2,46.9,9.4,47.7):
every border between two units is one wiggly polyline (40 vertices inside
by default) that both neighbours use (reversed), so units share edges
exactly and no border is axis-parallel, as in real boundary files. On top
of that:

  - one unit has a hole (a lake that no unit covers);
  - one unit's outer ring crosses itself (two vertices of its outside border
    swapped: a small bow-tie loop, invalid as OGC Simple Features);
  - one feature is a bow-tie quadrilateral of its own, east of the partition;
  - one feature is a MultiPolygon of two units that are not neighbours, and
    another is a MultiPolygon of two neighbours (parts sharing an edge, so
    that MultiPolygon is invalid too);
  - the other units are Polygon features.

Coordinates are computed in lon/lat and transformed vertex by vertex into
--crs. Deterministic: a seeded generator, no randomness from outside.
Feature attribute "kind" says which of the above a feature is.
"""
import argparse
import math
import random
import sys

from osgeo import ogr, osr

ogr.UseExceptions()

def border(a, b, rng, K):
    """Vertices from node a to node b (both included), K of them inside: a
    smooth wiggle across the chord, zero at both ends, at most ~12% of its
    length."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    # A sum of a few sines with random phases: smooth, not axis-parallel.
    terms = [(k, rng.uniform(-1, 1) / k, rng.uniform(0, math.pi)) for k in (1, 2, 3, 5, 8)]
    pts = [a]
    for i in range(1, K + 1):
        t = i / (K + 1)
        off = sum(amp * math.sin(k * math.pi * t + ph) - amp * math.sin(ph) * (1 - t)
                  - amp * math.sin(k * math.pi + ph) * t for k, amp, ph in terms)
        off *= 0.06 * length
        pts.append((ax + t * dx + off * nx, ay + t * dy + off * ny))
    pts.append(b)
    return pts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--crs", default="EPSG:4326")
    ap.add_argument("--format", default="ESRI Shapefile")
    ap.add_argument("--bounds", default="8.2,46.9,9.4,47.7")
    ap.add_argument("--nx", type=int, default=4)
    ap.add_argument("--ny", type=int, default=3)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--vertices", type=int, default=40, help="vertices inside each border")
    a = ap.parse_args()
    w, s, e, n = (float(v) for v in a.bounds.split(","))
    nx, ny = a.nx, a.ny
    if nx < 3 or ny < 2:
        sys.exit("gen_boundaries.py: need --nx >= 3 and --ny >= 2")
    rng = random.Random(a.seed)
    cw, ch = (e - w) / nx, (n - s) / ny

    # Nodes: a grid with every node moved by up to 25% of a cell.
    node = {}
    for j in range(ny + 1):
        for i in range(nx + 1):
            node[i, j] = (w + i * cw + rng.uniform(-0.25, 0.25) * cw,
                          s + j * ch + rng.uniform(-0.25, 0.25) * ch)
    # Borders, each made once and shared by the cells on both sides.
    edges = {}

    def edge(p, q):
        if (q, p) in edges:
            return list(reversed(edges[q, p]))
        if (p, q) not in edges:
            edges[p, q] = border(node[p], node[q], rng, a.vertices)
        return edges[p, q]

    def cell_ring(i, j):
        corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j)]
        ring = []
        for p, q in zip(corners, corners[1:]):
            ring += edge(p, q)[:-1]
        return ring + [ring[0]]

    def poly(*rings):
        g = ogr.Geometry(ogr.wkbPolygon)
        for r in rings:
            lr = ogr.Geometry(ogr.wkbLinearRing)
            for x, y in r:
                lr.AddPoint_2D(x, y)
            g.AddGeometry(lr)
        return g

    feats = []  # (kind, geometry)
    hole_cell, twisted_cell = (1, 1), (nx - 1, 0)
    multi_far = [(0, 0), (nx - 1, ny - 1)]
    multi_near = [(2, ny - 1), (2, ny - 2)] if ny > 2 else [(1, 0), (2, 0)]
    skip = set(multi_far) | set(multi_near)
    for j in range(ny):
        for i in range(nx):
            if (i, j) in skip:
                continue
            ring = cell_ring(i, j)
            if (i, j) == hole_cell:
                cx = sum(node[c][0] for c in ((i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1))) / 4
                cy = sum(node[c][1] for c in ((i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1))) / 4
                r = 0.18 * min(cw, ch)
                hole = [(cx + r * (1 + 0.2 * math.sin(3 * t)) * math.cos(t),
                         cy + r * (1 + 0.2 * math.sin(3 * t)) * math.sin(t))
                        for t in (2 * math.pi * k / 48 for k in range(48))]
                hole.append(hole[0])
                feats.append(("hole", poly(ring, hole[::-1])))
            elif (i, j) == twisted_cell:
                # The cell's bottom border is the partition's outside: swap
                # two of its vertices so the ring crosses itself there.
                k = a.vertices // 2
                ring[k], ring[k + 1] = ring[k + 1], ring[k]
                feats.append(("selfintersecting", poly(ring)))
            else:
                feats.append(("polygon", poly(ring)))
    for kind, cells in (("multipolygon", multi_far), ("multipolygon-adjacent", multi_near)):
        mp = ogr.Geometry(ogr.wkbMultiPolygon)
        for c in cells:
            mp.AddGeometry(poly(cell_ring(*c)))
        feats.append((kind, mp))
    # A bow-tie of its own, east of the partition: two triangles of
    # different sizes meeting in one point (so the ring's signed area is not
    # zero and a Shapefile keeps it an outer ring).
    bx0, bx1 = e + 0.45 * cw, e + 0.85 * cw
    by0, by1 = s + 0.3 * (n - s), s + 0.6 * (n - s)
    bym = (by0 + by1) / 2
    feats.append(("bowtie", poly([(bx0, by0), (bx1, by1), (bx1, by0), (bx0, bym), (bx0, by0)])))

    for kind, g in feats:
        if kind in ("hole", "polygon", "multipolygon") and not g.IsValid():
            sys.exit("gen_boundaries.py: generated %s is not valid; change --seed" % kind)
        if kind in ("selfintersecting", "bowtie", "multipolygon-adjacent") and g.IsValid():
            sys.exit("gen_boundaries.py: generated %s should be invalid" % kind)

    ll = osr.SpatialReference()
    ll.SetFromUserInput("EPSG:4326")
    ll.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    dst = osr.SpatialReference()
    dst.SetFromUserInput(a.crs)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = None if dst.IsSame(ll) else osr.CoordinateTransformation(ll, dst)

    drv = ogr.GetDriverByName(a.format)
    ds = drv.CreateDataSource(a.out)
    lyr = ds.CreateLayer("units", dst, ogr.wkbUnknown)
    lyr.CreateField(ogr.FieldDefn("kind", ogr.OFTString))
    for kind, g in feats:
        if ct:
            g.Transform(ct)
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("kind", kind)
        f.SetGeometry(g)
        lyr.CreateFeature(f)
    ds = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
