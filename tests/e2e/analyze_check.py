#!/usr/bin/env python3
"""analyze_check.py LOUPE SCRATCH — `loupe analyze` on archives written by h5py alone.

The archives hold only the documented minimal schema (docs/ARCHIVE.md, "Analysing
predictions made elsewhere"): /dataset/classes, /dataset/<split>/labels and
/predictions/<split>/probs, as a PyTorch user would write them. Checked against numpy:
  - confusion: the matrix, precision / recall / F1, top-1/3/5, the confused pairs (findings,
    sorted, naming classes by name);
  - the findings table has the common columns, along axis `finding`;
  - a re-run replaces /analyses/<name> (one copy, no temporary group left);
  - bad input, each refused naming the dataset, row or parameter, with the file's bytes
    unchanged: no predictions, the wrong class count, rows not summing to 1, NaN, negative
    probabilities, labels out of range, an unknown analysis or parameter; N = 0 and a single
    class are documented empty / trivial results.
"""
import hashlib
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

LOUPE, SCRATCH = sys.argv[1:3]
root = os.path.join(SCRATCH, "analyze")
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
from checks import check, failures  # noqa: E402 (tests/e2e/checks.py)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write(path, classes, splits):
    """splits: {name: (labels, probs)} — the minimal schema, h5py only."""
    with h5py.File(path, "w") as f:
        f["dataset/classes"] = np.array(classes, dtype=h5py.string_dtype())
        for name, (labels, probs) in splits.items():
            f[f"dataset/{name}/labels"] = np.asarray(labels, dtype=np.int32)
            f[f"predictions/{name}/probs"] = np.asarray(probs, dtype=np.float32)


def analyze(path, *args):
    p = subprocess.run([LOUPE, "analyze", path, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


rng = np.random.default_rng(4)
K, N = 7, 500
classes = [f"class {c}" for c in range(K)]
labels = rng.integers(0, K, N)
logits = rng.normal(size=(N, K))
logits[np.arange(N), labels] += 1.5
logits[labels == 2, 3] += 2.0  # class 2 is often taken for class 3
probs = softmax(logits).astype(np.float32)
tl = rng.integers(0, K, 200)
tp = softmax(rng.normal(size=(200, K)) + 2 * np.eye(K)[tl]).astype(np.float32)
good = os.path.join(root, "elsewhere.h5")
write(good, classes, {"test": (labels, probs), "train": (tl, tp)})

rc, out = analyze(good, "confusion", "top=5")
check(rc == 0, f"loupe analyze confusion on an h5py-written archive: {out.strip()}")
with h5py.File(good, "r") as f:
    g = f["analyses/confusion"]
    check(g.attrs["plugin"] == "confusion" and "top=5" in g.attrs["params"] and
          g.attrs["seconds"] >= 0, "attributes plugin, version, params, seconds")
    pred = probs.argmax(axis=1)
    m = np.zeros((K, K), np.int64)
    np.add.at(m, (labels, pred), 1)
    check(np.array_equal(g["test/matrix"][()], m), "the confusion matrix = numpy's")
    check([d.label for d in g["test/matrix"].dims] == ["class", "predicted"], "its axes")
    tp_ = np.diag(m).astype(float)
    prec = np.divide(tp_, m.sum(0), out=np.zeros(K), where=m.sum(0) > 0)
    rec = np.divide(tp_, m.sum(1), out=np.zeros(K), where=m.sum(1) > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros(K), where=prec + rec > 0)
    check(np.allclose(g["test/precision"][()], prec, atol=1e-6) and
          np.allclose(g["test/recall"][()], rec, atol=1e-6) and
          np.allclose(g["test/f1"][()], f1, atol=1e-6), "precision, recall, F1 = numpy's")
    rank = (probs > probs[np.arange(N), labels][:, None]).sum(axis=1)
    for k in (1, 3, 5):
        check(abs(g["test"].attrs[f"top{k}"] - (rank < k).mean()) < 1e-9, f"top-{k} accuracy")
    fd = g["findings"]
    cols = {"kind", "split", "item", "class", "other_class", "other_split", "other_item",
            "score", "text"}
    check(set(fd.keys()) == cols and all(fd[c].dims[0].label == "finding" for c in cols),
          "the findings table has the common columns along axis 'finding'")
    n = fd.attrs["count"]
    check(n == 10 and len(fd["kind"]) == 10, f"top=5 pairs for each of 2 splits ({n})")
    score = fd["score"][()]
    check(np.all(np.diff(score) <= 0), "findings sorted most important first")
    split = fd["split"].asstr()[()]
    cls, other = fd["class"][()], fd["other_class"][()]
    i0 = list(split).index("test")
    a, b = cls[i0], other[i0]
    off = m.copy()
    np.fill_diagonal(off, 0)
    check((a, b) == np.unravel_index(off.argmax(), off.shape) and (a, b) == (2, 3),
          f"the most confused test pair is class 2 -> 3 ({a} -> {b})")
    text = fd["text"].asstr()[i0]
    check(f"{m[2, 3]} of {m[2].sum()} 'class 2'" in text and "'class 3'" in text,
          f"the finding says it in words: {text}")
    check(np.all(fd["item"][()] == -1) and np.all(fd["other_item"][()] == -1),
          "class-level findings have item -1")

rc, out = analyze(good, "confusion")
with h5py.File(good, "r") as f:
    names = list(f["analyses"].keys())
    fd = f["analyses/confusion/findings"]
    check(rc == 0 and names == ["confusion"] and fd.attrs["count"] == fd["kind"].shape[0] > 10,
          f"a re-run replaces the group (one copy, no temporary): {names}")
    check("top=5" not in f["analyses/confusion"].attrs["params"], "with the new parameters")


def refused(name, path, want, *args):
    before = sha(path)
    rc, out = analyze(path, *args)
    check(rc != 0 and all(w in out for w in want) and sha(path) == before,
          f"{name}: refused naming {want}, file unchanged: {out.strip()[-300:]}")


def variant(name, classes_, splits):
    path = os.path.join(root, name + ".h5")
    write(path, classes_, splits)
    return path


# the h5py example of docs/ARCHIVE.md, run as it stands there
doc = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                        "ARCHIVE.md"), encoding="utf-8").read()
block = doc.split("### Analysing predictions made elsewhere")[1].split("```python\n")[1]
block = block.split("```")[0]
example = os.path.join(root, "example.h5")
check('path = "runs/elsewhere.h5"' in block, "docs/ARCHIVE.md holds the h5py example")
try:
    exec(block.replace('"runs/elsewhere.h5"', repr(example)), {})
    rc, out = analyze(example)
    with h5py.File(example, "r") as f:
        m = f["analyses/confusion/test/matrix"][()]
    check(rc == 0 and m.sum() == 100, f"loupe analyze on the docs' example archive: {out.strip()}")
except ImportError as e:
    print(f"SKIP: the docs' example needs {e.name}")

nopred = os.path.join(root, "nopred.h5")
with h5py.File(nopred, "w") as f:
    f["dataset/classes"] = np.array(classes, dtype=h5py.string_dtype())
refused("no predictions", nopred, ["no predictions", "/predictions"], "confusion")
refused("wrong class count", variant("k", classes[:5], {"test": (labels % 5, probs)}),
        ["/predictions/test/probs", "5 classes"], "confusion")
bad = probs.copy()
bad[17] *= 1.5
refused("rows not summing to 1", variant("sum", classes, {"test": (labels, bad)}),
        ["/predictions/test/probs", "row 17", "sums to"], "confusion")
bad = probs.copy()
bad[3, 1] = np.nan
refused("NaN", variant("nan", classes, {"test": (labels, bad)}),
        ["row 3", "class 1", "not a probability"], "confusion")
bad = probs.copy()
bad[5, 0] = -0.1
bad[5, 1] += 0.1
refused("negative", variant("neg", classes, {"test": (labels, bad)}),
        ["row 5", "not a probability"], "confusion")
lab = labels.copy()
lab[9] = K
refused("label out of range", variant("lab", classes, {"test": (lab, probs)}),
        ["/dataset/test/labels row 9", "0 .. 6"], "confusion")
refused("unknown analysis", good, ["no analysis plugin 'confuson'", "did you mean 'confusion'"],
        "confuson")
refused("unknown parameter", good, ["unknown parameter 'tpo'", "did you mean 'top'"],
        "confusion", "tpo=3")
refused("a parameter out of range", good, ["'top'", "out of range"], "confusion", "top=-1")

ALL = ("ambiguous", "confusion", "label_issues", "overlap")
empty = variant("empty", classes, {"test": (np.zeros(0, np.int32), np.zeros((0, K)))})
rc, out = analyze(empty)
with h5py.File(empty, "r") as f:
    g = f["analyses/confusion"]
    check(rc == 0 and all(f[f"analyses/{a}/findings"].attrs["count"] == 0 for a in ALL) and
          g["test"].attrs["count"] == 0 and not g["test/matrix"][()].any(),
          f"N = 0: every analysis gives empty tables: {out.strip()}")
one = variant("one", ["only"], {"test": (np.zeros(4, np.int32), np.ones((4, 1)))})
rc, out = analyze(one)
with h5py.File(one, "r") as f:
    g = f["analyses/confusion"]
    check(rc == 0 and g["test"].attrs["top1"] == 1 and
          all(f[f"analyses/{a}/findings"].attrs["count"] == 0 for a in ALL),
          f"one class: accuracy 1, no findings anywhere: {out.strip()}")
lab6 = labels % 6  # class 6 has no items
rc, out = analyze(variant("noitems", classes, {"test": (lab6, probs)}))
check(rc == 0, f"a class with no items: every analysis runs: {out.strip()[-200:]}")
flat = np.full((N, K), 1.0 / K, np.float32)
path = variant("flat", classes, {"test": (labels, flat)})
rc, out = analyze(path)
with h5py.File(path, "r") as f:
    li = f["analyses/label_issues"]
    check(rc == 0 and li["test"].attrs["label_issues"] == 0 and
          f["analyses/overlap/findings"].attrs["count"] == 0,
          f"all predictions equal: no label issues, no overlapping pair: {out.strip()[-200:]}")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("analyze: all checks passed")
