#!/usr/bin/python3
"""check_archive.py — read a run archive with h5py and h5dump, without loupe, and compare it
with values recomputed here.

    /usr/bin/python3 tests/e2e/check_archive.py ARCHIVE.h5 [LOUPE]

The archive comes from the e2e Lua script, which writes /demo/x (f32 [4,6], axes item,feature,
x[i][j] = (i*6+j)*0.25 - 3), /demo/relu = max(x, 0), /demo/labels (i32 {3,1,4,1}, axis item),
/demo/names (strings, axis item) and attributes note/scale/count on /demo. Every value here
is exact in f32, so arrays are compared for equality. Given the loupe binary, it also checks
that `loupe compare` on an archive another process holds open for writing says so. Prints
"check_archive: ok" and exits 0, or prints each difference and exits 1.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # the system python has them (python3-h5py); others may not
    print(f"check_archive: needs h5py and numpy ({e}); run with /usr/bin/python3")
    sys.exit(1)

problems = []


def bad(msg):
    problems.append(msg)


def text(v):
    """h5py gives str for UTF-8 attributes and bytes for some other writers."""
    return v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else v


def labels(dset):
    return tuple(text(d.label) for d in dset.dims)


def get(f, path):
    if path not in f:
        bad(f"{path}: missing")
        return None
    return f[path]


def check_array(f, path, want, axes):
    d = get(f, path)
    if d is None:
        return
    if d.dtype != want.dtype:
        bad(f"{path}: dtype {d.dtype}, want {want.dtype}")
    if d.shape != want.shape:
        bad(f"{path}: shape {d.shape}, want {want.shape}")
    elif not np.array_equal(d[()], want):
        bad(f"{path}: values differ:\n{d[()]}\nwant\n{want}")
    if labels(d) != axes:
        bad(f"{path}: dimension labels {labels(d)}, want {axes}")


def check_demo(f):
    x = (np.arange(24, dtype=np.float32).reshape(4, 6) * np.float32(0.25)
         - np.float32(3)).astype(np.float32)
    check_array(f, "/demo/x", x, ("item", "feature"))
    check_array(f, "/demo/relu", np.maximum(x, np.float32(0)), ("item", "feature"))
    check_array(f, "/demo/labels", np.array([3, 1, 4, 1], dtype=np.int32), ("item",))

    names = get(f, "/demo/names")
    if names is not None:
        got = [text(s) for s in names.asstr()[()]] if names.dtype.kind == "O" else None
        if got != ["bar", "deli", "café", "日本"]:
            bad(f"/demo/names: {got!r} (dtype {names.dtype}), want bar, deli, café, 日本")
        if h5py.check_string_dtype(names.dtype) is None or \
                h5py.check_string_dtype(names.dtype).encoding != "utf-8":
            bad(f"/demo/names: not a UTF-8 string dataset ({names.dtype})")
        if labels(names) != ("item",):
            bad(f"/demo/names: dimension labels {labels(names)}, want ('item',)")

    demo = get(f, "/demo")
    if demo is None:
        return
    a = demo.attrs
    if text(a.get("note")) != "relu check":
        bad(f"/demo note: {a.get('note')!r}, want 'relu check'")
    scale = a.get("scale")
    if not isinstance(scale, (float, np.floating)) or scale != 0.25:
        bad(f"/demo scale: {scale!r}, want the number 0.25")
    count = a.get("count")
    if not isinstance(count, (int, np.integer)) or count != 4:
        bad(f"/demo count: {count!r}, want the integer 4")


def check_root(f):
    a = f.attrs
    for key in ("format_version", "loupe_version", "created", "command", "host", "device",
                "driver", "seed"):
        if key not in a:
            bad(f"root attribute {key}: missing")
    if a.get("format_version") != 1:
        bad(f"format_version: {a.get('format_version')!r}, want 1")
    if not text(a.get("device", "")):
        bad("device: empty")
    created = text(a.get("created", ""))
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created or ""):
        bad(f"created: {created!r} is not UTC ISO-8601 (YYYY-MM-DDTHH:MM:SSZ)")
    if "seed" in a and not isinstance(a["seed"], (int, np.integer)):
        bad(f"seed: {a['seed']!r} is not an integer")


def check_provenance(f):
    script = get(f, "/provenance/script")
    if script is not None:
        s = script.asstr()[()] if script.dtype.kind == "O" else None
        if not s or "relu" not in s:
            bad(f"/provenance/script: {s!r} is empty or does not mention relu")

    cols = {}
    for c in ("name", "version", "path", "sha256"):
        d = get(f, f"/provenance/plugins/{c}")
        cols[c] = [text(v) for v in d.asstr()[()]] if d is not None else []
    if len({len(v) for v in cols.values()}) > 1:
        bad(f"/provenance/plugins: columns of different lengths "
            f"{ {k: len(v) for k, v in cols.items()} }")
        return
    if "relu" not in cols["name"]:
        bad(f"/provenance/plugins/name: {cols['name']} has no relu")
        return
    i = cols["name"].index("relu")
    sha, path = cols["sha256"][i], cols["path"][i]
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        bad(f"relu sha256: {sha!r} is not 64 hex digits")
    try:
        with open(path, "rb") as fh:
            real = hashlib.sha256(fh.read()).hexdigest()
        if real != sha:
            bad(f"relu sha256: archive says {sha}, {path} hashes to {real}")
    except OSError as e:
        bad(f"relu plugin path {path!r}: {e}")


def check_h5dump(archive):
    h5dump = shutil.which("h5dump") or "/usr/bin/h5dump"
    for args, want in ((["-d", "/demo/labels"], "3, 1, 4, 1"), (["-A"], "format_version")):
        try:
            out = subprocess.run([h5dump, *args, archive], capture_output=True, text=True,
                                 timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            bad(f"h5dump {' '.join(args)}: {e}")
            continue
        if out.returncode != 0 or want not in out.stdout:
            bad(f"h5dump {' '.join(args)}: exit {out.returncode}, output lacks {want!r}:\n"
                f"{out.stdout[:2000]}{out.stderr[:2000]}")


def check_locked(archive, loupe):
    """A run still writing its archive holds HDF5's file lock: loupe must say that, not errno."""
    with h5py.File(archive, "r+"):
        out = subprocess.run([loupe, "compare", archive, archive], capture_output=True,
                             text=True, timeout=60)
    if out.returncode == 0 or "another process has it open for writing" not in out.stderr:
        bad(f"loupe compare on a file open for writing: exit {out.returncode}, "
            f"stderr {out.stderr.strip()!r}")


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: check_archive.py ARCHIVE.h5 [LOUPE]")
        return 1
    archive = sys.argv[1]
    if not os.path.isfile(archive):
        print(f"check_archive: {archive}: no such file")
        return 1
    try:
        with h5py.File(archive, "r") as f:
            check_demo(f)
            check_root(f)
            check_provenance(f)
    except OSError as e:
        bad(f"h5py cannot read {archive}: {e}")
    check_h5dump(archive)
    if len(sys.argv) == 3:
        check_locked(archive, sys.argv[2])
    for p in problems:
        print(f"check_archive: {p}")
    if problems:
        print(f"check_archive: {len(problems)} differences in {archive}")
        return 1
    print("check_archive: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
