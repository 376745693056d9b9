#!/usr/bin/python3
"""Synthetic aerial scenes with solar panels, and their ground truth.

A scene is an RGB uint8 image of fields, roads, roofs, trees, shadows, cars
and pools, with solar panels on roofs, in solar farms and alone on the
ground. Panels are dark blue or near-black rectangles with a lighter frame
and a faint cell grid, long side 8 to 40 px, axis-aligned (long side
horizontal or vertical), often in clusters. Distractors: dark cars, dark
flat roofs, pools in lighter blue, tree and roof shadows. Light varies per
scene (brightness, contrast, colour cast, blur).

Invariants: the same seed and size give the same pixels and boxes (one
numpy Generator drives everything); panels never overlap each other and
nothing is drawn over a panel after it is placed (so every box is wholly
visible); boxes are pixel rectangles [x0, y0, x1, y1) in image pixels.

As a program it writes DIR/scene_<seed>.tif (GeoTIFF, EPSG:3857, origin =
the top-left corner, square pixels) and DIR/scene_<seed>.geojson (the panel
boxes as EPSG:3857 polygons, property class=solar_panel). No torch here:
tests run it.

    python3 scenes.py --seed 7 --size 2048 --origin 950000,6000000 \
        --pixel 0.2986 --out /tmp/scenes
"""

import argparse
import json
import os

import numpy as np

PIXEL_Z19 = 0.29858214173896974  # WebMercatorQuad cell size at zoom 19, m
CLASS = "solar_panel"


def _noise(rng, h, w, cell):
    """Smooth noise in [-1, 1]: coarse random values, repeated, box-smoothed."""
    gh, gw = h // cell + 2, w // cell + 2
    g = rng.uniform(-1.0, 1.0, (gh, gw)).astype(np.float32)
    g = np.repeat(np.repeat(g, cell, axis=0), cell, axis=1)
    k = max(1, cell // 2)
    c = np.cumsum(np.cumsum(g, axis=0), axis=1)
    out = (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)
    return out[:h, :w]


class Scene:
    def __init__(self, rng, size):
        self.rng = rng
        self.h = self.w = size
        self.img = np.zeros((size, size, 3), np.float32)
        # 1 where a panel (with a 2 px margin) lies: nothing may cover it
        self.panel_mask = np.zeros((size, size), bool)
        # 1 where a built object lies (roof, pool, road): placement checks
        self.used = np.zeros((size, size), bool)
        self.boxes = []
        self.sun = rng.integers(0, 4)  # shadow direction: 0 E, 1 S, 2 W, 3 N
        self.scale = rng.uniform(0.6, 1.4)

    def free(self, x0, y0, x1, y1, mask):
        if x0 < 0 or y0 < 0 or x1 > self.w or y1 > self.h:
            return False
        return not mask[y0:y1, x0:x1].any()

    def ground(self):
        rng, h, w = self.rng, self.h, self.w
        field_cols = np.array(
            [[70, 110, 50], [95, 125, 60], [130, 120, 80], [150, 130, 95],
             [110, 95, 70], [85, 100, 55], [160, 150, 110]], np.float32)
        # fields: a coarse random partition into rectangles
        self.img[:] = field_cols[rng.integers(len(field_cols))]
        for _ in range(rng.integers(6, 14)):
            fw, fh = rng.integers(w // 8, w // 2), rng.integers(h // 8, h // 2)
            x0, y0 = rng.integers(0, w - fw), rng.integers(0, h - fh)
            col = field_cols[rng.integers(len(field_cols))] + rng.normal(0, 8, 3)
            self.img[y0:y0 + fh, x0:x0 + fw] = col
            if rng.random() < 0.5:  # ploughed rows
                per = rng.integers(4, 10)
                rows = (np.arange(fh) % per < per // 2)[:, None]
                self.img[y0:y0 + fh, x0:x0 + fw] *= np.where(rows, 0.93, 1.0)[..., None]
        tex = _noise(rng, h, w, int(rng.integers(16, 64)))
        self.img *= (1.0 + 0.12 * tex)[..., None]

    def roads(self):
        rng = self.rng
        for _ in range(rng.integers(2, 6)):
            width = int(rng.integers(8, 20) * self.scale)
            grey = rng.uniform(90, 150)
            if rng.random() < 0.5:
                y = rng.integers(0, self.h - width)
                sl = (slice(y, y + width), slice(0, self.w))
            else:
                x = rng.integers(0, self.w - width)
                sl = (slice(0, self.h), slice(x, x + width))
            self.img[sl] = grey + rng.normal(0, 3, 3)
            self.used[sl] = True
            self.cars(sl)

    def cars(self, road):
        """Cars along a road: some dark (black, dark blue), a panel's size."""
        rng = self.rng
        ys, xs = road
        horiz = (xs.stop - xs.start) > (ys.stop - ys.start)
        n = rng.integers(3, 15)
        for _ in range(n):
            cl, cw = int(rng.integers(8, 13) * self.scale), int(rng.integers(4, 7) * self.scale)
            cl, cw = max(cl, 6), max(cw, 3)
            if horiz:
                x0 = rng.integers(0, self.w - cl)
                y0 = ys.start + rng.integers(0, max(1, ys.stop - ys.start - cw))
                bw, bh = cl, cw
            else:
                y0 = rng.integers(0, self.h - cl)
                x0 = xs.start + rng.integers(0, max(1, xs.stop - xs.start - cw))
                bw, bh = cw, cl
            dark = rng.random() < 0.5
            col = rng.uniform(10, 45, 3) if dark else rng.uniform(60, 230, 3)
            if dark and rng.random() < 0.5:
                col = np.array([20, 30, 70]) + rng.normal(0, 5, 3)
            self.shadow(x0, y0, x0 + bw, y0 + bh, 2)
            self.img[y0:y0 + bh, x0:x0 + bw] = col
            # windscreen: a lighter band across the car
            if horiz:
                q = x0 + bw // 3
                self.img[y0:y0 + bh, q:q + 2] = col * 0.6 + 60
            else:
                q = y0 + bh // 3
                self.img[q:q + 2, x0:x0 + bw] = col * 0.6 + 60

    def shadow(self, x0, y0, x1, y1, d):
        """Darkens a band of d px beside the box, on the side away from the sun."""
        dx, dy = [(d, 0), (0, d), (-d, 0), (0, -d)][self.sun]
        sx0, sy0 = max(0, x0 + dx), max(0, y0 + dy)
        sx1, sy1 = min(self.w, x1 + dx), min(self.h, y1 + dy)
        if sx1 <= sx0 or sy1 <= sy0:
            return
        keep = self.panel_mask[sy0:sy1, sx0:sx1]
        f = np.where(keep, 1.0, 0.55)[..., None]
        self.img[sy0:sy1, sx0:sx1] *= f

    def panel(self, x0, y0, pw, ph, base, frame):
        """One panel at [x0, x0+pw) x [y0, y0+ph): frame, body, cell grid."""
        rng = self.rng
        self.img[y0:y0 + ph, x0:x0 + pw] = frame
        body = self.img[y0 + 1:y0 + ph - 1, x0 + 1:x0 + pw - 1]
        body[:] = base
        # faint cell grid: cells ~3-6 px, lines a little lighter than the body
        cell = int(rng.integers(3, 6))
        grid = base + rng.uniform(10, 25)
        body[:, cell::cell] = grid
        body[cell::cell, :] = grid
        # a soft sheen along one axis
        n = body.shape[1] if pw >= ph else body.shape[0]
        sheen = np.linspace(0, rng.uniform(0, 25), n, dtype=np.float32)
        body += sheen[None, :, None] if pw >= ph else sheen[:, None, None]
        self.panel_mask[max(0, y0 - 2):y0 + ph + 2, max(0, x0 - 2):x0 + pw + 2] = True
        self.boxes.append((x0, y0, x0 + pw, y0 + ph))

    def panel_style(self):
        rng = self.rng
        if rng.random() < 0.7:  # blue
            base = np.array([rng.uniform(20, 45), rng.uniform(30, 60), rng.uniform(65, 110)])
        else:  # near-black
            v = rng.uniform(12, 35)
            base = np.array([v, v, v * rng.uniform(1.0, 1.3)])
        frame = np.full(3, rng.uniform(130, 200)) + rng.normal(0, 5, 3)
        return base.astype(np.float32), frame.astype(np.float32)

    def panel_size(self):
        rng = self.rng
        long = int(np.clip(rng.uniform(8, 40) * rng.uniform(0.8, 1.2), 8, 40))
        short = int(np.clip(round(long / rng.uniform(1.4, 2.0)), 5, 30))
        return (long, short) if rng.random() < 0.5 else (short, long)

    def cluster(self, x0, y0, x1, y1, max_n):
        """A grid of equal panels inside [x0,x1) x [y0,y1); returns how many."""
        rng = self.rng
        pw, ph = self.panel_size()
        gap = int(rng.integers(2, 5))
        cols = min((x1 - x0 + gap) // (pw + gap), rng.integers(1, 6))
        rows = min((y1 - y0 + gap) // (ph + gap), rng.integers(1, 5))
        if cols < 1 or rows < 1:
            return 0
        bw, bh = cols * (pw + gap) - gap, rows * (ph + gap) - gap
        ox = x0 + rng.integers(0, x1 - x0 - bw + 1)
        oy = y0 + rng.integers(0, y1 - y0 - bh + 1)
        if self.panel_mask[oy:oy + bh, ox:ox + bw].any():
            return 0
        base, frame = self.panel_style()
        n = 0
        for r in range(rows):
            for c in range(cols):
                if n >= max_n:
                    return n
                self.panel(ox + c * (pw + gap), oy + r * (ph + gap), pw, ph, base, frame)
                n += 1
        return n

    def roofs(self):
        rng = self.rng
        area = self.h * self.w
        n = int(area / 2048 ** 2 * rng.integers(60, 160))
        for _ in range(n):
            rw = int(rng.integers(30, 120) * self.scale)
            rh = int(rng.integers(30, 120) * self.scale)
            x0, y0 = int(rng.integers(0, self.w - rw)), int(rng.integers(0, self.h - rh))
            if not self.free(x0 - 4, y0 - 4, x0 + rw + 4, y0 + rh + 4, self.used):
                continue
            kind = rng.random()
            if kind < 0.55:
                col = np.array([rng.uniform(140, 200), rng.uniform(60, 100), rng.uniform(50, 80)])
            elif kind < 0.9:
                col = np.full(3, rng.uniform(100, 180)) + rng.normal(0, 6, 3)
            else:  # dark flat roof: a large dark grey distractor
                col = np.full(3, rng.uniform(30, 60)) + rng.normal(0, 4, 3)
            self.shadow(x0, y0, x0 + rw, y0 + rh, int(rng.integers(3, 9) * self.scale))
            self.img[y0:y0 + rh, x0:x0 + rw] = col
            if kind < 0.9:  # ridge: one half darker
                if rw > rh:
                    self.img[y0 + rh // 2:y0 + rh, x0:x0 + rw] *= 0.85
                else:
                    self.img[y0:y0 + rh, x0 + rw // 2:x0 + rw] *= 0.85
            self.used[y0 - 4:y0 + rh + 4, x0 - 4:x0 + rw + 4] = True
            if kind < 0.9 and rng.random() < 0.55:
                for _ in range(rng.integers(1, 3)):
                    self.cluster(x0 + 3, y0 + 3, x0 + rw - 3, y0 + rh - 3, 20)

    def farms(self):
        rng = self.rng
        for _ in range(rng.integers(0, 3)):
            fw, fh = int(rng.integers(120, 400)), int(rng.integers(120, 400))
            x0, y0 = int(rng.integers(0, self.w - fw)), int(rng.integers(0, self.h - fh))
            if not self.free(x0, y0, x0 + fw, y0 + fh, self.used):
                continue
            pw, ph = self.panel_size()
            base, frame = self.panel_style()
            gx, gy = int(rng.integers(2, 6)), int(rng.integers(3, 12))
            for y in range(y0, y0 + fh - ph, ph + gy):
                for x in range(x0, x0 + fw - pw, pw + gx):
                    if rng.random() < 0.92:
                        self.shadow(x, y, x + pw, y + ph, 2)
                        self.panel(x, y, pw, ph, base, frame)
            self.used[y0:y0 + fh, x0:x0 + fw] = True

    def loose_panels(self):
        rng = self.rng
        for _ in range(rng.integers(5, 25)):
            pw, ph = self.panel_size()
            x0, y0 = int(rng.integers(0, self.w - pw)), int(rng.integers(0, self.h - ph))
            if not self.free(x0 - 3, y0 - 3, x0 + pw + 3, y0 + ph + 3, self.used | self.panel_mask):
                continue
            base, frame = self.panel_style()
            self.shadow(x0, y0, x0 + pw, y0 + ph, 2)
            self.panel(x0, y0, pw, ph, base, frame)
            self.used[y0:y0 + ph, x0:x0 + pw] = True

    def pools(self):
        rng = self.rng
        for _ in range(rng.integers(5, 20)):
            pw, ph = int(rng.integers(10, 40)), int(rng.integers(8, 25))
            if rng.random() < 0.5:
                pw, ph = ph, pw
            x0, y0 = int(rng.integers(0, self.w - pw)), int(rng.integers(0, self.h - ph))
            if not self.free(x0 - 2, y0 - 2, x0 + pw + 2, y0 + ph + 2, self.used | self.panel_mask):
                continue
            self.img[y0 - 2:y0 + ph + 2, x0 - 2:x0 + pw + 2] = rng.uniform(190, 230)
            col = np.array([rng.uniform(40, 110), rng.uniform(140, 190), rng.uniform(190, 235)])
            self.img[y0:y0 + ph, x0:x0 + pw] = col
            self.used[y0 - 2:y0 + ph + 2, x0 - 2:x0 + pw + 2] = True

    def trees(self):
        """Green blobs with shadows; never over a panel."""
        rng = self.rng
        yy, xx = np.mgrid[-24:25, -24:25]
        dist = np.hypot(yy, xx)
        for _ in range(int(self.h * self.w / 2048 ** 2 * rng.integers(150, 500))):
            r = int(rng.integers(4, 16) * self.scale) + 2
            m = 2 * r + 8  # the blob, its shadow and a margin stay inside
            cx, cy = int(rng.integers(m, self.w - m)), int(rng.integers(m, self.h - m))
            x0, y0, x1, y1 = cx - m, cy - m, cx + m, cy + m
            if self.panel_mask[y0:y1, x0:x1].any():
                continue
            d = dist[24 - r:25 + r, 24 - r:25 + r]
            blob = d + rng.uniform(-1.5, 1.5, d.shape) < r
            sd = int(r * 0.6)
            sx, sy = [(sd, 0), (0, sd), (-sd, 0), (0, -sd)][self.sun]
            sh = self.img[cy - r + sy:cy + r + 1 + sy, cx - r + sx:cx + r + 1 + sx]
            sh[blob] *= 0.5
            tree = self.img[cy - r:cy + r + 1, cx - r:cx + r + 1]
            col = np.array([rng.uniform(30, 70), rng.uniform(60, 110), rng.uniform(25, 55)])
            shade = (1.0 - 0.4 * d / r)[..., None]
            tree[blob] = (col * shade)[blob] + rng.normal(0, 6, (int(blob.sum()), 3))

    def light(self):
        """Per-scene light and optics: blur, contrast, brightness, cast, noise."""
        rng = self.rng
        img = self.img
        if rng.random() < 0.6:  # a small box blur, as from resampling
            p = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode="edge")
            img = (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] + 2 * p[1:-1, 1:-1]) / 6
        mean = img.mean()
        img = (img - mean) * rng.uniform(0.75, 1.25) + mean * rng.uniform(0.7, 1.3)
        img *= rng.uniform(0.88, 1.12, 3).astype(np.float32)
        img += rng.normal(0, rng.uniform(1, 5), img.shape[:2] + (1,)).astype(np.float32)
        self.img = img


def generate(seed, size=2048):
    """(image HxWx3 uint8, boxes Nx4 int [x0, y0, x1, y1) in pixels)."""
    rng = np.random.default_rng(seed)
    s = Scene(rng, size)
    s.ground()
    s.roads()
    s.roofs()
    s.farms()
    s.loose_panels()
    s.pools()
    s.trees()
    s.light()
    img = np.clip(s.img + 0.5, 0, 255).astype(np.uint8)
    boxes = np.array(s.boxes, np.int32).reshape(-1, 4)
    return img, boxes


def write(img, boxes, out, name, origin, pixel):
    """Writes out/name.tif (EPSG:3857 GeoTIFF) and out/name.geojson."""
    from osgeo import gdal, osr

    os.makedirs(out, exist_ok=True)
    ox, oy = origin
    h, w = img.shape[:2]
    ds = gdal.GetDriverByName("GTiff").Create(
        os.path.join(out, name + ".tif"), w, h, 3, gdal.GDT_Byte,
        ["TILED=YES", "PHOTOMETRIC=RGB"])
    ds.SetGeoTransform((ox, pixel, 0.0, oy, 0.0, -pixel))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3857)
    ds.SetProjection(srs.ExportToWkt())
    for b in range(3):
        ds.GetRasterBand(b + 1).WriteArray(img[:, :, b])
    ds = None
    feats = []
    for x0, y0, x1, y1 in boxes.tolist():
        X0, X1 = ox + x0 * pixel, ox + x1 * pixel
        Y0, Y1 = oy - y0 * pixel, oy - y1 * pixel
        ring = [[X0, Y0], [X1, Y0], [X1, Y1], [X0, Y1], [X0, Y0]]
        feats.append({"type": "Feature",
                      "properties": {"class": CLASS, "px": [x0, y0, x1, y1]},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    fc = {"type": "FeatureCollection",
          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
          "features": feats}
    with open(os.path.join(out, name + ".geojson"), "w") as f:
        json.dump(fc, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--origin", default="0,0",
                    help="X,Y of the top-left corner in EPSG:3857 metres")
    ap.add_argument("--pixel", type=float, default=PIXEL_Z19, help="pixel size, m")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    try:
        origin = tuple(float(v) for v in a.origin.split(","))
        if len(origin) != 2:
            raise ValueError
    except ValueError:
        ap.error("--origin wants X,Y")
    if a.size < 128 or a.pixel <= 0:
        ap.error("--size must be at least 128 and --pixel positive")
    img, boxes = generate(a.seed, a.size)
    write(img, boxes, a.out, "scene_%d" % a.seed, origin, a.pixel)
    print("%s/scene_%d.tif: %d panels" % (a.out, a.seed, len(boxes)))


if __name__ == "__main__":
    main()
