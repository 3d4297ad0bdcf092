#!/usr/bin/env python3
"""crash_check.py LOUPE SCRATCH — the run archive survives kills and collisions (issue 10).

1. SIGKILL a training run (tests/e2e/crash_run.lua: an epoch committed every ~0.1 s) at
   ≥ 40 points: random times, and the moment a commit's side file PATH.new.PID appears (a
   kill in the middle of publishing). Every time, the archive at the path opens with h5py,
   is never 0 bytes, and holds every epoch the run reported finished before the kill; the
   next run resumes from the checkpoints; loupe compare reads it.
2. Opening an archive another process holds changes no byte of it (sha256 before and after):
   held by a live loupe writer, and by an h5py reader; create and append are refused with a
   message naming the file and the other process; read-only opens work.
3. Two runs on one checkpoint directory: the second is refused naming the directory and the
   first run's process.
4. Work files a killed writer left behind are removed by the next writer of that path.
"""
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import h5py

LOUPE, SCRATCH = sys.argv[1:3]
HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "crash_run.lua")
from checks import check, failures  # noqa: E402 (tests/e2e/checks.py)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def start(archive, ckpt, *extra, err=None):
    return subprocess.Popen([LOUPE, "run", RUN, archive, ckpt, *extra],
                            stdout=subprocess.DEVNULL, stderr=err or subprocess.DEVNULL)


def lua(code, *args):
    """Run a Lua snippet in loupe; returns (exit code, stderr)."""
    path = os.path.join(SCRATCH, "crash_snippet.lua")
    with open(path, "w") as f:
        f.write('local loupe = require "loupe"\n' + code)
    p = subprocess.run([LOUPE, "run", path, *args], capture_output=True, text=True)
    return p.returncode, p.stderr


def finished_epochs(log):
    with open(log) as f:
        return [int(m) for m in re.findall(r"^epoch (\d+)/\d+: loss", f.read(), re.M)]


def side_files(archive):
    d, base = os.path.split(archive)
    return [n for n in os.listdir(d) if re.fullmatch(re.escape(base) + r"\.(tmp|new)\.\d+", n)]


root = os.path.join(SCRATCH, "crash")
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)

# ---- 1. kills ------------------------------------------------------------------------------
ckpt = os.path.join(root, "ck")
rng = random.Random(10)
trials, opened, mid_commit, resumed = 44, 0, 0, 0
for t in range(trials):
    archive = os.path.join(root, f"run_{t:02d}.h5")
    log = os.path.join(root, f"run_{t:02d}.log")
    with open(log, "w") as err:
        proc = start(archive, ckpt, "resume" if t else "", err=err)
        if t % 2:  # at the moment a commit is being published (past start-up's)
            time.sleep(rng.uniform(0.8, 3.5))
            deadline = time.time() + 2
            while time.time() < deadline:
                if os.path.exists(archive) and any(".new." in n for n in side_files(archive)):
                    break
            proc.kill()
            mid_commit += any(".new." in n for n in side_files(archive))
        else:  # anywhere: start-up, training, a checkpoint, a commit
            time.sleep(rng.uniform(0.2, 4.0))
            proc.kill()
        proc.wait()
    done = finished_epochs(log)
    resumed += "resuming from" in open(log).read()
    if not os.path.exists(archive):
        check(not done, f"kill {t}: no archive at all, and no epoch reported finished")
        continue
    size = os.path.getsize(archive)
    try:
        with h5py.File(archive, "r") as f:
            epochs = list(f["/metrics/epoch"][()]) if "metrics" in f else []
            ok = "provenance" in f
        opened += 1
        check(ok and size > 0 and (not done or (epochs and epochs[-1] >= done[-1])),
              f"kill {t}: {archive} opens ({size} bytes), holds epochs up to "
              f"{epochs[-1] if epochs else None}; last reported finished: "
              f"{done[-1] if done else None}")
    except (OSError, KeyError) as e:
        check(False, f"kill {t}: {archive} ({size} bytes) does not open with h5py: {e}")
check(opened >= trials - 4, f"{opened} of {trials} killed runs had written an archive")
check(resumed >= trials // 2, f"{resumed} of {trials - 1} runs resumed from the checkpoints")
print(f"{mid_commit} kills landed while a commit's side file existed", flush=True)
check(mid_commit >= 3, "some kills landed in the middle of a commit")

last = os.path.join(root, f"run_{trials - 1:02d}.h5")
p = subprocess.run([LOUPE, "compare", last, last], capture_output=True, text=True)
check(p.returncode == 0, f"loupe compare reads a killed run's archive: {p.stderr.strip()}")

# ---- 4. the next writer removes a dead writer's work files --------------------------------
leftovers = [t for t in range(trials)
             if os.path.exists(os.path.join(root, f"run_{t:02d}.h5")) and
             side_files(os.path.join(root, f"run_{t:02d}.h5"))]
check(leftovers, f"kills left work files beside {len(leftovers)} archives")
if leftovers:
    victim = os.path.join(root, f"run_{leftovers[0]:02d}.h5")
    rc, err = lua('local a = loupe.archive(arg[1], { mode = "append" }); a:attr("/", "x", 1); '
                  'a:close()', victim)
    check(rc == 0 and not side_files(victim),
          f"appending to {victim} removed the work files a kill left: {err.strip()}")

# ---- 2. a file another process holds is left as it is ------------------------------------
held = os.path.join(root, "held.h5")
rc, err = lua('local a = loupe.archive(arg[1]); a:attr("/", "x", 1); a:close()', held)
check(rc == 0, f"a finished archive to hold: {err.strip()}")
before = sha(held)
reader = subprocess.Popen([sys.executable, "-c", "import h5py, sys, time; "
                           "f = h5py.File(sys.argv[1], 'r'); print('open', flush=True); "
                           "time.sleep(60)", held], stdout=subprocess.PIPE, text=True)
reader.stdout.readline()
for mode in ("create", "append"):
    rc, err = lua(f'loupe.archive(arg[1], {{ mode = "{mode}" }})', held)
    check(rc != 0 and held in err and f"process {reader.pid}" in err,
          f"{mode} while h5py reads it: refused naming file and process: {err.strip()[:300]}")
p = subprocess.run([LOUPE, "run", os.path.join(HERE, "..", "..", "experiments", "quickstart.lua"),
                    held, "train=20", "test=10", "epochs=1", "width=0.125"],
                   capture_output=True, text=True)
check(p.returncode != 0 and held in p.stderr, f"loupe run onto it is refused: "
      f"{p.stderr.strip()[-300:]}")
rc, err = lua('local a = loupe.archive(arg[1], { mode = "read" }); assert(a:get_attr("/", "x"))',
              held)
check(rc == 0, f"reading it meanwhile works: {err.strip()}")
check(sha(held) == before, "with an h5py reader: sha256 unchanged")
reader.kill()
reader.wait()

live = os.path.join(root, "live.h5")
with open(os.path.join(root, "writer.lua"), "w") as f:
    f.write('local loupe = require "loupe"\n'
            'local a = loupe.archive(arg[1]); a:attr("/", "x", 1); a:commit(); '
            'print("committed"); io.stdout:flush(); os.execute("sleep 30"); a:close()')
writer = subprocess.Popen([LOUPE, "run", os.path.join(root, "writer.lua"), live],
                          stdout=subprocess.PIPE, text=True)
writer.stdout.readline()
before = sha(live)
for mode in ("create", "append"):
    rc, err = lua(f'loupe.archive(arg[1], {{ mode = "{mode}" }})', live)
    check(rc != 0 and live in err and f"process {writer.pid}" in err,
          f"{mode} while a loupe run writes it: refused naming file and process: "
          f"{err.strip()[:300]}")
with h5py.File(live, "r") as f:
    check(f.attrs["x"] == 1, "h5py reads the live run's last commit")
rc, err = lua('local a = loupe.archive(arg[1], { mode = "read" }); assert(a:get_attr("/", "x"))',
              live)
check(rc == 0, f"loupe reads the live run's last commit: {err.strip()}")
check(sha(live) == before, "with a live loupe writer: sha256 unchanged")
writer.kill()
writer.wait()

# ---- 3. two runs, one checkpoint directory ------------------------------------------------
shared = os.path.join(root, "shared_ck")
first = start(os.path.join(root, "first.h5"), shared)
deadline = time.time() + 120
while time.time() < deadline and not os.path.exists(os.path.join(shared, "epoch_0001.h5")):
    time.sleep(0.05)
p = subprocess.run([LOUPE, "run", RUN, os.path.join(root, "second.h5"), shared],
                   capture_output=True, text=True, timeout=300)
check(p.returncode != 0 and shared in p.stderr and "in use by another run" in p.stderr and
      f"process {first.pid}" in p.stderr,
      f"a second run on {shared} is refused naming it and the first: {p.stderr.strip()[:400]}")
check(first.poll() is None, "the first run goes on")
first.send_signal(signal.SIGKILL)
first.wait()

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("crash: all checks passed")
