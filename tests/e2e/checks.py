"""checks.py — what every end-to-end test script shares: check(cond, what) prints "ok: ..." or
"FAIL: ..." and keeps the failures, which the script reports at its end (sys.exit(1) if any).
finish(skip) ends a script: status 1 if a check failed, 77 (ctest's skip) with the reason when
skip is given, else 0. The scripts run as `python3 tests/e2e/NAME.py`, so this directory is on
sys.path."""
import sys

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
