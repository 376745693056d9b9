#!/usr/bin/python3
"""Trains SolarNet, a tiny CenterNet-style solar panel detector, and exports it.

The network follows docs/models.md's `detection` layout: input N x 3 x H x W
normalised as (pixel / 255 - mean[c]) / std[c] with ImageNet mean and std;
one output N x 5 x H/4 x W/4: channel 0 the panel centre heatmap (sigmoid
inside the network), 1-2 the centre's offset in its cell (dx, dy, sigmoid,
[0, 1)), 3-4 the box width and height in input pixels.

Data: random 128 x 128 crops (flipped and transposed) of scenes made by
scenes.py from training seeds 1000.. (held-out evaluation seeds are 9000..,
see eval.py). The network is fully convolutional, so it is trained on
128 px crops and exported for 256 px chips.

Loss: CenterNet's penalty-reduced focal loss on Gaussian-splatted centre
heatmaps, plus L1 on offsets and (weighted 0.1) on sizes at the centre cells.

Writes solar.pt (the state dict, for the oracle test) and solar.onnx
(opset 11, input N x 3 x 256 x 256 with a dynamic batch axis N, which
OpenCV 4.6 runs at any N; --fixed-batch pins N to 1) next to this file.

    OMP_WAIT_POLICY=PASSIVE python3 train.py      # 2000 steps of 32 crops

took 26 minutes on 2 cores shared with other work (about 6 uncontended);
OMP_WAIT_POLICY=PASSIVE keeps torch's threads from spinning when the cores
are busy.
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

import scenes

HERE = os.path.dirname(os.path.abspath(__file__))
STRIDE = 4
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
TRAIN_SEEDS = range(1000, 1048)
CROP = 128


def conv(cin, cout, stride=1, dilation=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SolarNet(nn.Module):
    """Stride-4 encoder with one stride-8 level merged back (nearest upsample)."""

    def __init__(self, classes=1):
        super().__init__()
        self.s4 = nn.Sequential(conv(3, 16, 2), conv(16, 32, 2), conv(32, 32))
        self.s8 = nn.Sequential(conv(32, 64, 2), conv(64, 64), conv(64, 64, dilation=2))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.fuse = nn.Sequential(conv(96, 48), conv(48, 48))
        self.hm = nn.Conv2d(48, classes, 1)
        self.off = nn.Conv2d(48, 2, 1)
        self.wh = nn.Conv2d(48, 2, 1)
        nn.init.constant_(self.hm.bias, -2.19)  # prior 0.1, as CenterNet
        nn.init.constant_(self.wh.bias, 16.0)

    def forward(self, x):
        a = self.s4(x)
        b = self.up(self.s8(a))
        f = self.fuse(torch.cat([a, b], 1))
        return torch.cat([torch.sigmoid(self.hm(f)), torch.sigmoid(self.off(f)), self.wh(f)], 1)


def normalise(chips):
    """uint8 N x H x W x 3 -> float32 N x 3 x H x W, swath's normalisation."""
    x = chips.astype(np.float32) * np.float32(1 / 255)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def gaussian_radius(h, w, min_overlap=0.7):
    """CenterNet's radius (in cells) for a box of h x w cells."""
    a1, b1, c1 = 1, h + w, w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2, b2, c2 = 4, 2 * (h + w), (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3, b3, c3 = 4 * min_overlap, -2 * min_overlap * (h + w), (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def targets(boxes, size):
    """Heatmap, regression targets and mask for boxes whose centre is in the crop."""
    g = size // STRIDE
    hm = np.zeros((1, g, g), np.float32)
    reg = np.zeros((4, g, g), np.float32)
    mask = np.zeros((g, g), np.float32)
    yy, xx = np.mgrid[0:g, 0:g].astype(np.float32)
    for x0, y0, x1, y1 in boxes:
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        j, i = int(cx), int(cy)
        if not (0 <= cx < g and 0 <= cy < g):
            continue
        r = max(0.0, gaussian_radius((y1 - y0) / STRIDE, (x1 - x0) / STRIDE))
        sigma = (2 * int(r) + 1) / 6
        gau = np.exp(-((xx - j) ** 2 + (yy - i) ** 2) / (2 * sigma * sigma))
        np.maximum(hm[0], gau, out=hm[0])
        hm[0, i, j] = 1.0
        reg[:, i, j] = (cx - j, cy - i, x1 - x0, y1 - y0)
        mask[i, j] = 1.0
    return hm, reg, mask


def focal_loss(pred, gt):
    pred = pred.clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    neg = 1 - pos
    pl = torch.log(pred) * (1 - pred) ** 2 * pos
    nl = torch.log(1 - pred) * pred ** 2 * (1 - gt) ** 4 * neg
    n = pos.sum()
    return -(pl.sum() + nl.sum()) / torch.clamp(n, min=1)


class Crops:
    """Random training crops from a fixed set of generated scenes."""

    def __init__(self, seeds, size, rng):
        self.rng = rng
        self.scenes = [scenes.generate(s, size) for s in seeds]

    def one(self):
        rng = self.rng
        img, boxes = self.scenes[rng.integers(len(self.scenes))]
        h, w = img.shape[:2]
        if len(boxes) and rng.random() < 0.7:  # around a panel
            b = boxes[rng.integers(len(boxes))]
            cx, cy = (b[0] + b[2]) // 2, (b[1] + b[3]) // 2
            x0 = int(np.clip(cx - rng.integers(8, CROP - 8), 0, w - CROP))
            y0 = int(np.clip(cy - rng.integers(8, CROP - 8), 0, h - CROP))
        else:
            x0, y0 = int(rng.integers(0, w - CROP + 1)), int(rng.integers(0, h - CROP + 1))
        crop = img[y0:y0 + CROP, x0:x0 + CROP]
        bx = boxes.astype(np.float32) - [x0, y0, x0, y0]
        if rng.random() < 0.5:  # mirror left-right
            crop = crop[:, ::-1]
            bx = np.stack([CROP - bx[:, 2], bx[:, 1], CROP - bx[:, 0], bx[:, 3]], 1)
        if rng.random() < 0.5:  # mirror top-bottom
            crop = crop[::-1]
            bx = np.stack([bx[:, 0], CROP - bx[:, 3], bx[:, 2], CROP - bx[:, 1]], 1)
        if rng.random() < 0.5:  # transpose: the 90 degree turns with the mirrors
            crop = crop.transpose(1, 0, 2)
            bx = bx[:, [1, 0, 3, 2]]
        return np.ascontiguousarray(crop), bx

    def batch(self, n):
        chips, hms, regs, masks = [], [], [], []
        for _ in range(n):
            c, b = self.one()
            hm, reg, mask = targets(b, CROP)
            chips.append(c)
            hms.append(hm)
            regs.append(reg)
            masks.append(mask)
        return (torch.from_numpy(normalise(np.stack(chips))), torch.from_numpy(np.stack(hms)),
                torch.from_numpy(np.stack(regs)), torch.from_numpy(np.stack(masks)))


def export(net, path, dynamic):
    net.eval()
    x = torch.zeros(1, 3, 256, 256)
    torch.onnx.export(net, x, path, opset_version=11, input_names=["image"],
                      output_names=["detection"], do_constant_folding=True,
                      dynamic_axes={"image": {0: "N"}, "detection": {0: "N"}} if dynamic else None)


def main():
    ap = argparse.ArgumentParser(description="train and export SolarNet")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--scenes", type=int, default=len(TRAIN_SEEDS))
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--fixed-batch", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    t0 = time.time()
    data = Crops(TRAIN_SEEDS[:a.scenes], 1024, rng)
    print("scenes: %d, %d panels, %.0f s" % (
        len(data.scenes), sum(len(b) for _, b in data.scenes), time.time() - t0), flush=True)
    net = SolarNet()
    print("parameters: %d" % sum(p.numel() for p in net.parameters()), flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=a.steps, pct_start=0.1)
    net.train()
    acc = np.zeros(3)
    for step in range(1, a.steps + 1):
        x, hm, reg, mask = data.batch(a.batch)
        out = net(x)
        lh = focal_loss(out[:, :1], hm)
        n = mask.sum().clamp(min=1)
        m = mask[:, None]
        lo = (torch.abs(out[:, 1:3] - reg[:, :2]) * m).sum() / n
        lw = (torch.abs(out[:, 3:5] - reg[:, 2:]) * m).sum() / n
        loss = lh + lo + 0.1 * lw
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        acc += [lh.item(), lo.item(), lw.item()]
        if step % 100 == 0:
            acc /= 100
            print("step %d  heat %.4f  offset %.4f  size %.3f  %.0f s" % (
                step, acc[0], acc[1], acc[2], time.time() - t0), flush=True)
            acc[:] = 0
    net.eval()
    torch.save(net.state_dict(), os.path.join(a.out, "solar.pt"))
    export(net, os.path.join(a.out, "solar.onnx"), not a.fixed_batch)
    print("done in %.0f s" % (time.time() - t0))


if __name__ == "__main__":
    sys.exit(main())
