#!/usr/bin/env python3
"""overlap_check.py LOUPE SCRATCH — the overlap analysis against numpy, on h5py archives.

Simulated out-of-sample probabilities (the model of label_issues_check.py: 10% flips, and
pairs of classes that are one distribution under two names). Checked:
  - the planted pair is rank 1 (and with two planted pairs, they are the top two) for every
    seed, ranked by the symmetric calibrated joint, which equals the numpy twin's;
  - accuracy_merged of every listed pair equals the accuracy computed here from the summed
    probabilities (to 1e-6; the criterion is 0.01), accuracy_relabelled the relabel-only one;
  - the greedy merge list's accuracies equal numpy's for the same merges;
  - findings are merge_candidate rows in words.
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

LOUPE, SCRATCH = sys.argv[1:3]
HERE = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(SCRATCH, "overlap")
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
from checks import check, failures  # noqa: E402 (tests/e2e/checks.py)
# the simulation and the confident-learning twin, as label_issues_check.py defines them
src = open(os.path.join(HERE, "label_issues_check.py"), encoding="utf-8").read()
exec(src[src.index("def simulate"):src.index("def auroc")])


def merge_pairs(probs, true, pairs, rng):
    """make each (a, b) one distribution: items of either get the pair's mass split randomly"""
    logits = np.log(probs.astype(np.float64) + 1e-12)
    for a, b in pairs:
        sel = np.isin(true, (a, b))
        top = np.logaddexp(logits[sel, a], logits[sel, b])
        share = rng.uniform(0.2, 0.8, sel.sum())
        logits[sel, a] = top + np.log(share)
        logits[sel, b] = top + np.log(1 - share)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def merged_accuracy(probs, labels, groups):
    """accuracy with the probabilities of each group of classes summed (groups: class -> id)"""
    K = probs.shape[1]
    ids = sorted(set(groups))
    s = np.stack([probs[:, [c for c in range(K) if groups[c] == g]].astype(np.float64).sum(1)
                  for g in ids], axis=1)
    return (np.array(ids)[s.argmax(axis=1)] == np.array(groups)[labels]).mean()


K = 10
classes = [f"class {c}" for c in range(K)]
for seed, planted in ((1, [(8, 9)]), (2, [(8, 9)]), (3, [(8, 9)]), (4, [(2, 6), (8, 9)])):
    labels, true, flipped, probs = simulate(seed, strength=4.0)
    if len(planted) > 1:
        probs = merge_pairs(probs, true, planted[:1], np.random.default_rng(seed))
    path = os.path.join(root, f"sim_{seed}.h5")
    write(path, classes, labels, probs)
    p = subprocess.run([LOUPE, "analyze", path, "overlap", "top=6", "merges=3"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        check(False, f"seed {seed}: loupe analyze overlap failed: {p.stderr}")
        continue
    t, C, Cc, _, _ = twin(labels, probs, "prune_by_noise_rate")
    Q = Cc / Cc.sum()
    S = Q + Q.T
    with h5py.File(path, "r") as f:
        g = f["analyses/overlap/train"]
        a, b = g["class_a"][()], g["class_b"][()]
        got = sorted(zip(a[: len(planted)].tolist(), b[: len(planted)].tolist()))
        check(got == sorted(planted), f"seed {seed}: the top {len(planted)} pair(s) {got} are "
              f"the planted {planted}")
        check(np.allclose(g["joint"][()], S[a, b], atol=1e-6) and
              np.all(np.diff(g["joint"][()]) <= 0), f"seed {seed}: joint = the twin's Q + Q^T, "
              "falling")
        pred = probs.argmax(axis=1)
        acc = (pred == labels).mean()
        check(abs(g.attrs["accuracy"] - acc) < 1e-9, f"seed {seed}: accuracy {acc:.4f}")
        ok_merged, ok_relabel = True, True
        for x in range(len(a)):
            groups = list(range(K))
            groups[b[x]] = a[x]
            want = merged_accuracy(probs, labels, groups)
            ok_merged &= abs(g["accuracy_merged"][x] - want) < 1e-6
            M = np.zeros((K, K), np.int64)
            np.add.at(M, (labels, pred), 1)
            ok_relabel &= abs(g["accuracy_relabelled"][x] -
                              (acc + (M[a[x], b[x]] + M[b[x], a[x]]) / len(labels))) < 1e-6
        check(ok_merged, f"seed {seed}: accuracy_merged of {len(a)} pairs = numpy's from the "
              f"summed probabilities (rank 1: {g['accuracy_merged'][0]:.4f})")
        check(ok_relabel, f"seed {seed}: accuracy_relabelled = numpy's")
        groups = list(range(K))
        ok_steps = True
        for s_, (ma, mb) in enumerate(zip(g["merges/class_a"][()], g["merges/class_b"][()])):
            ga, gb = groups[ma], groups[mb]
            groups = [min(ga, gb) if x in (ga, gb) else x for x in groups]
            want = merged_accuracy(probs, labels, groups)
            ok_steps &= abs(g["merges/accuracy"][s_] - want) < 1e-6
        check(ok_steps and len(g["merges/accuracy"]) == 3, f"seed {seed}: greedy merges' "
              f"accuracies {np.round(g['merges/accuracy'][()], 4).tolist()} = numpy's")
        fd = f["analyses/overlap/findings"]
        text = fd["text"].asstr()[0]
        check(set(fd["kind"].asstr()[()]) == {"merge_candidate"} and
              f"'class {a[0]}' and 'class {b[0]}'" in text, f"seed {seed}: {text}")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("overlap: all checks passed")
