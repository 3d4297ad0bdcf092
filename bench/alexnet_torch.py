#!/usr/bin/python3
"""alexnet_torch.py STEPS [LOUPE_JSON] — PyTorch's side of bench/alexnet, on one CPU thread:
AlexNet-224 (torchvision) at batch 32 and alexnet_mini at batch 64, training and inference
images/s, and the GEMM reference at AlexNet-224's conv im2col shapes (batch 32): torch.mm
(whatever BLAS Debian's alternatives give torch: the reference BLAS unless OpenBLAS is
installed) and OpenBLAS cblas_sgemm on one thread when libopenblas.so.0 can be loaded. Given loupe's JSON (from bench/alexnet.lua), prints both merged
with the ratios loupe / torch."""
import json
import sys
import time

import torch
import torch.nn as nn
import torchvision

torch.set_num_threads(1)
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 2


def mini(classes=10):
    return nn.Sequential(
        nn.Conv2d(3, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1),
        nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Dropout(), nn.Linear(256 * 9, 1024), nn.ReLU(), nn.Dropout(),
        nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, classes))


def median_time(fn):
    fn()
    times = []
    for _ in range(STEPS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[(len(times) - 1) // 2]


def measure(model, batch, size, classes):
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, classes, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)

    def train():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    def infer():
        with torch.no_grad():
            model.eval()
            model(x)
            model.train()

    return {"train_images_per_s": batch / median_time(train),
            "inference_images_per_s": batch / median_time(infer)}


def openblas_gemm(shapes):
    """OpenBLAS sgemm on one thread at the same shapes, when a libopenblas.so.0 can be loaded
    (LOUPE_OPENBLAS=path, or Debian's libopenblas0-pthread / -serial location)."""
    import ctypes
    import os
    paths = [os.environ.get("LOUPE_OPENBLAS", ""),
             "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
             "/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0"]
    lib = None
    for path in paths:
        if path and os.path.exists(path):
            lib = ctypes.CDLL(path)
            break
    if lib is None:
        return "unavailable (apt-get install libopenblas0-pthread, or LOUPE_OPENBLAS=path)"
    if hasattr(lib, "openblas_set_num_threads"):
        lib.openblas_set_num_threads(1)
    f = ctypes.POINTER(ctypes.c_float)
    out = {}
    for name, (m, k, n) in shapes.items():
        a, b = torch.randn(m, k), torch.randn(k, n)
        c = torch.empty(m, n)
        args = [101, 111, 111, m, n, k, ctypes.c_float(1.0),
                ctypes.cast(a.data_ptr(), f), k, ctypes.cast(b.data_ptr(), f), n,
                ctypes.c_float(0.0), ctypes.cast(c.data_ptr(), f), n]
        t = median_time(lambda: lib.cblas_sgemm(*args))
        out[name] = 2.0 * m * k * n / t / 1e9
    return out


def gemm():
    # (M, K, N) = (out channels, in/groups * k * k, batch * out pixels) for each conv of AlexNet-224
    shapes = {"conv1": (64, 363, 32 * 55 * 55), "conv2": (192, 1600, 32 * 27 * 27),
              "conv3": (384, 1728, 32 * 13 * 13), "conv4": (256, 3456, 32 * 13 * 13),
              "conv5": (256, 2304, 32 * 13 * 13)}
    out = {}
    for name, (m, k, n) in shapes.items():
        a, b = torch.randn(m, k), torch.randn(k, n)
        t = median_time(lambda: torch.mm(a, b))
        out[name] = 2.0 * m * k * n / t / 1e9
    return out, openblas_gemm(shapes)


peer = {
    "torch": torch.__version__, "threads": torch.get_num_threads(),
    "alexnet224": measure(torchvision.models.alexnet(num_classes=1000), 32, 224, 1000),
    "alexnet_mini": measure(mini(), 64, 32, 10),
}
peer["torch_mm_gflops_im2col_shapes"], peer["openblas_sgemm_gflops_im2col_shapes"] = gemm()
if len(sys.argv) > 2:
    ours = json.loads(sys.argv[2])
    ours["torch"] = peer
    for key in ("alexnet224", "alexnet_mini"):
        for what in ("train_images_per_s", "inference_images_per_s"):
            ours[key]["ratio_" + what + "_vs_torch"] = ours[key][what] / peer[key][what]
    ref = peer["openblas_sgemm_gflops_im2col_shapes"]
    if not isinstance(ref, dict):
        ref = peer["torch_mm_gflops_im2col_shapes"]
    gemm_best = max(ref.values())
    for layer in ours["alexnet224"]["layers"]:
        if layer.get("forward_gflops") is not None:
            layer["forward_fraction_of_best_gemm"] = layer["forward_gflops"] / gemm_best
    print(json.dumps(ours, indent=2))
else:
    print(json.dumps(peer, indent=2))
