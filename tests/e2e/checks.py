"""checks.py — what every end-to-end test script shares: check(cond, what) prints "ok: ..." or
"FAIL: ..." and keeps the failures, which the script reports at its end (sys.exit(1) if any).
The scripts run as `python3 tests/e2e/NAME.py`, so this directory is on sys.path."""

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)
