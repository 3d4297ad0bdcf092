#!/usr/bin/env python3
"""damage_check.py LOUPE SCRATCH — damaged archives and checkpoints are refused, never crash.

From a sound run archive and checkpoint (tests/e2e/damage_run.lua make) the test makes a
corpus of damaged copies: truncations, random bit flips anywhere, scrambled blocks, bit flips
inside the tensor data of the checkpoint (found with h5py's chunk index), and checkpoints whose
weights hold NaN or infinity (written by h5py: valid HDF5, wrong numbers). Every file goes
through `loupe compare` and `loupe analyze` and, in one loupe process (damage_run.lua read),
through net:load, resume = FILE and a read of every dataset. Passes when:
  - nothing crashes (no signal, no sanitizer report, the reader never dies mid-file);
  - every error names the file it is about;
  - every bit flip in checkpoint tensor data is refused by net:load, resume and reading the
    dataset (Fletcher-32 per chunk); every NaN / infinite weight by net:load and resume.
Damage that lands where nothing is checked (free space, a string's bytes) may go unnoticed:
the test counts it and prints the counts.
"""
import os
import random
import shutil
import subprocess
import sys

import h5py
import numpy as np

LOUPE, SCRATCH = sys.argv[1:3]
HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "damage_run.lua")
root = os.path.join(SCRATCH, "damage")
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
failures = []
SANITIZER = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def fail(what):
    failures.append(what)
    print("FAIL:", what, flush=True)


p = subprocess.run([LOUPE, "run", RUN, "make", os.path.join(root, "run.h5"),
                    os.path.join(root, "ck")], capture_output=True, text=True,
                       errors="replace")
if p.returncode != 0:
    print(p.stderr)
    sys.exit(1)
SOUND = {"archive": os.path.join(root, "run.h5"),
         "checkpoint": os.path.join(root, "ck", "epoch_0002.h5")}
corpus = []  # (path, kind, damage, must refuse: False, "all" readers, or "load" and resume)
rng = random.Random(2026)


def copy(kind, damage):
    path = os.path.join(root, f"{kind}_{len(corpus):03d}_{damage}.h5")
    shutil.copyfile(SOUND[kind], path)
    return path


def flip(path, offset, bit):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([b ^ (1 << bit)]))


for kind in SOUND:
    size = os.path.getsize(SOUND[kind])
    cuts = [0, 1, 8, 47, 96, 512, 2048] + sorted(rng.randrange(size) for _ in range(17))
    for cut in cuts:  # truncations
        path = copy(kind, "truncated")
        os.truncate(path, cut)
        corpus.append((path, kind, f"truncated to {cut} bytes", False))
    for _ in range(45):  # single bit flips anywhere, a third of them in the first 4 KiB
        path = copy(kind, "bitflip")
        off = rng.randrange(min(size, 4096) if rng.random() < 0.33 else size)
        flip(path, off, rng.randrange(8))
        corpus.append((path, kind, f"bit flip at byte {off}", False))
    for _ in range(20):  # scrambled blocks
        path = copy(kind, "scrambled")
        n = rng.choice([16, 64, 512, 4096])
        off = rng.randrange(max(1, size - n))
        with open(path, "r+b") as f:
            f.seek(off)
            f.write(bytes(rng.randrange(256) for _ in range(n)))
        corpus.append((path, kind, f"{n} random bytes at {off}", False))

# bit flips inside the checkpoint's tensor data: every one must be refused
tensors = []
with h5py.File(SOUND["checkpoint"], "r") as f:
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f" and obj.chunks:
            for i in range(obj.id.get_num_chunks()):
                info = obj.id.get_chunk_info(i)
                tensors.append((name, info.byte_offset, info.size))
    f.visititems(visit)
if len(tensors) < 10:
    fail(f"the checkpoint holds only {len(tensors)} chunked float tensors")
for _ in range(48):
    name, off, n = rng.choice(tensors)
    path = copy("checkpoint", "tensorflip")
    at = off + rng.randrange(n)
    flip(path, at, rng.randrange(8))
    corpus.append((path, "checkpoint", f"bit flip in {name} (byte {at})", "all"))
weights = [t[0] for t in tensors if t[0].startswith("weights/")]
for i in range(12):  # NaN / inf weights, written properly (checksums recomputed)
    path = copy("checkpoint", "nan")
    name = weights[i % len(weights)]
    with h5py.File(path, "r+") as f:
        d = f[name]
        v = d[()]
        v.flat[rng.randrange(v.size)] = [np.nan, np.inf, -np.inf][i % 3]
        d[...] = v
    corpus.append((path, "checkpoint", f"{['nan', 'inf', '-inf'][i % 3]} in {name}", "load"))
print(f"corpus: {len(corpus)} damaged files", flush=True)
if len(corpus) < 200:
    fail(f"the corpus has {len(corpus)} files, fewer than 200")
info = {c[0]: c for c in corpus}


def crashed(rc, err):
    return rc < 0 or rc >= 128 or any(s in err for s in SANITIZER)


# ---- loupe compare -----------------------------------------------------------------------
stats = {"compare refused": 0, "compare not detected": 0}
for path, kind, damage, must in corpus:
    p = subprocess.run([LOUPE, "compare", path, SOUND[kind]], capture_output=True, text=True,
                       errors="replace")
    if crashed(p.returncode, p.stderr):
        fail(f"compare crashed on {path} ({damage}): rc {p.returncode}: {p.stderr[-400:]}")
    elif p.returncode == 2:
        stats["compare refused"] += 1
        if path not in p.stderr:
            fail(f"compare's error does not name {path} ({damage}): {p.stderr.strip()}")
    else:
        stats["compare not detected"] += 1

# ---- loupe analyze: it opens the file for writing (a work copy) and reads every table ----------
stats["analyze refused"] = stats["analyze ran"] = 0
for path, kind, damage, must in corpus:
    p = subprocess.run([LOUPE, "analyze", path], capture_output=True, text=True,
                       errors="replace")
    if crashed(p.returncode, p.stderr):
        fail(f"analyze crashed on {path} ({damage}): rc {p.returncode}: {p.stderr[-400:]}")
    elif p.returncode != 0:
        stats["analyze refused"] += 1
        if path not in p.stderr:
            fail(f"analyze's error does not name {path} ({damage}): {p.stderr.strip()[-300:]}")
    else:
        stats["analyze ran"] += 1

# ---- net:load, resume, reading every dataset: one loupe process, restarted after a crash ----
results = {}
todo = [c[0] for c in corpus]
while todo:
    lst = os.path.join(root, "list.txt")
    with open(lst, "w") as f:
        f.write("\n".join(todo) + "\n")
    p = subprocess.run([LOUPE, "run", RUN, "read", "-", "-", lst], capture_output=True,
                       errors="replace",
                       text=True)
    for line in p.stdout.splitlines():
        parts = line.split("\t")
        results.setdefault(parts[0], {})[parts[1]] = parts[2:]
    done = [t for t in todo if len(results.get(t, {})) == 3]
    rest = [t for t in todo if t not in done]
    if p.returncode != 0 or crashed(p.returncode, p.stderr):
        if not rest:
            fail(f"the reader failed after its last file: rc {p.returncode}: {p.stderr[-400:]}")
            break
        fail(f"the reader died on {rest[0]} ({info[rest[0]][2]}): rc {p.returncode}: "
             f"{p.stderr[-600:]}")
        rest = rest[1:]
    elif rest:
        fail(f"the reader skipped {len(rest)} files")
        break
    todo = rest

for what in ("net:load", "resume", "archive"):
    stats[f"{what} refused"] = stats[f"{what} not detected"] = 0
for path, r in results.items():
    kind, damage, must = info[path][1], info[path][2], info[path][3]
    for what, res in r.items():
        if res[0] == "ok":
            # a run archive is no checkpoint: net:load and resume must refuse it, damaged or not
            # NaN is a value an archive may hold; as weights it is damage
            if must == "all" or (must == "load" and what != "archive") or \
                    (kind == "archive" and what != "archive"):
                fail(f"{what} accepted {path} ({damage})")
            stats[f"{what} not detected"] += 1
        else:
            stats[f"{what} refused"] += 1
            msg = res[1] if len(res) > 1 else ""
            if path not in msg:
                fail(f"{what}'s error does not name {path} ({damage}): {msg}")

for k, v in stats.items():
    print(f"{k}: {v}")
must = [c for c in corpus if c[3]]
print(f"tensor bit flips and NaN/inf weights: {len(must)}, all of them to be refused")
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("damage: all checks passed")
