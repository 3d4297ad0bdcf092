#!/usr/bin/env python3
"""datasets_check.py LOUPE DUMP_LUA SCRATCH — the dataset plugins on real files, checked with
independent readers (Pillow for pixels, h5py for the archive, the raw IDX bytes).

1. A small MIT Indoor67 tree built from `synthetic` images: JPEGs, one PNG named .jpg, one
   greyscale and one CMYK JPEG, one truncated file, one image no split file lists. indoor67 must
   give the right classes, counts and labels; on_bad = "skip" skips and records the truncated
   file, on_bad = "error" stops with a message naming it; decoded pixels equal Pillow's (exact
   for PNG, within 2 for JPEG).
2. Each kind of bad input in a tree of its own, under both policies.
3. fashion_mnist on Debian's files: counts, labels against the IDX bytes, the first image byte
   for byte; and IDX files with a wrong magic or a count that does not match.
4. imagefolder: the stratified split, its seed, a split file.
"""
import gzip
import os
import shutil
import struct
import subprocess
import sys
import zlib

import h5py
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402

LOUPE, DUMP, SCRATCH = sys.argv[1:4]
FM_ROOT = "/usr/share/datasets/fashion-mnist"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def loupe(*args):
    p = subprocess.run([LOUPE, *args], capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def fresh(name):
    d = os.path.join(SCRATCH, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def read_pnm(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, w, h, _, rest = data.split(maxsplit=4)
    c = 3 if magic == b"P6" else 1
    return np.frombuffer(rest, np.uint8).reshape(int(h), int(w), c)


def strs(ds):
    return [s.decode() if isinstance(s, bytes) else s for s in ds[()]]


# ---- 1. the Indoor67 fixture ---------------------------------------------------------------
root = os.path.join(SCRATCH, "indoor67")
classes, lists, truncated = fixtures.indoor67_tree(LOUPE, DUMP, root)

h5 = os.path.join(SCRATCH, "indoor67.h5")
rc, out, err = loupe("dataset", "indoor67", f"root={root}", "--on-bad", "skip", "--write", h5)
check(rc == 0, f"indoor67 with on_bad skip exits 0 (got {rc}: {err})")
check("3 classes" in out, f"summary names 3 classes: {out}")
check("skipped" in err and "1" in err, f"a one-line summary of the skipped item on stderr: {err!r}")
with h5py.File(h5, "r") as f:
    check(strs(f["/dataset/classes"]) == classes, f"classes {strs(f['/dataset/classes'])}")
    for split, want in (("train", 12), ("test", 5)):
        names = strs(f[f"/dataset/{split}/names"])
        labels = f[f"/dataset/{split}/labels"][()]
        expect = [r for r in lists[split] if r != truncated]
        check(names == expect, f"{split} names in list order without the bad one: {names}")
        check(len(labels) == want, f"{split} has {want} items, got {len(labels)}")
        check(all(classes[l] == n.split("/")[0] for n, l in zip(names, labels)),
              f"{split} labels are the directories' classes")
        check((f[f"/dataset/{split}/width"][()] == 64).all(), f"{split} widths are 64")
        check(f[f"/dataset/{split}/brightness"].shape == (want,), f"{split} brightness shape")
        check(f[f"/dataset/{split}/hue_hist"].dims[1].label == "hue_bin", "hue_hist axis")
    check(strs(f["/dataset/skipped/name"]) == [truncated], "the truncated file is recorded")
    reason = strs(f["/dataset/skipped/reason"])[0]
    check(truncated in reason and "JPEG" in reason, f"its reason names it: {reason}")
    check(len(f["/dataset"].attrs["fingerprint"]) == 64, "fingerprint attribute")
    check(f["/provenance/dataset"].attrs["fingerprint"] == f["/dataset"].attrs["fingerprint"],
          "the fingerprint is in the provenance")

rc, out, err = loupe("dataset", "indoor67", f"root={root}", "--scan")
check(rc == 1, f"on_bad error stops (got {rc})")
check(truncated in err and "on_bad" in err, f"the message names the file: {err}")

# pixels decoded by loupe (through the dataset) against Pillow
dump = fresh("indoor67_pixels")
rc, out, err = loupe("run", DUMP, dump, "indoor67", "train", "12", f"root={root}")
check(rc == 0, f"dumping indoor67 items: {err}")
for line in open(os.path.join(dump, "labels.txt")):
    i, label, name = line.split()
    mine = read_pnm(os.path.join(dump, f"{i}.ppm")).astype(int)
    ref = np.asarray(Image.open(os.path.join(root, "Images", name)).convert("RGB")).astype(int)
    is_png = open(os.path.join(root, "Images", name), "rb").read(4) == b"\x89PNG"
    diff = np.abs(mine - ref).max() if mine.shape == ref.shape else 999
    check(diff == 0 if is_png else diff <= 2, f"{name}: loupe vs Pillow differ by {diff}")

# ---- 2. bad input, one kind per tree ---------------------------------------------------------


def small_tree(name, n_train=2, n_test=1, size=16):
    """Two classes A and B of small PNGs, split files listing all of them."""
    r = fresh(name)
    lists = {"train": [], "test": []}
    for ci, c in enumerate("AB"):
        os.makedirs(os.path.join(r, "Images", c))
        for split, n in (("train", n_train), ("test", n_test)):
            for j in range(n):
                rel = f"{c}/{split}{j}.png"
                a = np.full((size, size, 3), 40 + 100 * ci + 10 * j, np.uint8)
                Image.fromarray(a).save(os.path.join(r, "Images", rel))
                lists[split].append(rel)
    return r, lists


def write_lists(r, lists):
    for split, name in (("train", "TrainImages.txt"), ("test", "TestImages.txt")):
        with open(os.path.join(r, name), "wb") as f:
            for rel in lists[split]:
                f.write((rel if isinstance(rel, bytes) else rel.encode()) + b"\n")


def png_header(w, h):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def bad_case(label, setup, name, reason, extra=(), skipped_name=None, classes_after=None):
    r, lists = small_tree("bad_" + label)
    setup(r, lists)
    write_lists(r, lists)
    out_h5 = os.path.join(SCRATCH, f"bad_{label}.h5")
    rc, out, err = loupe("dataset", "indoor67", f"root={r}", "--on-bad", "skip", "--write",
                         out_h5, *extra)
    check(rc == 0, f"[{label}] skip: exit 0 (got {rc}: {err})")
    if rc == 0:
        with h5py.File(out_h5, "r") as f:
            names, reasons = strs(f["/dataset/skipped/name"]), strs(f["/dataset/skipped/reason"])
            want = skipped_name or name
            check(any(want in n for n in names), f"[{label}] {want} recorded as skipped: {names}")
            check(any(reason in x for x in reasons), f"[{label}] reason has '{reason}': {reasons}")
            if classes_after:
                check(strs(f["/dataset/classes"]) == classes_after, f"[{label}] classes")
    rc, out, err = loupe("dataset", "indoor67", f"root={r}", "--scan", *extra)
    check(rc == 1, f"[{label}] error: exit 1 (got {rc})")
    check(name in err and reason in err, f"[{label}] error names {name} and '{reason}': {err}")
    check("Traceback" not in err and "Sanitizer" not in err, f"[{label}] no crash: {err}")


def zero_byte(r, lists):
    open(os.path.join(r, "Images", "A/train0.png"), "wb").close()


def not_image(r, lists):
    open(os.path.join(r, "Images", "A/train0.png"), "w").write("just some text\n")


def bomb(r, lists):
    open(os.path.join(r, "Images", "A/train0.png"), "wb").write(png_header(100000, 100000))


def corrupt(r, lists):
    p = os.path.join(r, "Images", "B/train1.png")
    a = (np.random.RandomState(1).rand(64, 64, 3) * 255).astype(np.uint8)
    Image.fromarray(a).save(p, format="JPEG", quality=90)
    b = bytearray(open(p, "rb").read())
    for i in range(len(b) // 2, len(b) // 2 + 200):
        b[i] = (i * 7919) % 256
    open(p, "wb").write(b)


def big(r, lists):
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(os.path.join(r, "Images", "B/test0.png"))


def empty_class(r, lists):
    os.makedirs(os.path.join(r, "Images", "C_empty"))


def missing(r, lists):
    lists["train"].append("A/not_there.png")


def duplicate(r, lists):
    lists["test"].append("A/train1.png")


def non_utf8(r, lists):
    name = b"A/caf\xe9.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(
        os.path.join(r.encode(), b"Images", name), format="PNG")
    lists["train"].append(name)


bad_case("zero_byte", zero_byte, "A/train0.png", "empty file")
bad_case("not_image", not_image, "A/train0.png", "not an image")
bad_case("bomb", bomb, "A/train0.png", "pixels")
bad_case("corrupt", corrupt, "B/train1.png", "Corrupt JPEG data")
bad_case("max_pixels", big, "B/test0.png", "pixels", extra=("--max-pixels", "5000"))
bad_case("empty_class", empty_class, "Images/C_empty/", "class directory is empty",
         classes_after=["A", "B"])
bad_case("missing", missing, "A/not_there.png", "TrainImages.txt:5")
bad_case("duplicate", duplicate, "A/train1.png", "listed twice")
bad_case("non_utf8", non_utf8, "caf\\xE9.png", "not valid UTF-8")

r, lists = small_tree("no_split_file")
rc, out, err = loupe("dataset", "indoor67", f"root={r}")
check(rc == 1 and "TrainImages.txt" in err, f"a missing split file is named: {err}")

# ---- 3. fashion_mnist ---------------------------------------------------------------------------
if os.path.isdir(FM_ROOT):
    rc, out, err = loupe("dataset", "fashion_mnist")
    check(rc == 0 and " 60000 " in out and " 10000" in out, f"60000/10000 items: {out[-200:]}")
    raw = gzip.open(os.path.join(FM_ROOT, "train-images-idx3-ubyte.gz")).read()
    raw_labels = gzip.open(os.path.join(FM_ROOT, "train-labels-idx1-ubyte.gz")).read()
    dump = fresh("fm_pixels")
    rc, out, err = loupe("run", DUMP, dump, "fashion_mnist", "train", "3")
    check(rc == 0, f"dumping fashion_mnist: {err}")
    for i in range(3):
        mine = read_pnm(os.path.join(dump, f"{i + 1}.pgm")).reshape(-1)
        ref = np.frombuffer(raw[16 + 784 * i: 16 + 784 * (i + 1)], np.uint8)
        check(np.array_equal(mine, ref), f"fashion_mnist image {i} byte for byte")
    labels = [int(l.split()[1]) for l in open(os.path.join(dump, "labels.txt"))]
    check(labels == list(raw_labels[8:11]), f"first labels {labels}")
    h5 = os.path.join(SCRATCH, "fm.h5")
    rc, out, err = loupe("dataset", "fashion_mnist", "limit=0", "--write", h5)
    check(rc == 0, f"fashion_mnist --write: {err}")
    with h5py.File(h5, "r") as f:
        check(np.array_equal(f["/dataset/train/labels"][()],
                             np.frombuffer(raw_labels[8:], np.uint8)),
              "every train label equals the IDX byte")
        check(f["/dataset/test/labels"].shape == (10000,), "10000 test labels")

    def idx(path, magic, dims, data):
        with open(path, "wb") as f:
            f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + data)

    bad = fresh("fm_bad_magic")
    idx(f"{bad}/train-images-idx3-ubyte", 0x0803, (10, 28, 28), bytes(7840))
    idx(f"{bad}/train-labels-idx1-ubyte", 0x0901, (10,), bytes(10))
    rc, out, err = loupe("dataset", "fashion_mnist", f"root={bad}")
    check(rc == 1 and "train-labels-idx1-ubyte" in err and "magic" in err,
          f"wrong magic is named: {err}")
    bad = fresh("fm_bad_count")
    idx(f"{bad}/train-images-idx3-ubyte", 0x0803, (10, 28, 28), bytes(7840))
    idx(f"{bad}/train-labels-idx1-ubyte", 0x0801, (9,), bytes(9))
    rc, out, err = loupe("dataset", "fashion_mnist", f"root={bad}")
    check(rc == 1 and "9 labels" in err and "10 images" in err, f"count mismatch: {err}")
    bad = fresh("fm_short")
    idx(f"{bad}/train-images-idx3-ubyte", 0x0803, (10, 28, 28), bytes(7000))
    idx(f"{bad}/train-labels-idx1-ubyte", 0x0801, (10,), bytes(10))
    rc, out, err = loupe("dataset", "fashion_mnist", f"root={bad}")
    check(rc == 1 and "train-images-idx3-ubyte" in err, f"short IDX data named: {err}")

# ---- 4. imagefolder ---------------------------------------------------------------------------
r = fresh("imagefolder")
for c in ("cats", "dogs"):
    os.makedirs(os.path.join(r, c))
    for j in range(5):
        Image.fromarray(np.full((8, 8, 3), j, np.uint8)).save(os.path.join(r, c, f"{j}.png"))
    open(os.path.join(r, c, "notes.txt"), "w").write("not an image\n")


def split_names(*args):
    h5 = os.path.join(SCRATCH, "if.h5")
    rc, out, err = loupe("dataset", "imagefolder", f"root={r}", *args, "--write", h5)
    check(rc == 0, f"imagefolder {args}: {err}")
    with h5py.File(h5, "r") as f:
        return {s: strs(f[f"/dataset/{s}/names"]) for s in ("train", "test") if s in f["/dataset"]}


a = split_names("test_fraction=0.4")
check(len(a["train"]) == 6 and len(a["test"]) == 4, f"stratified 0.4 of 5 per class: {a}")
check(sum(n.startswith("cats/") for n in a["test"]) == 2, "2 test items per class")
check(not any(n.endswith(".txt") for n in a["train"] + a["test"]), "notes.txt is no item")
b = split_names("test_fraction=0.4", "split_seed=9")
check(a != b, "another split_seed draws another split")
check(a == split_names("test_fraction=0.4"), "the same seed draws the same split")
with open(os.path.join(SCRATCH, "split.txt"), "w") as f:
    f.write("train cats/0.png\ntrain dogs/1.png\nval dogs/2.png\n")
c = split_names(f"split_file={os.path.join(SCRATCH, 'split.txt')}")
check(c == {"train": ["cats/0.png", "dogs/1.png"]} or
      (c.get("train") == ["cats/0.png", "dogs/1.png"]), f"split file: {c}")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("datasets: all checks passed")
