#!/usr/bin/env python3
"""duplicates_check.py LOUPE SCRATCH [synthetic|quick] — the duplicates analysis against truth.

`synthetic` (labelled long: the plain pass only) runs part 1 on four configurations; `quick`
(default; also under the sanitizers) runs part 1 on one small configuration, then 2 and 3.

1. synthetic (no training needed: the analysis reads pixels only), the defaults and three other
   seeds / class counts / sizes, with dup_rate raised so that each run holds about 150 copies:
   every exact copy found with its original, >= 0.9 of the near copies (moved by 1-2 pixels at
   32/size scale, with noise), precision >= 0.95 (a pair counts right when the truth says both
   copy one training image), and kind `duplicate_label_conflict` exactly where the two labels
   differ (checked against /dataset/<split>/labels).
2. files written with Pillow, an archive written with h5py alone (the minimal schema, no
   dataset plugin), read with --images ROOT: an exact copy under another name, a re-encoded
   and resized copy, a copy with another label, distinct images left alone; without --images
   the result is empty with attribute `skipped` saying why; a missing file is an error naming
   it, and the archive keeps its bytes.
3. bad parameters: out of range, and a misspelt one with its suggestion.
"""
import hashlib
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
from PIL import Image

LOUPE, SCRATCH = sys.argv[1:3]
MODE = sys.argv[3] if len(sys.argv) > 3 else "quick"
root = os.path.join(SCRATCH, "duplicates_" + MODE)
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
from checks import check, failures  # noqa: E402 (tests/e2e/checks.py)


def run(*args):
    p = subprocess.run([LOUPE, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def text(a):
    return [x.decode() if isinstance(x, bytes) else x for x in a]


def findings(f):
    g = f["analyses/duplicates/findings"]
    return list(zip(text(g["kind"][:]), text(g["split"][:]), g["item"][:],
                    text(g["other_split"][:]), g["other_item"][:]))


# ---- 1. synthetic ----------------------------------------------------------------------
CONFIGS = [[], ["seed=3", "classes=8", "size=48"], ["seed=2", "classes=12", "size=64"],
           ["seed=5", "classes=5", "size=40"]] if MODE == "synthetic" else \
    [["seed=4", "train=500", "test=300"]]
for cfg in CONFIGS:
    name = " ".join(cfg) or "defaults"
    path = os.path.join(root, "syn_%d.h5" % CONFIGS.index(cfg))
    rc, out = run("dataset", "synthetic", *cfg, "dup_rate=0.3", "--write", path)
    check(rc == 0, f"{name}: dataset written ({out.strip()[-200:] if rc else ''})")
    rc, out = run("analyze", path, "duplicates")
    check(rc == 0, f"{name}: loupe analyze duplicates ran ({out.strip()[-300:] if rc else ''})")
    if rc:
        continue
    with h5py.File(path, "r") as f:
        dof = f["dataset/test/truth/duplicate_of"][:]
        dk = f["dataset/test/truth/duplicate_kind"][:]
        labels = {s: f[f"dataset/{s}/labels"][:] for s in ("train", "test")}
        rows = findings(f)
        g = f["analyses/duplicates/test"]
        per_item = (g["match_kind"][:], g["match_item"][:], g["match_split"][:])
        splits = text(f["analyses/duplicates/splits"][:])

    def original(split, item):
        """the training image an item copies, by the truth; -1 none"""
        if split == "train":
            return item
        return dof[item]

    right, found = 0, set()
    for kind, s, i, os_, oi in rows:
        ok = s == "test" and dof[i] >= 0 and original(os_, oi) == dof[i]
        right += ok
        if ok:
            found.add(i)
        conflict = labels[s][i] != labels[os_][oi]
        if (kind == "duplicate_label_conflict") != conflict:
            check(False, f"{name}: {s} {i} ~ {os_} {oi} is kind {kind}, labels differ: {conflict}")
    exact, near = np.where(dk == 1)[0], np.where(dk == 2)[0]
    fe = sum(i in found for i in exact) / max(1, len(exact))
    fn = sum(i in found for i in near) / max(1, len(near))
    precision = right / max(1, len(rows))
    print(f"  {name}: {len(rows)} findings; exact {len(exact)} planted, found {fe:.3f}; "
          f"near {len(near)} planted, found {fn:.3f}; precision {precision:.3f}")
    check(len(exact) > 20 and len(near) > 20, f"{name}: enough copies planted to judge")
    check(fe == 1.0, f"{name}: every exact copy found ({fe:.3f})")
    check(fn >= 0.9, f"{name}: >= 0.9 of the near copies found ({fn:.3f})")
    check(precision >= 0.95, f"{name}: precision >= 0.95 ({precision:.3f})")
    mk, mi, ms = per_item
    agree = all(mk[i] == (1 if dk[i] == 1 else mk[i]) for i in exact)
    check(agree and splits[0] == "train" and all(ms[i] == 0 and mi[i] == dof[i] for i in exact),
          f"{name}: per-item table: exact copies point at their training original")

if MODE == "synthetic":
    print(f"{len(failures)} FAILED" if failures else "all ok")
    sys.exit(1 if failures else 0)

# ---- 2. files and an h5py archive --------------------------------------------------------
img_root = os.path.join(root, "images")
rng = np.random.default_rng(7)


def picture(seed):
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:96, 0:128]
    a = np.zeros((96, 128, 3))
    for _ in range(6):  # soft blobs of colour: a picture, not noise
        cy, cx, s = r.uniform(0, 96), r.uniform(0, 128), r.uniform(8, 30)
        a += r.uniform(0, 255, 3) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s * s))[..., None]
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


names = {"train": [], "test": []}
labs = {"train": [], "test": []}


def put(split, rel, img, label, **save):
    p = os.path.join(img_root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    img.save(p, **save)
    names[split].append(rel)
    labs[split].append(label)


for i in range(30):
    put("train", f"c{i % 3}/t{i:02d}.png", picture(i), i % 3)
put("test", "c0/exact.png", picture(4), 1)            # train row 4, label 1 too: an exact copy
put("test", "c1/reencoded.jpg", picture(7).resize((160, 120)), 1, quality=85)  # train row 7
put("test", "c2/relabelled.png", picture(11), 0)      # train row 11 has label 2: conflict
for i in range(5):
    put("test", f"c{i % 3}/new{i}.png", picture(100 + i), i % 3)
put("train", "c0/again.png", picture(0), 0)           # train row 30: train row 0 twice
arch = os.path.join(root, "elsewhere.h5")
with h5py.File(arch, "w") as f:
    f["dataset/classes"] = np.array(["a", "b", "c"], dtype=h5py.string_dtype())
    for s in ("train", "test"):
        f[f"dataset/{s}/names"] = np.array(names[s], dtype=h5py.string_dtype())
        f[f"dataset/{s}/labels"] = np.array(labs[s], dtype=np.int32)

rc, out = run("analyze", arch, "duplicates")
with h5py.File(arch, "r") as f:
    g = f["analyses/duplicates"]
    skipped = g.attrs.get("skipped", "")
    n = len(g["findings/kind"])
check(rc == 0 and n == 0 and "--images" in str(skipped),
      f"no images: an empty result whose 'skipped' says to pass --images ({skipped!r})")
check("duplicates" in out and "--images" in out, "no images: a warning says so")

rc, out = run("analyze", arch, "duplicates", "--images", img_root, "--threads", "2")
check(rc == 0, f"--images ROOT: ran ({out.strip()[-300:] if rc else ''})")
with h5py.File(arch, "r") as f:
    got = {(s, int(i)): (k, os_, int(oi)) for k, s, i, os_, oi in findings(f)}
    has_skip = "skipped" in f["analyses/duplicates"].attrs
want = {("test", 0): ("exact_duplicate", "train", 4),
        ("test", 1): ("near_duplicate", "train", 7),
        ("test", 2): ("duplicate_label_conflict", "train", 11),
        ("train", 30): ("exact_duplicate", "train", 0)}
print("  found:", got)
check(got == want, "--images ROOT: exactly the planted copies, each with its kind and original")
check(not has_skip, "--images ROOT: a re-run replaces the skipped result")

before = hashlib.sha256(open(arch, "rb").read()).hexdigest()
os.rename(os.path.join(img_root, "c1/reencoded.jpg"), os.path.join(root, "moved.jpg"))
rc, out = run("analyze", arch, "duplicates", "--images", img_root)
after = hashlib.sha256(open(arch, "rb").read()).hexdigest()
check(rc != 0 and "reencoded.jpg" in out and "test" in out,
      f"a missing file: an error naming it ({out.strip()[-200:]})")
check(before == after, "a missing file: the archive keeps its bytes")

# ---- 3. bad parameters -------------------------------------------------------------------
rc, out = run("analyze", arch, "duplicates", "neighbours=0", "--images", img_root)
check(rc != 0 and "neighbours" in out, f"neighbours=0 refused ({out.strip()[-160:]})")
rc, out = run("analyze", arch, "duplicates", "max_dif=0.3")
check(rc != 0 and "max_diff" in out, f"a misspelt parameter: did you mean ({out.strip()[-160:]})")
rc, out = run("analyze", arch, "duplicates", "--threads", "x")
check(rc == 2 and "--threads" in out, "--threads x refused")

if failures:
    print(f"{len(failures)} FAILED")
    sys.exit(1)
print("all ok")
