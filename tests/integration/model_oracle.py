"""Oracle for test_model_oracle.sh: python3-torch runs models/solar's network.

    model_oracle.py make SRC WORK      fixed chips -> WORK/chips.f32 (4 x 3 x 256 x 256,
                                       normalised as swath does) and WORK/ref.f32, the
                                       torch network's output on them (4 x 5 x 64 x 64)
    model_oracle.py compare WORK PREFIX N
                                       swath's stdout (WORK/run.out) has a line ending in
                                       the output's shape N 5 64 64 (any separators), and
                                       PREFIX.0.f32 (swath's raw output for the first N
                                       chips) equals ref.f32 within 1e-4

The chips are cut from scenes.py scenes made here (seeds 4242 and 4243, never
used for training): two with panels, one without, and an all-zero chip (what
swath feeds for nodata, before normalisation). Run by `py_checks ARGS < this`.
"""
import os
import re
import sys

import numpy as np

TOL = 1e-4


def make(src, work):
    import swt  # noqa: F401  (lib.sh's helper module; keeps the py_checks contract)
    import torch

    sys.path.insert(0, os.path.join(src, "models", "solar"))
    import scenes
    from train import SolarNet, normalise

    torch.set_num_threads(2)
    a, ba = scenes.generate(4242, 512)
    b, _ = scenes.generate(4243, 512)
    chips = [a[0:256, 0:256], a[256:512, 256:512], b[128:384, 0:256], np.zeros((256, 256, 3), np.uint8)]
    x = normalise(np.stack(chips))
    net = SolarNet()
    net.load_state_dict(torch.load(os.path.join(src, "models", "solar", "solar.pt"), map_location="cpu"))
    net.eval()
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    x.astype("<f4").tofile(os.path.join(work, "chips.f32"))
    ref.astype("<f4").tofile(os.path.join(work, "ref.f32"))
    swt.check("torch reference is 4 x 5 x 64 x 64", ref.shape == (4, 5, 64, 64), str(ref.shape))
    # Not a vacuous comparison: the chips hold panels the network finds.
    swt.check("torch finds panels in the chips (heatmap max %.3f >= 0.5)" % ref[:3, 0].max(),
              ref[:3, 0].max() >= 0.5 and len(ba) > 0)


def compare(work, prefix, n):
    import swt

    n = int(n)
    ref = np.fromfile(os.path.join(work, "ref.f32"), "<f4").reshape(4, 5, 64, 64)[:n]
    with open(os.path.join(work, "run.out")) as f:
        lines = f.read().splitlines()
    shapes = [[int(v) for v in re.findall(r"\d+", ln)][-4:] for ln in lines]
    swt.check("N=%d: swath prints the output shape %d,5,64,64" % (n, n),
              [n, 5, 64, 64] in shapes, "stdout: %r" % lines[:5])
    path = prefix + ".0.f32"
    got = np.fromfile(path, "<f4") if os.path.exists(path) else np.zeros(0, np.float32)
    ok = swt.check("N=%d: %s holds %d floats" % (n, os.path.basename(path), ref.size),
                   got.size == ref.size, "got %d" % got.size)
    if not ok:
        return
    got = got.reshape(ref.shape)
    d = np.abs(got.astype(np.float64) - ref)
    per = ", ".join("%.2g" % v for v in d.max(axis=(0, 2, 3)))
    swt.check("N=%d: swath's raw outputs equal torch's within %g (max %.3g; per channel %s)"
              % (n, TOL, d.max(), per), bool(np.isfinite(got).all()) and d.max() <= TOL,
              "worst at %s" % (np.unravel_index(int(np.argmax(d)), d.shape),))


if __name__ == "__main__":
    {"make": make, "compare": compare}[sys.argv[1]](*sys.argv[2:])
