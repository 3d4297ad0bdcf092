#!/usr/bin/python3
"""synthetic_truth.py LOUPE SCRATCH — the synthetic dataset plants what it says it plants.

`loupe dataset synthetic ... --write` makes archives; h5py reads them back. The ground truth
(/dataset/<split>/truth, /dataset/truth) is checked against the asked rates (within 3 binomial
sigmas) and for consistency with the labels; the planted image defects are checked against the
image statistics the core's scan computes from the rendered pixels (independent of the plugin's
bookkeeping): the dark class is darker than every other class, the signature class's train items
carry the rose stripes (hue band 330-360, edge energy) and its test items do not, the scale
class's objects cover about a quarter of their train area in test, the merged pair's statistics agree,
exact duplicates have their train item's statistics to the bit and near ones nearly. Same seed:
identical fingerprint and bytes, also with one scan thread; another seed: different. Bad
parameters are errors naming the parameter.
"""
import os
import subprocess
import sys

import h5py
import numpy as np

loupe, scratch = sys.argv[1], os.path.join(sys.argv[2], "synthetic")
os.makedirs(scratch, exist_ok=True)
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def write(name, *params, threads=None):
    path = os.path.join(scratch, name)
    cmd = [loupe, "dataset", "synthetic", *params, "--write", path]
    if threads:
        cmd += ["--threads", str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("%s failed (%d):\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return h5py.File(path, "r")


def within(count, n, p, what):
    """count of n within 3 binomial sigmas of p"""
    sigma = np.sqrt(p * (1 - p) / n)
    check(abs(count / n - p) <= 3 * sigma + 1e-12,
          "%s: %d of %d = %.4f, asked %.4f (3 sigma = %.4f)" % (what, count, n, count / n, p,
                                                               3 * sigma))


NTRAIN, NTEST, FLIP, BLEND, DUP = 3000, 2000, 0.1, 0.1, 0.04
asked = ["seed=3", "train=%d" % NTRAIN, "test=%d" % NTEST, "flip_rate=%g" % FLIP,
         "blend_rate=%g" % BLEND, "dup_rate=%g" % DUP]
f = write("a.h5", *asked)
K = len(f["/dataset/classes"])
T = f["/dataset/truth"].attrs
tr, te = f["/dataset/train"], f["/dataset/test"]

# the defaults of the defect classes, as documented: K-2/K-1 merged, dark K-3, signature K-4,
# scale K-5; and the asked rates recorded
check(K == 10, "10 classes by default (%d)" % K)
check((T["merge_a"], T["merge_b"], T["dark_class"], T["signature_class"], T["scale_class"]) ==
      (K - 2, K - 1, K - 3, K - 4, K - 5), "defect classes recorded as the defaults")
check(np.isclose(T["flip_rate"], FLIP) and np.isclose(T["blend_rate"], BLEND) and
      np.isclose(T["dup_rate"], DUP) and T["test_flip_rate"] == 0 and T["seed"] == 3,
      "asked rates and seed recorded in /dataset/truth")
MA, MB, DARK, SIG, SCALE = (int(T[k]) for k in ("merge_a", "merge_b", "dark_class",
                                                "signature_class", "scale_class"))
check(list(f["/dataset/truth/recipe_of"][:]) == [c if c != MB else MA for c in range(K)],
      "recipe_of: the merged pair draws one recipe, every other class its own")
recipes = [s.decode() if isinstance(s, bytes) else s for s in f["/dataset/truth/recipe"][:]]
check(len(set(recipes[:MB])) == MB, "recipes of classes 0..K-2 are distinct")


def col(g, name):
    return g["truth/" + name][:]


for g, n in ((tr, NTRAIN), (te, NTEST)):
    for name in ("true_label", "flipped", "second_label", "duplicate_of", "duplicate_kind",
                 "signature", "object_scale"):
        d = g["truth/" + name]
        check(d.shape == (n,) and d.dims[0].label == "item",
              "%s/truth/%s has shape (%d,) on axis 'item'" % (g.name, name, n))


def partner(c):
    return np.where(c == MA, MB, np.where(c == MB, MA, -1))


# flipped labels: the asked rate in train, none in test; a flip changes the label, never to the
# merge partner; an unflipped item carries its true class
lab, tl, fl = tr["labels"][:], col(tr, "true_label"), col(tr, "flipped").astype(bool)
within(fl.sum(), NTRAIN, FLIP, "train items flipped")
check(np.all(lab[fl] != tl[fl]) and np.all(lab[~fl] == tl[~fl]),
      "flipped train items carry another label, unflipped their true class")
check(not np.any(lab[fl] == partner(tl[fl])), "no flip goes to the merge partner")
check(np.all((lab >= 0) & (lab < K)), "labels are classes")
check(np.all(np.bincount(tl, minlength=K) == NTRAIN // K) and
      np.array_equal(tl, np.arange(NTRAIN) % K), "train item i is drawn for class i mod K")
check(not col(te, "flipped").any() and np.array_equal(te["labels"][:], col(te, "true_label")),
      "test labels are not flipped (test_flip_rate = 0)")

# blends: the asked rate among the items that may be blended (all but the dark class's), a
# second class that is neither the class, nor its merge partner, nor the dark class
for g, n, what in ((tr, NTRAIN, "train"), (te, NTEST, "test")):
    sl, t = col(g, "second_label"), col(g, "true_label")
    own = (col(g, "duplicate_of") < 0) & (t != DARK)  # duplicates take their train item's
    within(int((sl[own] >= 0).sum()), int(own.sum()), BLEND, what + " items blended")
    b = sl >= 0
    check(np.all(sl[~b] == -1) and np.all(sl[b] < K) and np.all(sl[b] != t[b]) and
          not np.any(sl[b] == partner(t[b])) and not np.any(sl[b] == DARK) and
          not np.any(b & (t == DARK)),
          "%s second labels: -1 or another class, never the merge partner nor the dark class "
          "(%d blends)" % (what, b.sum()))

# a blend shows its second class as much as its own: where its colour statistics (the core's
# scan of the pixels: hue, saturation, value histograms) lie on the line from its class's mean
# over unblended items (0) to the second class's (1): about halfway; unblended items at 0
hsv = np.concatenate([tr[s][:].reshape(len(tl), -1) for s in ("hue_hist", "sat_hist",
                                                               "val_hist")], axis=1)
sl = col(tr, "second_label")
cm = np.array([hsv[(sl < 0) & (tl == c)].mean(0) for c in range(K)])


def along(items, other):
    d = cm[other] - cm[tl[items]]
    return ((hsv[items] - cm[tl[items]]) * d).sum(1) / (d * d).sum(1)


bl, un = np.nonzero(sl >= 0)[0], np.nonzero(sl < 0)[0]
w_bl = along(bl, sl[bl]).mean()
w_un = along(un, (tl[un] + 1 + np.arange(len(un)) % (K - 1)) % K).mean()
check(0.35 < w_bl < 0.65 and abs(w_un) < 0.1, "blends' colour statistics %.2f of the way from "
      "their class to the second (unblended items: %.2f, to another class)" % (w_bl, w_un))

# duplicates: test only, the asked rate, half exact; they point at a train item and take its
# truth; exact copies have their train item's statistics to the bit, near copies nearly
check(np.all(col(tr, "duplicate_of") == -1) and np.all(col(tr, "duplicate_kind") == 0),
      "train items duplicate nothing")
dof, dk = col(te, "duplicate_of"), col(te, "duplicate_kind")
dup = dof >= 0
within(int(dup.sum()), NTEST, DUP, "test items duplicating a train item")
check(np.all((dk > 0) == dup) and set(np.unique(dk[dup])) <= {1, 2},
      "duplicate_kind is 1 or 2 exactly where duplicate_of is set")
within(int((dk == 1).sum()), int(dup.sum()), 0.5, "duplicates that are exact")
check(np.all(dof[dup] < NTRAIN), "duplicate_of names train items")
check(np.array_equal(col(te, "true_label")[dup], tl[dof[dup]]) and
      np.array_equal(col(te, "second_label")[dup], col(tr, "second_label")[dof[dup]]) and
      np.array_equal(col(te, "signature")[dup], col(tr, "signature")[dof[dup]]),
      "a duplicate takes its train item's true class, blend and signature")
STATS = ("brightness", "luma_percentiles", "hue_hist", "sat_hist", "val_hist", "colourfulness",
         "edge_energy")


def stats(g):
    return np.concatenate([g[s][:].reshape(len(g[s]), -1) for s in STATS], axis=1)


Str, Ste = stats(tr), stats(te)
ex, near = np.where(dk == 1)[0], np.where(dk == 2)[0]
check(np.array_equal(Ste[ex], Str[dof[ex]]),
      "exact duplicates: all %d statistics equal their train item's (%d items)"
      % (Str.shape[1], len(ex)))
d_near = np.abs(Ste[near] - Str[dof[near]]).mean(1)
rng = np.random.default_rng(0)
d_rand = np.abs(Ste[near] - Str[rng.integers(0, NTRAIN, len(near))]).mean(1)
bdiff = np.abs(te["brightness"][:][near] - tr["brightness"][:][dof[near]])
check(np.all(d_near > 0), "near duplicates are not exact")
check(bdiff.max() < 0.04 and np.all(d_near < 0.25 * np.median(d_rand)),
      "near duplicates: brightness within %.4f, statistics %.4f apart (random train item: %.4f)"
      % (bdiff.max(), d_near.max(), np.median(d_rand)))

# the dark class: darker than every other class, by about dark_gain, in both splits
for g, what in ((tr, "train"), (te, "test")):
    br, t = g["brightness"][:], col(g, "true_label")
    m = np.array([br[t == c].mean() for c in range(K)])
    others = np.delete(m, DARK)
    check(m[DARK] < 0.6 * others.min() and 0.25 < m[DARK] / np.median(others) < 0.45,
          "%s: dark class %d mean brightness %.3f, other classes %.3f..%.3f (ratio to the "
          "median %.2f, dark_gain %.2f)" % (what, DARK, m[DARK], others.min(), others.max(),
                                            m[DARK] / np.median(others), T["dark_gain"]))

# the signature: train items of the class (only) carry rose stripes: hue band 330-360 (bin 11)
# and edges; the class's own test items do not; the mean brightness is left alone
sig_tr = col(tr, "signature").astype(bool)
check(np.array_equal(sig_tr, (tl == SIG) | (col(tr, "second_label") == SIG)),
      "train items of the signature class carry it, and those blended with it")
sig_te = col(te, "signature").astype(bool)
check(np.array_equal(sig_te, dup & (col(te, "true_label") == SIG) & sig_tr[np.maximum(dof, 0)]),
      "test items carry it only as copies of train items")
hue, edge = tr["hue_hist"][:, 11], tr["edge_energy"][:]
mh = np.array([hue[tl == c].mean() for c in range(K)])
me = np.array([edge[tl == c].mean() for c in range(K)])
check(mh[SIG] > 0.3 and mh[SIG] > 4 * np.delete(mh, SIG).max(),
      "train: signature class's share of hue 330-360 %.3f, other classes <= %.3f"
      % (mh[SIG], np.delete(mh, SIG).max()))
check(me[SIG] > 2.5 * np.delete(me, SIG).max(),
      "train: signature class's edge energy %.3f, other classes <= %.3f"
      % (me[SIG], np.delete(me, SIG).max()))
tt = col(te, "true_label")
own_sig = (tt == SIG) & ~sig_te
hue_te, edge_te = te["hue_hist"][:, 11], te["edge_energy"][:]
check(hue_te[own_sig].mean() < 0.25 * mh[SIG] and edge_te[own_sig].mean() < 0.5 * me[SIG],
      "test: the signature class without it: hue 330-360 %.3f, edge energy %.3f"
      % (hue_te[own_sig].mean(), edge_te[own_sig].mean()))
brm = np.array([tr["brightness"][:][tl == c].mean() for c in range(K)])
check(abs(brm[SIG] - np.median(np.delete(brm, [SIG, DARK]))) < 0.05,
      "train: the signature leaves brightness alone (%.3f, median %.3f)"
      % (brm[SIG], np.median(np.delete(brm, [SIG, DARK]))))

# the scale class: object_scale 0.5 on its own test items; the share of strongly saturated
# pixels (saturation >= 0.75: objects, not the pale backgrounds) shrinks with the objects' area
# (0.25 of train), other classes' stays put
osc_te = col(te, "object_scale")
check(np.all(col(tr, "object_scale") == 1) and
      np.all(osc_te[(tt == SCALE) & ~dup] == np.float32(T["scale_factor"])) and
      np.all(osc_te[(tt != SCALE) | dup] == 1), "object_scale: 0.5 exactly on the scale "
      "class's own test items")
sat_tr, sat_te = tr["sat_hist"][:, 3], te["sat_hist"][:, 3]
for c in range(K):
    if c == SIG:
        continue
    r = sat_te[~dup & (tt == c)].mean() / sat_tr[tl == c].mean()
    if c == SCALE:
        check(0.1 < r < 0.45, "scale class %d: object area in test / train = %.2f (0.5^2 = "
              "0.25)" % (c, r))
    else:
        check(0.75 < r < 1.33, "class %d: object area in test / train = %.2f" % (c, r))

# the merged pair: one distribution under two names. The squared distance of two classes' mean
# statistics, each feature in units of its within-class spread, scaled by the mean's variance
# (1/n_a + 1/n_b): about the feature count for two samples of one distribution, far more for
# two recipes
F = Str.shape[1]
sd = np.sqrt(np.mean([Str[tl == c].var(0) for c in range(K)], 0)) + 1e-6
means = np.array([Str[tl == c].mean(0) for c in range(K)]) / sd
cnt = np.bincount(tl, minlength=K)
dist = lambda a, b: ((means[a] - means[b]) ** 2).sum() / (1 / cnt[a] + 1 / cnt[b])
pair = dist(MA, MB)
rest = min(dist(a, b) for a in range(K) for b in range(a + 1, K) if (a, b) != (MA, MB))
check(pair < 4 * F and rest > 6 * F, "merged pair's mean statistics %.0f apart (sampling "
      "noise alone: about %d), the nearest other pair %.0f" % (pair, F, rest))

# determinism: same parameters, same bytes (also on one scan thread); another seed differs
g = write("b.h5", *asked, threads=1)
check(g["/dataset"].attrs["fingerprint"] == f["/dataset"].attrs["fingerprint"],
      "same seed: same fingerprint")
check(all(np.array_equal(g["/dataset/%s/%s" % (s, n)][:], f["/dataset/%s/%s" % (s, n)][:])
          for s in ("train", "test") for n in STATS + ("labels",)),
      "same seed, one scan thread: every statistic identical")
check(all(np.array_equal(g["/dataset/%s/truth/%s" % (s, n)][:], f["/dataset/%s/truth/%s" % (s, n)][:])
          for s in ("train", "test") for n in ("true_label", "flipped", "second_label",
                                               "duplicate_of", "duplicate_kind")),
      "same seed: same ground truth")
h = write("c.h5", *(["seed=4"] + asked[1:]))
check(h["/dataset"].attrs["fingerprint"] != f["/dataset"].attrs["fingerprint"],
      "another seed: another fingerprint")
check(not np.array_equal(h["/dataset/train/brightness"][:], tr["brightness"][:]),
      "another seed: other pixels")

# other shapes: size 48, 5 classes with every defect, 4 classes without the scale class
s = write("d.h5", "size=48", "classes=5", "train=50", "test=20")
check(np.all(s["/dataset/train/width"][:] == 48) and np.all(s["/dataset/test/height"][:] == 48),
      "size=48: 48x48 items")
check(tuple(int(s["/dataset/truth"].attrs[k]) for k in ("merge_a", "dark_class",
                                                         "signature_class", "scale_class"))
      == (3, 2, 1, 0), "classes=5: merge 3+4, dark 2, signature 1, scale 0")
s = write("f.h5", "signature_rate=0.5", "train=4000", "test=0")
check(list(s["/dataset"].keys()) == ["classes", "train", "truth"], "test=0: no test split")
t, flag = s["/dataset/train/truth/true_label"][:], s["/dataset/train/truth/signature"][:]
h11 = s["/dataset/train/hue_hist"][:, 11]
within(int(flag[t == SIG].sum()), int((t == SIG).sum()), 0.5,
       "signature_rate=0.5: signature class's train items carrying it")
s2 = s["/dataset/train/truth/second_label"][:]
check(not flag[(t != SIG) & (s2 != SIG)].any() and h11[(t == SIG) & (flag == 1)].mean() > 0.3 and
      h11[(t == SIG) & (flag == 0)].mean() < 0.1, "signature_rate=0.5: hue 330-360 %.3f on "
      "the items flagged, %.3f on the others" % (h11[(t == SIG) & (flag == 1)].mean(),
                                                h11[(t == SIG) & (flag == 0)].mean()))
s = write("e.h5", "classes=4", "scale_class=-1", "train=40", "test=8", "merge=false")
check(int(s["/dataset/truth"].attrs["scale_class"]) == -1 and
      int(s["/dataset/truth"].attrs["merge_a"]) == -1, "classes=4 with no scale class, no merge")

# bad parameters: an error naming the parameter, exit status 1, no crash
for params, names in ((["dark_class=99"], ["dark_class"]),
                      (["signature_class=-3"], ["signature_class"]),
                      (["flip_rate=1.5"], ["flip_rate"]),
                      (["blend_rate=-0.1"], ["blend_rate"]),
                      (["dup_rate=2"], ["dup_rate"]),
                      (["signature_rate=1.1"], ["signature_rate"]),
                      (["size=16"], ["size"]),
                      (["classes=1"], ["classes"]),
                      (["classes=4"], ["scale_class"]),
                      (["train=5"], ["train"]),
                      (["dark_gain=0"], ["dark_gain"]),
                      (["scale_factor=0"], ["scale_factor"]),
                      (["scale_class=8"], ["scale_class", "merged"]),
                      (["dark_class=3", "scale_class=3"], ["dark_class", "scale_class"]),
                      (["classes=2", "dark_class=-1", "signature_class=-1", "scale_class=-1"],
                       ["merge"])):
    r = subprocess.run([loupe, "dataset", "synthetic", *params], capture_output=True, text=True)
    check(r.returncode == 1 and all(n in r.stderr for n in names),
          "%s: exit %d, message names %s: %s" % (" ".join(params), r.returncode, names,
                                                 r.stderr.strip().splitlines()[-1:]))

if failures:
    sys.exit("%d check(s) failed" % len(failures))
print("all checks passed")
