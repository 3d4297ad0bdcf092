#!/usr/bin/env python3
"""analyses_numpy.py N K SEED REPS — bench_analyses' peer: the same work written plainly in
numpy, on one thread, on an input drawn by the same recipe (numpy's generator, so the same
distribution, not the same numbers). Prints one JSON line.

Timed, as loupe's label_issues + overlap do it (docs/ANALYSES.md): thresholds t_k (mean
P[i][k] over items labelled k), each item's guess (the likeliest confident class, P >= t -
1e-6, else argmax P / t), the confident joint C, its calibration to the class counts (rounded,
the row totals kept), Q, the off-diagonal count of wrong labels with the least self-confident
items of each class taken (self-confidence ranking), per-class noise, the class pairs ranked by
Q[a][b] + Q[b][a] and the argmax accuracy. Rows in blocks of 16384, so that temporaries stay
small next to the matrix. Not timed: drawing the input.
"""
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

BLOCK = 16384


def draw(n, k, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n).astype(np.int32)
    p = np.empty((n, k), np.float32)
    for r0 in range(0, n, BLOCK):
        b = rng.random((min(BLOCK, n - r0), k), dtype=np.float32)
        b[np.arange(len(b)), labels[r0:r0 + len(b)]] += k / 10
        b /= b.sum(axis=1, keepdims=True)
        p[r0:r0 + len(b)] = b
    return labels, p


def calibrate(C, counts):
    s = C.sum(axis=1, keepdims=True)
    f = np.where(s > 0, C / np.maximum(s, 1) * counts[:, None], 0)
    out = np.rint(f).astype(np.int64)
    res = f - out
    for r in range(len(C)):  # the remainder to the largest residuals, as loupe
        d = counts[r] - out[r].sum()
        if d > 0:
            out[r, np.argsort(-res[r], kind="stable")[:d]] += 1
        elif d < 0:
            out[r, np.argsort(np.where(out[r] > 0, res[r], np.inf), kind="stable")[:-d]] -= 1
    return out


def analyse(labels, p):
    n, k = p.shape
    counts = np.bincount(labels, minlength=k)
    rows = np.arange(n)
    self_conf = p[rows, labels]
    t = np.bincount(labels, weights=self_conf, minlength=k) / np.maximum(counts, 1)
    t = np.maximum(np.where(counts > 0, t, 2.0), 2e-6)
    C = np.zeros((k, k), np.int64)
    argmax = np.empty(n, np.int64)
    for r0 in range(0, n, BLOCK):
        b = p[r0:r0 + BLOCK]
        conf = b >= t - 1e-6
        guess = np.where(conf.any(axis=1), np.where(conf, b, -1).argmax(axis=1),
                         (b / t).argmax(axis=1))
        np.add.at(C, (labels[r0:r0 + BLOCK], guess), 1)
        argmax[r0:r0 + BLOCK] = b.argmax(axis=1)
    diag = C[np.arange(k), np.arange(k)]
    C[np.arange(k), np.arange(k)] = np.where((counts > 0) & (diag < 1), 1, diag)
    Cc = calibrate(C, counts)
    Q = Cc / Cc.sum()
    noise = 1 - np.diag(Q) / np.maximum(Q.sum(axis=1), 1e-12)
    off = counts - np.diag(Cc)  # per class, how many of its labels are wrong
    order = np.lexsort((self_conf, labels))  # by class, least self-confident first
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flagged = np.zeros(n, bool)
    for c in np.nonzero(off > 0)[0]:
        flagged[order[start[c]:start[c] + off[c]]] = True
    sym = np.triu(Q + Q.T, 1)
    top = np.argsort(-sym, axis=None, kind="stable")[:10]
    pairs = [(int(a), int(b)) for a, b in zip(*np.unravel_index(top, sym.shape))
             if sym[a, b] > 0]
    accuracy = float((argmax == labels).mean())
    return int(flagged.sum()), len(pairs), accuracy, float(noise.mean())


def main():
    n, k, seed, reps = (int(a) for a in sys.argv[1:5])
    labels, p = draw(n, k, seed)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        flagged, npairs, accuracy, _ = analyse(labels, p)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"best_s": round(min(times), 4),
                      "median_s": round(sorted(times)[len(times) // 2], 4),
                      "reps_s": [round(x, 4) for x in times], "flagged": flagged,
                      "pairs": npairs, "accuracy": round(accuracy, 6),
                      "numpy": np.__version__}))


if __name__ == "__main__":
    main()
