#!/usr/bin/python3
"""loader_pillow.py --serve DIR N — the Pillow peer of bench_loader: the same work, same files.

DIR holds imgNNNNN.jpg for 0 <= i < N. Each stdin line "run JITTER PASSES SEED" runs PASSES
passes over the files and answers one JSON line: images/s (wall clock and CPU time) and ms per
image of each phase (decode: open + read + decode; resize_crop_flip; jitter; to_float). EOF
ends it. bench_loader alternates these repetitions with loupe's. What one image goes through
is what torchvision's Resize(256), RandomCrop(227), RandomHorizontalFlip, ColorJitter(0.2, 0.2,
0.2), ToTensor, Normalize do on a PIL image, written directly so that only Pillow and numpy are
timed; an RGB file is not copied by convert("RGB") (Pillow's best case).
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
from time import perf_counter, process_time  # noqa: E402

import numpy as np  # noqa: E402
import PIL  # noqa: E402
from PIL import Image, ImageEnhance, features  # noqa: E402

SIZE, RESIZE, JIT = 227, 256, 0.2
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
BILINEAR = Image.Resampling.BILINEAR if hasattr(Image, "Resampling") else Image.BILINEAR
FLIP = Image.Transpose.FLIP_LEFT_RIGHT if hasattr(Image, "Transpose") else Image.FLIP_LEFT_RIGHT


def rep(paths, jitter, passes, seed):
    rng = random.Random(seed)
    t = [0.0, 0.0, 0.0, 0.0]
    check = 0.0
    start, cpu = perf_counter(), process_time()
    for _ in range(passes):
        for path in paths:
            t0 = perf_counter()
            im = Image.open(path)
            if im.mode != "RGB":
                im = im.convert("RGB")
            else:
                im.load()
            t1 = perf_counter()
            w, h = im.size
            if w <= h:
                size = (RESIZE, int(RESIZE * h / w))
            else:
                size = (int(RESIZE * w / h), RESIZE)
            im = im.resize(size, BILINEAR)
            x, y = rng.randint(0, size[0] - SIZE), rng.randint(0, size[1] - SIZE)
            im = im.crop((x, y, x + SIZE, y + SIZE))
            if rng.random() < 0.5:
                im = im.transpose(FLIP)
            t2 = perf_counter()
            if jitter:
                im = ImageEnhance.Brightness(im).enhance(rng.uniform(1 - JIT, 1 + JIT))
                im = ImageEnhance.Contrast(im).enhance(rng.uniform(1 - JIT, 1 + JIT))
                im = ImageEnhance.Color(im).enhance(rng.uniform(1 - JIT, 1 + JIT))
            t3 = perf_counter()
            a = np.asarray(im, dtype=np.float32)
            a *= 1 / 255
            a -= MEAN
            a /= STD
            x = np.ascontiguousarray(a.transpose(2, 0, 1))
            t4 = perf_counter()
            check += float(x[0, 0, 0])
            t[0] += t1 - t0
            t[1] += t2 - t1
            t[2] += t3 - t2
            t[3] += t4 - t3
    total, cpu = perf_counter() - start, process_time() - cpu
    k = len(paths) * passes
    return {"images_per_s": k / total, "images_per_cpu_s": k / cpu, "decode_ms": 1e3 * t[0] / k,
            "resize_crop_flip_ms": 1e3 * t[1] / k, "jitter_ms": 1e3 * t[2] / k,
            "to_float_ms": 1e3 * t[3] / k, "check": check}


def main():
    if len(sys.argv) != 4 or sys.argv[1] != "--serve":
        sys.exit(__doc__)
    d, n = sys.argv[2], int(sys.argv[3])
    paths = [os.path.join(d, "img%05d.jpg" % i) for i in range(n)]
    print(json.dumps({"ready": True, "pillow": PIL.__version__, "numpy": np.__version__,
                      "libjpeg_turbo": features.version_feature("libjpeg_turbo"),
                      "python": sys.version.split()[0]}), flush=True)
    for line in sys.stdin:
        _, jitter, passes, seed = line.split()
        print(json.dumps(rep(paths, int(jitter), int(passes), int(seed))), flush=True)


if __name__ == "__main__":
    main()
