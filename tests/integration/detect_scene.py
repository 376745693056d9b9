"""detect_scene.py: a generated z19 scene whose solar panels sit exactly on
the borders that could split or duplicate an object: tile borders, chip
borders (the detect process's chip lattice, stride 192 for 256-pixel chips
with a 64-pixel overlap), metatile borders (of metatiling 2 and 8, at
pixels 512, 1024, 1536 and 1024) and tile corners.

    detect_scene.py OUT_DIR

writes OUT_DIR/scene.tif (EPSG:3857, z19 pixels, its top-left corner on a
tile corner, so every border above falls at a known pixel) and OUT_DIR/scene.geojson (the panels' boxes), and
prints the scene's tile range "TX0 TY0 NTILES". The ground, light and the
panels' look come from models/solar/scenes.py (the model's own generator);
only the placement is chosen here."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "models", "solar"))
import scenes  # noqa: E402

HALF = 20037508.342789244
# Tile numbers that are multiples of 3 (so the chip lattice, stride 192 =
# 3/4 tile, meets the scene's corner) and of 4 but not 8: a metatile border
# of metatiling 8 (and 2) crosses the scene's middle.
TILES, TX0, TY0 = 8, 274428, 183468
SIZE = 256 * TILES
PIXEL = 2 * HALF / (256 << 19)


def centres():
    """Panel centres (x, y, horizontal), none closer than 48 px to another."""
    c = []
    c += [(256 * k, 300, True) for k in range(1, TILES)]           # tile borders in x
    c += [(192 * k, 700, True) for k in range(1, SIZE // 192)]     # chip borders in x
    for y, d in ((1100, 0), (1250, -1), (1400, 1)):                 # metatile borders, and 1 px off
        c += [(x + d, y, True) for x in (512, 1024, 1536)]
    c += [(420, 256 * k, False) for k in range(2, TILES)]         # tile borders in y
    c += [(1300, 192 * k, False) for k in range(2, SIZE // 192)]  # chip borders in y
    c += [(256 * k, 256 * k, True) for k in (3, 4, 5)]            # tile corners
    out = []
    for x, y, hz in c:
        if all(abs(x - a) >= 48 or abs(y - b) >= 48 for a, b, _ in out):
            out.append((x, y, hz))
    return out


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(2024)
    s = scenes.Scene(rng, SIZE)
    s.ground()
    for x, y, hz in centres():
        pw, ph = (24, 14) if hz else (14, 24)
        base, frame = s.panel_style()
        s.panel(x - pw // 2, y - ph // 2, pw, ph, base, frame)
    img = np.clip(s.img + 0.5, 0, 255).astype(np.uint8)
    boxes = np.array(s.boxes, np.int32).reshape(-1, 4)
    scenes.write(img, boxes, out, "scene", (-HALF + TX0 * 256 * PIXEL, HALF - TY0 * 256 * PIXEL), PIXEL)
    print(TX0, TY0, TILES)


if __name__ == "__main__":
    main()
