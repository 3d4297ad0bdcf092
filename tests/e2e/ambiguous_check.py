#!/usr/bin/env python3
"""ambiguous_check.py LOUPE SCRATCH — the ambiguous analysis on simulated probabilities.

The model of label_issues_check.py (10% flips, a merged pair 8/9), plus 5% blended items: an
item of class a that also shows class b, so the model's mass is split between the two, and
3% diffuse items that fit no class (flat probabilities). Checked:
  - the per-item tables equal numpy's (top two classes, their probabilities, entropy; with the
    merged pair as one candidate, the other candidate, its excess over the mean the label's
    items give it, and the kinds);
  - >= 0.6 of the planted blends are in the top list of ambiguous findings (as long as the
    number of planted blends), with the second class right for >= 0.7 of them;
  - the merged pair's items are left out (the classes' problem, not the image's);
  - diffuse items are findings of kind diffuse, not ambiguous;
  - the pair counts add up to the ambiguous items.
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

LOUPE, SCRATCH = sys.argv[1:3]
HERE = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(SCRATCH, "ambiguous")
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
failures = []
src = open(os.path.join(HERE, "label_issues_check.py"), encoding="utf-8").read()
exec(src[src.index("def simulate"):src.index("# ---- the numpy twin")])


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)


K = 10
classes = [f"class {c}" for c in range(K)]
for seed in (1, 2, 3):
    labels, true, flipped, probs = simulate(seed, strength=5.0)
    rng = np.random.default_rng(100 + seed)
    N = len(labels)
    logp = np.log(probs.astype(np.float64) + 1e-12)
    clean = np.nonzero(~flipped & (true < K - 2))[0]
    blend = rng.choice(clean, int(0.05 * N), replace=False)
    second = np.array([rng.choice([c for c in range(K - 2) if c != true[i]]) for i in blend])
    logp[blend, second] = logp[blend, true[blend]] + rng.normal(0, 0.3, len(blend))
    rest = np.setdiff1d(clean, blend)
    diffuse = rng.choice(rest, int(0.03 * N), replace=False)
    logp[diffuse] = rng.normal(0, 0.2, (len(diffuse), K))
    e = np.exp(logp - logp.max(axis=1, keepdims=True))
    probs = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    path = os.path.join(root, f"sim_{seed}.h5")
    write(path, classes, labels, probs)
    p = subprocess.run([LOUPE, "analyze", path, "ambiguous"], capture_output=True, text=True)
    if p.returncode != 0:
        check(False, f"seed {seed}: loupe analyze ambiguous failed: {p.stderr}")
        continue
    with h5py.File(path, "r") as f:
        g = f["analyses/ambiguous/train"]
        order = np.argsort(-probs, axis=1, kind="stable")
        p64 = probs.astype(np.float64)
        h = -(np.where(p64 > 0, p64 * np.log(np.where(p64 > 0, p64, 1)), 0)).sum(1) / np.log(K)
        check(np.array_equal(g["first"][()], order[:, 0]) and
              np.array_equal(g["second"][()], order[:, 1]) and
              np.allclose(g["entropy"][()], h, atol=1e-5) and
              np.allclose(g["p_second"][()], probs[np.arange(N), order[:, 1]]),
              f"seed {seed}: top two, probabilities and entropy = numpy's")
        # the numpy twin: the merged pair one candidate (the joint finds no other overlap
        # here), U[a][c] the mean of candidate c over the items labelled a, the other
        # candidate the one most above it
        grp = np.arange(K)
        grp[K - 1] = K - 2
        Q = np.zeros((N, K))
        np.add.at(Q.T, grp, p64.T)
        gl = grp[labels]
        U = np.array([Q[gl == a].mean(0) if (gl == a).any() else np.zeros(K) for a in range(K)])
        X = Q - U[gl]
        X[:, K - 1] = -np.inf
        X[np.arange(N), gl] = -np.inf
        go = X.argmax(1)
        excess = X[np.arange(N), go]
        best = np.where((go == K - 2) & (p64[:, K - 1] > p64[:, K - 2]), K - 1, go)
        p_sorted = np.sort(p64, 1)
        flat = (p_sorted[:, -1] + p_sorted[:, -2] < 0.5) & (h >= 0.6)
        amb = ~flat & (excess >= 0.1) & (Q[np.arange(N), gl] >= 0.05)
        settled = np.abs(excess - 0.1) > 1e-5  # float32 sums in the plugin
        check(np.array_equal(g["other"][()], best) and np.allclose(g["score"][()], excess,
                                                                   atol=1e-5) and
              np.array_equal(g["kind"][()][settled] == 1, amb[settled]) and
              np.array_equal(g["kind"][()][settled] == 2, flat[settled]),
              f"seed {seed}: other candidate, excess and kinds = numpy's")
        fd = f["analyses/ambiguous/findings"]
        kind = fd["kind"].asstr()[()]
        item, other = fd["item"][()], fd["other_class"][()]
        amb, amb_other = item[kind == "ambiguous"], other[kind == "ambiguous"]
        top = amb[: len(blend)]
        found = np.isin(blend, top)
        where = {i: o for i, o in zip(top, amb_other[: len(blend)])}
        right = np.mean([where[i] == s for i, s in zip(blend, second) if i in where])
        check(found.mean() >= 0.6 and right >= 0.7,
              f"seed {seed}: {found.mean():.3f} of {len(blend)} blends in the top list, "
              f"second class right for {right:.3f}")
        check(not np.any(np.isin(amb, np.nonzero(true >= K - 2)[0]) &
                         np.isin(labels[amb], (K - 2, K - 1)) &
                         np.isin(amb_other, (K - 2, K - 1))),
              f"seed {seed}: the merged pair's items are left out "
              f"({g.attrs['overlap_items']} of them)")
        dif = item[kind == "diffuse"]
        check(np.isin(diffuse, dif).mean() >= 0.9 and not np.any(np.isin(diffuse, amb)),
              f"seed {seed}: {np.isin(diffuse, dif).mean():.3f} of the flat items are diffuse, "
              "none ambiguous")
        check(g["pairs"][()].sum() == g.attrs["ambiguous"] == len(amb),
              f"seed {seed}: pair counts add up ({len(amb)} ambiguous)")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("ambiguous: all checks passed")
