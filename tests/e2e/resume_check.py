#!/usr/bin/env python3
"""resume_check.py LOUPE RESUME_LUA SCRATCH — checkpoints and resume, read back with h5py.

1. "train 4 epochs" and "train 2, stop, resume, train 2 more" end with bit-identical weights
   and momentum.
2. Ctrl-C (SIGINT) mid-epoch: the run says how to resume, the archive stays readable, and
   resuming from the checkpoint it wrote ends with the same weights as (1).
3. SIGKILL at many points while checkpoints are being written (one per step): the latest
   complete checkpoint always opens and holds every weight; leftover temporary files are
   never taken for a checkpoint and are removed by the next start.
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

LOUPE, SCRIPT, SCRATCH = sys.argv[1:4]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


def fresh(name):
    d = os.path.join(SCRATCH, name)
    shutil.rmtree(d, ignore_errors=True)
    return d


def train(epochs, ckpt, archive, *extra):
    p = subprocess.run([LOUPE, "run", SCRIPT, str(epochs), ckpt, archive, *extra],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stderr)
    return p


def tensors(path):
    out = {}
    with h5py.File(path, "r") as f:
        for group in ("weights", "momentum"):
            f[group].visititems(lambda name, obj: out.__setitem__(f"{group}/{name}", obj[()])
                                if isinstance(obj, h5py.Dataset) else None)
        out["step"] = f.attrs["step"]
    return out


def same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def newest(d):
    names = sorted(n for n in os.listdir(d) if n.startswith("epoch_") and n.endswith(".h5"))
    return os.path.join(d, names[-1]) if names else None


full = fresh("ck_full")
check(train(4, full, os.path.join(SCRATCH, "full.h5")).returncode == 0, "4 epochs in one run")
ref = tensors(os.path.join(full, "epoch_0004.h5"))
check(len(ref) > 10, f"the checkpoint holds weights and momentum ({len(ref)} entries)")
check(sorted(os.listdir(full)) == ["epoch_0003.h5", "epoch_0004.h5"], "keep = 2 keeps the last 2")

part = fresh("ck_part")
check(train(4, part, os.path.join(SCRATCH, "part.h5"), "stop_after=2").returncode == 0,
      "2 epochs of 4, then stop")
p = train(4, part, os.path.join(SCRATCH, "resumed.h5"), "resume")
check(p.returncode == 0 and "resuming from" in p.stderr, "resume for 2 more")
check(same(tensors(os.path.join(part, "epoch_0004.h5")), ref),
      "2 + resumed 2 epochs == 4 epochs, bit for bit (weights, momentum, step)")
with h5py.File(os.path.join(SCRATCH, "resumed.h5"), "r") as f, \
        h5py.File(os.path.join(SCRATCH, "full.h5"), "r") as g:
    check(np.array_equal(f["/metrics/epoch"][()], [1, 2, 3, 4]), "metrics of all 4 epochs")
    check(np.array_equal(f["/metrics/train_loss"][()], g["/metrics/train_loss"][()]),
          "the same training losses")
    check(f.attrs["rng_after"] == g.attrs["rng_after"], "the context RNG resumes where it was")
    check(len(g["/provenance/dataset"].attrs["fingerprint"]) == 64 and "names" in g["/dataset/train"],
          "train recorded the dataset it trained on (no ds:write in the script)")

# Ctrl-C in the middle of epoch 2
sig = fresh("ck_sigint")
proc = subprocess.Popen([LOUPE, "run", SCRIPT, "4", sig, os.path.join(SCRATCH, "sigint.h5")],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
deadline = time.time() + 300
while time.time() < deadline and not (os.path.isdir(sig) and "epoch_0001.h5" in os.listdir(sig)):
    time.sleep(0.05)
time.sleep(0.4)
proc.send_signal(signal.SIGINT)
out, err = proc.communicate(timeout=300)
check(proc.returncode == 130 and "interrupted at epoch" in err and "resume" in err,
      f"SIGINT stops and says how to resume: {err.strip()[-300:]}")
with h5py.File(os.path.join(SCRATCH, "sigint.h5"), "r") as f:
    check("metrics" in f and "provenance" in f, "the interrupted run's archive is readable")
p = train(4, sig, os.path.join(SCRATCH, "sigint_resumed.h5"), "resume")
check(p.returncode == 0, "resume after Ctrl-C")
check(same(tensors(os.path.join(sig, "epoch_0004.h5")), ref),
      "interrupted + resumed == uninterrupted, bit for bit")

# SIGKILL at random points while a checkpoint is written at every step
kill = fresh("ck_kill")
rng = random.Random(5)
trials, complete = 12, 0
for t in range(trials):
    proc = subprocess.Popen([LOUPE, "run", SCRIPT, "40", kill, os.path.join(SCRATCH, "kill.h5"),
                             "resume" if t else "", "every_steps=1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(1.5, 4.0))
    proc.kill()
    proc.wait()
    last = newest(kill)
    if last is None:
        continue
    try:
        with h5py.File(last, "r") as f:
            n = sum(1 for _ in f["weights"].values())
        complete += n > 0
    except OSError as e:
        check(False, f"trial {t}: the latest checkpoint {last} does not open: {e}")
check(complete >= trials - 2, f"the latest checkpoint was complete after {complete}/{trials} kills")
leftovers = [n for n in os.listdir(kill) if ".tmp." in n or ".new." in n]
p = train(40, kill, os.path.join(SCRATCH, "kill_final.h5"), "resume", "every_steps=1000")
check(p.returncode == 0, "a resume after the kills runs to the end")
check(not [n for n in os.listdir(kill) if ".tmp." in n or ".new." in n],
      f"temporary files ({len(leftovers)} left by kills) are removed at the next start")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("resume: all checks passed")
