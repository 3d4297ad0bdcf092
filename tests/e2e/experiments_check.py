#!/usr/bin/env python3
"""experiments_check.py LOUPE REPO SCRATCH CASE — the experiments of experiments/, run small and
read back with h5py.

  determinism  quickstart twice with one seed: identical metrics (but for the timing columns)
               and predictions; with another seed they differ
  random       random_labels.lua's random-label and random-pixel runs on its default subset:
               >= 95% training accuracy; random labels' test accuracy within 5 points of chance,
               random pixels' far below the true labels' (0.89 here)
  fashion      fashion_mnist.lua on 2000 items, 2 epochs: it learns (test accuracy > 0.5),
               metrics and predictions in the archive
  indoor67     indoor67_alexnet.lua end to end on the fixture tree (truncated file skipped)
"""
import os
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402

LOUPE, REPO, SCRATCH, CASE = sys.argv[1:5]
EXP = os.path.join(REPO, "experiments")
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def run(script, *args):
    p = subprocess.run([LOUPE, "run", os.path.join(EXP, script), *args], capture_output=True,
                       text=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
    return p


def tables(path, groups):
    out = {}
    with h5py.File(path, "r") as f:
        for g in groups:
            if g in f:
                f[g].visititems(lambda n, o: out.__setitem__(f"{g}/{n}", o[()])
                                if isinstance(o, h5py.Dataset) else None)
    return out


if CASE == "determinism":
    small = ["train=200", "test=100", "epochs=2", "width=0.125"]
    paths = [os.path.join(SCRATCH, f"qs_{k}.h5") for k in ("a", "b", "c")]
    for path, seed in zip(paths, (1, 1, 2)):
        p = run("quickstart.lua", path, f"seed={seed}", *small)
        check(p.returncode == 0, f"quickstart seed {seed}")
        check("archive:" in p.stdout and "report:" in p.stdout, "it says where the archive is")
    timing = ("metrics/seconds", "metrics/images_per_s")
    a, b, c = (tables(p, ["metrics", "predictions"]) for p in paths)
    keys = [k for k in a if k not in timing]
    check(len(keys) >= 10 and "predictions/test/probs" in keys, f"{len(keys)} tables compared")
    check(a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in keys),
          "same seed: identical metrics and predictions")
    check(any(not np.array_equal(a[k], c[k]) for k in keys if k in c),
          "another seed: they differ")
    with h5py.File(paths[0], "r") as f:
        check(f["/predictions/test/features"].shape[0] == 100, "test features for every item")
        check(f["/metrics/epoch"][()].tolist() == [1, 2], "one metrics row per epoch")
        check(len(f["/provenance/dataset"].attrs["fingerprint"]) == 64, "dataset fingerprint")
    p = subprocess.run([LOUPE, "compare", paths[0], paths[2]], capture_output=True, text=True)
    check(p.returncode == 1 and "seed" in p.stdout and "dataset fingerprint" in p.stdout,
          "loupe compare names the seed and the dataset fingerprint")
    p = subprocess.run([LOUPE, "compare", paths[0], paths[1]], capture_output=True, text=True)
    check(p.returncode == 0 and "test_acc" in p.stdout, "loupe compare: same provenance, metrics")

elif CASE == "random":
    path = os.path.join(SCRATCH, "random_labels.h5")
    p = run("random_labels.lua", path, "runs=random,pixels")
    check(p.returncode == 0, "random_labels.lua runs=random,pixels")
    with h5py.File(path, "r") as f:
        chance = f["/random_labels"].attrs["chance"]
        for name in ("random", "pixels"):
            g = f["/random_labels/" + name]
            tr, te = g.attrs["final_train_acc"], g.attrs["final_test_acc"]
            check(tr >= 0.95, f"{name}: memorised, train accuracy {tr:.3f} >= 0.95")
            if name == "random":
                check(abs(te - chance) <= 0.05,
                      f"{name}: test accuracy {te:.3f} within 5 points of chance {chance:.3f}")
            else:
                check(te <= chance + 0.1, f"{name}: test accuracy {te:.3f} <= chance + 0.1")
            check(g["train_acc"].shape == g["test_acc"].shape and g["epoch"].shape[0] >= 10,
                  f"{name}: per-epoch train and test accuracy in the archive")

elif CASE == "fashion":
    path = os.path.join(SCRATCH, "fashion_subset.h5")
    p = run("fashion_mnist.lua", path, "limit=2000", "epochs=2")
    check(p.returncode == 0, "fashion_mnist.lua limit=2000 epochs=2")
    with h5py.File(path, "r") as f:
        acc = f["/predictions/test"].attrs["top1"]
        check(acc > 0.5, f"it learns: test accuracy {acc:.3f} > 0.5 after 2 epochs on 2000 items")
        check(f["/predictions/test/probs"].shape == (2000, 10), "test predictions [2000, 10]")
        check(f["/metrics/test_acc"].shape == (2,), "two metrics rows")

elif CASE == "indoor67":
    root = os.path.join(SCRATCH, "indoor67_exp")
    classes, lists, truncated = fixtures.indoor67_tree(LOUPE, os.path.join(REPO, "tests", "e2e",
                                                                           "dump_items.lua"), root)
    path = os.path.join(SCRATCH, "indoor67_alexnet.h5")
    p = run("indoor67_alexnet.lua", path, f"root={root}", "epochs=1", "batch=4", "lr=0.001",
            "features=0")
    check(p.returncode == 0, "indoor67_alexnet.lua on the fixture tree")
    with h5py.File(path, "r") as f:
        check([c.decode() for c in f["/dataset/classes"][()]] == classes, "the classes")
        check([n.decode() for n in f["/dataset/skipped/name"][()]] == [truncated],
              "the truncated file is skipped and recorded")
        check(f["/predictions/test/probs"].shape == (5, 3), "test predictions [5, 3]")
        check(f["/predictions/train/probs"].shape == (12, 3), "train predictions [12, 3]")
        check(f["/model"].attrs["variant"] == "torchvision", "the model is recorded")
        check(np.isfinite(f["/metrics/train_loss"][()]).all(), "a finite training loss")
else:
    sys.exit(f"unknown case {CASE}")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print(f"experiments {CASE}: all checks passed")
