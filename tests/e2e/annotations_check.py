#!/usr/bin/python3
"""annotations_check.py — the review journal folded into /annotations, read with h5py.

    annotations_check.py ANNOTATIONS_FOLD SCRATCH

What it proves, against Python's json and h5py alone:
- the C appends are JSON lines Python's json reads, seq 1, 2, ..., the retried client key
  written once; lines Python writes itself (other spacing, unicode, a big item number) are
  read by loupe (open) as entries; a torn last line is not folded and is cut by the next open;
- /annotations holds exactly one row per item of every whole entry (one row with item -1,
  split and name "" for merge/undo/redo, class = the class merged), in journal order, every
  field as journaled (time as int64 milliseconds, attribute `unit`), attribute `journal`;
- every column is chunked with maxshape (None,), axis label "annotation" (and `axes`),
  numeric ones Fletcher-32 checksummed, strings variable-length UTF-8;
- folding again adds no rows and leaves the file's bytes as they were; a later entry is
  appended after the rows already there, which stay as they were.
Exits 0 on success, 1 with "FAIL: ..." lines.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

FOLD, SCRATCH = sys.argv[1], sys.argv[2]
WORK = os.path.join(SCRATCH, "annotations_h5py")
RUN = os.path.join(WORK, "run.h5")
JOURNAL = RUN + ".journal"
NUMERIC = {"seq": np.int64, "time": np.int64, "item": np.int64, "class": np.int32,
           "label": np.int32, "ref": np.int64}
STRINGS = ["action", "split", "name", "tag", "note", "annotator"]
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, flush=True)


def tool(*args):
    p = subprocess.run([FOLD, *args], capture_output=True, text=True)
    if p.returncode != 0:
        print("FAIL: annotations_fold %s: %s" % (" ".join(args), p.stderr), flush=True)
        sys.exit(1)
    return p.stdout


def journal_entries():
    """The whole lines of the journal, parsed by json (a torn tail left out)."""
    with open(JOURNAL, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    return [json.loads(line) for line in lines[:-1]]  # after the last "\n": torn or empty


def expected_rows(entries):
    """One tuple per row, as docs/REVIEW.md lays /annotations out."""
    rows = []
    for e in entries:
        common = dict(seq=e["seq"], time=round(e["time"] * 1000), action=e["action"],
                      label=e["label"], tag=e["tag"], note=e["note"],
                      annotator=e["annotator"], ref=e["ref"])
        if not e["items"]:
            rows.append(dict(common, item=-1, split="", name="", **{"class": e["class"]}))
        for it in e["items"]:
            rows.append(dict(common, item=it["item"], split=it["split"], name=it["name"],
                             **{"class": it["class"]}))
    return rows


def archive_rows():
    with h5py.File(RUN, "r") as f:
        g = f["annotations"]
        check(g.attrs.get("journal") == JOURNAL, "journal attribute %r" % g.attrs.get("journal"))
        check(g["time"].attrs.get("unit", "").startswith("milliseconds"), "time unit")
        cols = {}
        for name in list(NUMERIC) + STRINGS:
            d = g[name]
            check(d.chunks is not None and d.maxshape == (None,),
                  "%s: chunks %r maxshape %r" % (name, d.chunks, d.maxshape))
            check(d.dims[0].label == "annotation" and d.attrs.get("axes") == "annotation",
                  "%s: axis %r / %r" % (name, d.dims[0].label, d.attrs.get("axes")))
            if name in NUMERIC:
                check(d.dtype == NUMERIC[name], "%s: dtype %s" % (name, d.dtype))
                check(d.fletcher32, "%s: no checksum" % name)
                cols[name] = [int(v) for v in d[()]]
            else:
                info = h5py.check_string_dtype(d.dtype)
                check(info is not None and info.length is None and info.encoding == "utf-8",
                      "%s: not a vlen UTF-8 string: %r" % (name, info))
                cols[name] = list(d.asstr()[()])
        n = {len(v) for v in cols.values()}
        check(len(n) == 1, "columns of different lengths: %r" % n)
    return [dict((k, cols[k][i]) for k in cols) for i in range(len(cols["seq"]))]


def compare(rows, want, what):
    check(len(rows) == len(want), "%s: %d rows, want %d" % (what, len(rows), len(want)))
    for i, (got, exp) in enumerate(zip(rows, want)):
        if got != exp:
            check(False, "%s: row %d is %r, want %r" % (what, i, got, exp))
            break


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    tool("create", RUN)
    seqs = [int(line.split()[1]) for line in tool("append", JOURNAL).splitlines()]
    check(seqs == [1, 1, 2, 3, 4, 5, 6], "append seqs %r (the retry gets 1 again)" % seqs)
    entries = journal_entries()
    check([e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6], "journal seqs")
    check(entries[0]["client"] == "k1" and entries[1]["client"] is None,
          "client keys %r" % [e["client"] for e in entries])
    check(entries[0]["note"] == "caf\u00e9 \"q\"\n2nd line", "note %r" % entries[0]["note"])
    check(entries[3]["action"] == "undo" and entries[3]["ref"] == 2, "undo entry")

    # lines written by someone else: other spacing, unicode, a large item number
    more = [
        {"seq": 7, "time": 1764770000.5, "action": "answer", "items": [
            {"split": "test", "item": 3, "name": "test/3", "class": 1}], "class": -1,
         "label": -1, "tag": "", "note": "", "annotator": "\u00e5sa", "ref": -1},
        {"seq": 8, "time": 1764770001.25, "action": "redo", "items": [], "class": -1,
         "label": -1, "tag": "", "note": "", "annotator": "ana", "ref": 2},
        {"seq": 9, "time": 1764770002.001, "action": "keep", "items": [
            {"split": "train", "item": 123456789012, "name": "\u65e5\u672c/x.png",
             "class": 4}], "class": -1, "label": -1, "tag": "", "note": "ok \U0001F600",
         "annotator": "ana", "ref": -1, "client": "py-1"},
    ]
    with open(JOURNAL, "a", encoding="utf-8") as f:
        for e in more:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
        f.write('{"seq": 10, "time": 1764770003, "action": "ke')  # torn: never acknowledged
    entries = journal_entries()
    check(len(entries) == 9, "9 whole lines")
    want = expected_rows(entries)
    check(len(want) == 2 + 1 + 1 + 1 + 1 + 3 + 1 + 1 + 1, "expected rows %d" % len(want))

    out = tool("fold", RUN, JOURNAL)
    check(out.strip() == "added %d" % len(want), "first fold: %r, want %d" % (out, len(want)))
    compare(archive_rows(), want, "after the first fold")
    before = sha(RUN)
    out = tool("fold", RUN, JOURNAL)
    check(out.strip() == "added 0", "second fold: %r" % out)
    check(sha(RUN) == before, "a fold that adds nothing rewrote the archive")
    compare(archive_rows(), want, "after the second fold")

    out = tool("open", JOURNAL)  # cuts the torn line
    check(out.strip() == "entries 9", "open: %r" % out)
    with open(JOURNAL, "rb") as f:
        data = f.read()
    check(data.endswith(b"\n") and data.count(b"\n") == 9, "torn tail cut at open")
    last = {"seq": 10, "time": 1764770004.75, "action": "merge", "items": [], "class": 6,
            "label": 1, "tag": "", "note": "", "annotator": "ana", "ref": -1}
    with open(JOURNAL, "a", encoding="utf-8") as f:
        f.write(json.dumps(last) + "\n")
    out = tool("fold", RUN, JOURNAL)
    check(out.strip() == "added 1", "third fold: %r" % out)
    compare(archive_rows(), want + expected_rows([last]), "after the third fold")
    if failures:
        print("annotations_check: %d failures; files kept in %s" % (len(failures), WORK))
        return 1
    shutil.rmtree(WORK, ignore_errors=True)
    print("annotations_check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
