"""checks.py — what every end-to-end test script shares: check(cond, what) prints "ok: ..." or
"FAIL: ..." and keeps the failures, which the script reports at its end (sys.exit(1) if any).
synthetic_archive(loupe, path) writes a dataset-only archive of the synthetic dataset (what
the review server tests need: no training). finish(skip) ends a script: status 1 if a check failed, 77 (ctest's skip) with the reason when
skip is given, else 0. The scripts run as `python3 tests/e2e/NAME.py`, so this directory is on
sys.path."""
import subprocess
import sys
import time

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)


def finish(skip=None):
    if failures:
        print(f"{len(failures)} FAILED")
        sys.exit(1)
    if skip:
        print(f"SKIPPED: {skip}", flush=True)
        sys.exit(77)
    print("all ok")
    sys.exit(0)


def synthetic_archive(loupe, path, *params):
    """`loupe dataset synthetic train=300 test=100 [params] --write path`, checked; True if made"""
    t0 = time.monotonic()
    p = subprocess.run([loupe, "dataset", "synthetic", "train=300", "test=100", *params,
                        "--write", path], capture_output=True, text=True)
    check(p.returncode == 0, f"the archive: synthetic, dataset only, no training "
          f"({time.monotonic() - t0:.0f} s)"
          f"{(': ' + (p.stdout + p.stderr).strip()[-300:]) if p.returncode else ''}")
    return p.returncode == 0
