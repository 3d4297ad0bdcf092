#!/usr/bin/env python3
"""augment_pillow.py AUGMENT_DUMP SCRATCH — the loader's resampler against Pillow's resize.

Pillow's BILINEAR is a triangle filter widened by the reduction factor, the loader's
"bilinear": Pillow rounds to 8 bits, so the two agree to within one step (1/255) plus float
noise, for reductions by integer and non-integer factors, upscaling, and non-square images.
The loader's "area" (each output pixel the mean of the source area it covers, fractions of
pixels included) is checked against that integral written out in numpy; Pillow's BOX counts
only the pixels whose centres fall inside, which is the same only for integer factors."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image

DUMP, SCRATCH = sys.argv[1:3]
rng = np.random.RandomState(4)
failures = 0


def area_weights(n, out):
    """[out, n]: the share of output pixel o's footprint [o*s, (o+1)*s) that source pixel j
    covers, s = n / out."""
    s = n / out
    o = np.arange(out)[:, None]
    j = np.arange(n)[None, :]
    return np.maximum(0.0, np.minimum(j + 1, (o + 1) * s) - np.maximum(j, o * s)) / s


cases = [((97, 61), 40), ((500, 375), 227), ((64, 64), 32), ((30, 45), 64), ((227, 300), 113)]
for (w, h), size in cases:
    # smooth content plus noise: both the filter's shape and its support matter
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h)], -1)
    img = np.clip(base + rng.randint(-40, 40, (h, w, 3)), 0, 255).astype(np.uint8)
    path = os.path.join(SCRATCH, f"aug_{w}x{h}.png")
    Image.fromarray(img).save(path)
    for mode, filt in (("bilinear", Image.BILINEAR), ("area", Image.BOX)):
        out = subprocess.run([DUMP, path, str(size), mode], capture_output=True, check=True).stdout
        mine = np.frombuffer(out, np.float32).reshape(3, size, size).transpose(1, 2, 0) * 255
        if mode == "area" and size > min(w, h):
            continue  # upscaling "area" is bilinear (as OpenCV's INTER_AREA does)
        if mode == "bilinear":
            ref = np.asarray(Image.fromarray(img).resize((size, size), filt)).astype(np.float64)
            tol = 1.0 + 1e-3
        else:
            ref = np.einsum("oy,yxc,px->opc", area_weights(h, size), img.astype(np.float64),
                            area_weights(w, size), optimize=True)
            tol = 1e-2
        diff = np.abs(mine - ref).max()
        ok = diff <= tol
        failures += not ok
        print(f"{w}x{h} -> {size} {mode}: max |loupe - {'Pillow' if mode == 'bilinear' else 'numpy area'}| = {diff:.3f} (of 255) "
              f"{'ok' if ok else 'FAIL'}")
sys.exit(1 if failures else 0)
