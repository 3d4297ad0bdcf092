#!/usr/bin/python3
"""torch_crosscheck.py VARIANT LOUPE SCRATCH — loupe's AlexNet against PyTorch, same weights.

PyTorch builds the model (torchvision.models.alexnet, or for krizhevsky2012 a Sequential with
nn.LocalResponseNorm and grouped convolutions), its weights go to HDF5 through
scripts/export_torch_weights.py's writer, and tests/e2e/torch_crosscheck.lua runs loupe on
the same batch of 2 random images. Compared, each as max|loupe - torch| / max|torch| of the
tensor: the logits, the mean loss, the gradient of every parameter, and every parameter after
3 SGD steps (lr 0.01, momentum 0.9, weight decay 5e-4, dropout off). All must be <= 1e-3.
"""
import os
import subprocess
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from export_torch_weights import TORCHVISION, write_weights  # noqa: E402

CLASSES = 10
TOL = 1e-3


def krizhevsky(classes):
    lrn = lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)  # noqa: E731
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, classes))


KRIZHEVSKY = {"0": "conv1", "4": "conv2", "8": "conv3", "10": "conv4", "12": "conv5",
              "16": "fc6", "19": "fc7", "22": "fc8"}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def main():
    variant, loupe, scratch = sys.argv[1:4]
    torch.manual_seed(0)
    if variant == "torchvision":
        import torchvision
        model, names, size = torchvision.models.alexnet(num_classes=CLASSES), TORCHVISION, 224
    else:
        model, names, size = krizhevsky(CLASSES), KRIZHEVSKY, 227
    model.eval()  # dropout off, as in the loupe run
    x = torch.randn(2, 3, size, size)
    labels = torch.tensor([3, 7])
    wpath, ipath, opath = (os.path.join(scratch, f"torch_{variant}_{n}.h5")
                           for n in ("weights", "input", "loupe"))
    write_weights(wpath, ((k, v.detach().numpy()) for k, v in model.state_dict().items()), names)
    with h5py.File(ipath, "w") as f:
        f["x"] = x.numpy()
        f["labels"] = labels.numpy().astype(np.int32)
    lua = os.path.join(HERE, "torch_crosscheck.lua")
    subprocess.run([loupe, "run", lua, variant, wpath, ipath, opath], check=True)

    to_loupe = {}
    for key in model.state_dict():
        module, _, kind = key.rpartition(".")
        to_loupe[key] = f"{names[module]}.{kind}"
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    failures = []
    with h5py.File(opath, "r") as f:
        checks = [("logits", rel(f["logits"][()], logits.detach().numpy())),
                  ("loss", rel(f.attrs["loss"], loss.item()))]
        for key, p in model.named_parameters():
            checks.append((f"grad {to_loupe[key]}", rel(f["grads"][to_loupe[key]][()],
                                                         p.grad.numpy())))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), labels).backward()
            opt.step()
        for key, p in model.named_parameters():
            checks.append((f"weight after 3 steps {to_loupe[key]}",
                           rel(f["weights_after"][to_loupe[key]][()], p.detach().numpy())))
    for what, err in checks:
        flag = "ok " if err <= TOL else "BAD"
        print(f"{flag} {variant:15s} {what:40s} {err:.2e}")
        if err > TOL:
            failures.append(what)
    if failures:
        print(f"torch_crosscheck {variant}: {len(failures)} of {len(checks)} above {TOL}")
        return 1
    print(f"torch_crosscheck {variant}: ok ({len(checks)} comparisons <= {TOL})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
