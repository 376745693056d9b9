#!/usr/bin/python3
"""Precision and recall of SolarNet on held-out generated scenes.

Mirrors what swath's detect process does (docs/models.md, `detection`;
src/process/detect_decode.c): the scene is cut into 256 px chips
overlapping by `--overlap` px (48 by default: panels are up to 40 px, and a
box within `edge` = 2 px of its chip's edge is dropped, so an object must
fit whole in the overlap less 2 x 2 px to be seen whole by some chip), each
chip is normalised and run through the network, a box is decoded at every
cell whose heatmap is at least the threshold and the largest of its 3 x 3
neighbourhood, boxes cut by the chip's edge are dropped, and class-aware
NMS at IoU 0.5 runs over the scene. Detections are matched greedily (by
score) to the ground truth at IoU >= 0.5.

The decoder and NMS are plain numpy; the network runs in python3-torch
from solar.pt (Debian's python has no cv2; swath's own measurement goes
through `swath run`). Held-out seeds 9000.. are disjoint from train.py's.

    python3 eval.py [--seeds 9000-9009] [--size 2048] [--threshold 0.5] [--overlap 48]
"""

import argparse
import os
import sys

import numpy as np

import scenes

HERE = os.path.dirname(os.path.abspath(__file__))
CHIP, OVERLAP, EDGE = 256, 48, 2


def decode(out, min_score):
    """One chip's output K+4 x g x g -> (boxes Nx4 x0,y0,x1,y1 in chip px, scores, classes)."""
    k = out.shape[0] - 4
    g = out.shape[1]
    r = CHIP // g
    hm = out[:k]
    p = np.pad(hm, ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    mx = np.max([p[:, 1 + dy:1 + dy + g, 1 + dx:1 + dx + g]
                 for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    c, i, j = np.nonzero((hm >= min_score) & (hm >= mx))
    dx, dy, w, h = out[k][i, j], out[k + 1][i, j], out[k + 2][i, j], out[k + 3][i, j]
    cx, cy = (j + dx) * r, (i + dy) * r
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    return boxes, hm[c, i, j], c


def iou(a, b):
    """IoU of one box a with boxes b."""
    ix = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ix * iy
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def nms(boxes, scores, classes, thr=0.5):
    """Class-aware greedy NMS; returns the kept indices, best score first."""
    keep = []
    order = np.argsort(-scores, kind="stable")
    alive = np.ones(len(boxes), bool)
    for n in order:
        if not alive[n]:
            continue
        keep.append(n)
        same = (classes == classes[n]) & alive
        same[n] = False
        idx = np.nonzero(same)[0]
        alive[idx[iou(boxes[n], boxes[idx]) >= thr]] = False
    return np.array(keep, int)


def chip_starts(size, overlap):
    """Chip origins along one axis: step CHIP - overlap, the last flush with the end."""
    s = list(range(0, max(size - CHIP, 0) + 1, CHIP - overlap))
    if s[-1] != size - CHIP:
        s.append(size - CHIP)
    return s


def detect(run, img, min_score, overlap=OVERLAP, edge=EDGE, batch=16):
    """All detections in a scene (boxes, scores, classes), as swath's detect finds them.

    The scene is padded with `overlap` pixels of 0 (what swath feeds outside
    the imagery), so objects at its edge are seen whole by some chip.
    """
    from train import normalise

    pad = overlap
    img = np.pad(img, ((pad, pad), (pad, pad), (0, 0)))
    h, w = img.shape[:2]
    jobs = [(x, y) for y in chip_starts(h, overlap) for x in chip_starts(w, overlap)]
    B, S, C = [], [], []
    for n in range(0, len(jobs), batch):
        part = jobs[n:n + batch]
        outs = run(normalise(np.stack([img[y:y + CHIP, x:x + CHIP] for x, y in part])))
        for out, (x, y) in zip(outs, part):
            b, s, c = decode(out, min_score)
            whole = (b[:, :2].min(1) >= edge) & (b[:, 2:].max(1) <= CHIP - edge)
            B.append(b[whole] + [x - pad, y - pad, x - pad, y - pad])
            S.append(s[whole])
            C.append(c[whole])
    b, s, c = np.concatenate(B), np.concatenate(S), np.concatenate(C)
    k = nms(b, s, c)
    return b[k], s[k], c[k]


def match(boxes, scores, truth, thr=0.5):
    """(true positives, false positives, false negatives), greedy by score."""
    used = np.zeros(len(truth), bool)
    tp = 0
    for n in np.argsort(-scores, kind="stable"):
        if not len(truth):
            break
        o = iou(boxes[n], truth.astype(np.float64))
        o[used] = 0
        m = int(np.argmax(o))
        if o[m] >= thr:
            used[m] = True
            tp += 1
    return tp, len(boxes) - tp, len(truth) - tp


def torch_runner(weights):
    import torch

    from train import SolarNet

    torch.set_num_threads(2)
    net = SolarNet()
    net.load_state_dict(torch.load(weights, map_location="cpu"))
    net.eval()

    def run(x):
        with torch.no_grad():
            return net(torch.from_numpy(x)).numpy()
    return run


def main():
    ap = argparse.ArgumentParser(description="precision/recall on held-out scenes")
    ap.add_argument("--weights", default=os.path.join(HERE, "solar.pt"))
    ap.add_argument("--seeds", default="9000-9009", help="FIRST-LAST")
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--overlap", type=int, default=OVERLAP)
    a = ap.parse_args()
    lo, hi = (int(v) for v in a.seeds.split("-"))
    run = torch_runner(a.weights)
    tot = np.zeros(3, int)
    for seed in range(lo, hi + 1):
        img, truth = scenes.generate(seed, a.size)
        b, s, _ = detect(run, img, a.threshold, a.overlap)
        r = np.array(match(b, s, truth))
        tot += r
        print("seed %d: %d panels, tp %d fp %d fn %d" % (seed, len(truth), *r), flush=True)
    tp, fp, fn = tot
    print("precision %.4f recall %.4f (tp %d fp %d fn %d; IoU 0.5, score >= %g, seeds %s, %d px, "
          "overlap %d)" % (tp / max(tp + fp, 1), tp / max(tp + fn, 1), tp, fp, fn, a.threshold,
                           a.seeds, a.size, a.overlap))


if __name__ == "__main__":
    sys.exit(main())
