#!/usr/bin/env python3
"""review_check.py LOUPE SCRATCH NODE_DIR [SHOT_DIR] — `loupe review` end to end in a browser.

1. Two archives: a real run (`loupe run experiments/quickstart.lua RUN.h5 train=300 test=100
   epochs=1`: predictions and analyses), and a big one for the grid's speed (`loupe dataset
   synthetic classes=2 train=10000 --write` (no merged pair, dark, signature or scaled class:
   two classes have no room for them), then, with h5py, /predictions/train with probs,
   top5, loss, labels and items: a class of ~5,000 images).
2. `loupe review ARCHIVE --port 0` for each, and `loupe review --blind` on a copy of the run;
   the URL is read from the line
   `loupe review: http://127.0.0.1:PORT/?token=TOKEN` on its stdout.
3. tests/browser/review.test.mjs (node --test, playwright-core from NODE_DIR, Debian's
   /usr/bin/chromium) makes decisions with the keyboard alone and writes down what it sent and
   what the server numbered it (decisions.json); screenshots in SHOT_DIR/review-shots
   (SHOT_DIR defaults to NODE_DIR's parent, the build directory).
4. SIGTERM: each server exits 0, folding its journal into the archive.
5. h5py reads the run's /annotations: exactly the rows those decisions make (docs/REVIEW.md:
   one row per item of an entry with its split, item and given label; one row with item -1 for
   a merge and an undo), nothing more; the journal holds one line per entry. The blind copy's
   /annotations: the three answers the browser gave.

Exits 77 (ctest's skip) with a line "SKIPPED: ..." when chromium, node or NODE_DIR's
playwright-core is missing (scripts/setup installs them) — after step 1 has run.
"""
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import h5py
import numpy as np

LOUPE = os.path.abspath(sys.argv[1])
SCRATCH = sys.argv[2]
NODE_DIR = os.path.abspath(sys.argv[3])
SHOT_DIR = os.path.join(os.path.abspath(sys.argv[4] if len(sys.argv) > 4
                                        else os.path.dirname(NODE_DIR)), "review-shots")
CHROMIUM = os.environ.get("LOUPE_CHROMIUM", "/usr/bin/chromium")
HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_TEST = os.path.join(HERE, "..", "browser", "review.test.mjs")
QUICKSTART = os.path.join(HERE, "..", "..", "experiments", "quickstart.lua")
root = os.path.abspath(os.path.join(SCRATCH, "review"))
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
import checks  # noqa: E402 (tests/e2e/checks.py)
from checks import check  # noqa: E402

servers = []


def finish(skip=None):
    for p in servers:
        if p.poll() is None:
            p.kill()
            p.wait()
    checks.finish(skip)


def run(*args):
    t0 = time.monotonic()
    p = subprocess.run([LOUPE, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr, time.monotonic() - t0


# ---- 1. the archives ---------------------------------------------------------------------
rc, out, _ = run("review", "--help")
check(rc == 0, f"loupe review --help ({out.strip()[-300:]})")
if rc:
    finish()
arch = os.path.join(root, "run.h5")
rc, out, secs = run("run", QUICKSTART, arch, "train=300", "test=100", "epochs=1")
check(rc == 0, f"the quick start, 1 epoch ({secs:.0f} s) ({out.strip()[-300:] if rc else arch})")
big = os.path.join(root, "big.h5")
rc2, out2, _ = run("dataset", "synthetic", "classes=2", "merge=false", "dark_class=-1",
                   "signature_class=-1", "scale_class=-1", "train=10000", "test=10", "--write", big)
check(rc2 == 0, f"a synthetic dataset of two classes, 10,000 items ({out2.strip()[-300:]})")
if rc or rc2:
    finish()
with h5py.File(arch, "r") as f:
    check("annotations" not in f and "analyses" in f and "predictions" in f,
          f"the run has predictions and analyses, no annotations yet ({list(f)})")
rng = np.random.default_rng(5)
with h5py.File(big, "r+") as f:
    labels = f["dataset/train/labels"][()].astype(np.int32)
    K = len(f["dataset/classes"])
    z = 2.0 * np.eye(K)[labels] + rng.normal(size=(len(labels), K))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    top5 = np.full((len(labels), 5), -1, np.int32)
    top5[:, :K] = np.argsort(-p, axis=1)[:, :5]
    g = f.create_group("predictions/train")
    for name, v, dims in (("probs", p.astype(np.float32), ("item", "class")),
                          ("top5", top5, ("item", "rank")),
                          ("loss", -np.log(p[np.arange(len(labels)), labels]).astype(np.float32),
                           ("item",)),
                          ("labels", labels, ("item",)),
                          ("items", np.arange(len(labels), dtype=np.int64), ("item",))):
        d = g.create_dataset(name, data=v)
        for i, label in enumerate(dims):
            d.dims[i].label = label
    g.attrs["count"] = len(labels)
    biggest = int(np.bincount(labels).max())
check(biggest >= 4000, f"the big archive's largest class has {biggest} items")

node = shutil.which("node")
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
    finish(f"no browser at {CHROMIUM} (scripts/setup installs Debian's chromium)")
if node is None:
    finish("no node on PATH (scripts/setup installs Debian's nodejs)")
if not os.path.isfile(os.path.join(NODE_DIR, "node_modules", "playwright-core", "package.json")):
    finish(f"no {NODE_DIR}/node_modules/playwright-core (scripts/setup installs it)")


# ---- 2. the servers ----------------------------------------------------------------------
def serve(path, name, *flags):
    log = open(os.path.join(root, f"{name}.stderr"), "w")
    p = subprocess.Popen([LOUPE, "review", *flags, path, "--port", "0"], stdout=subprocess.PIPE,
                         stderr=log, text=True)
    servers.append(p)
    lines = queue.Queue()

    def pump():
        with open(os.path.join(root, f"{name}.stdout"), "w") as keep:
            for line in p.stdout:
                keep.write(line)
                keep.flush()
                lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if p.poll() is not None:
                break
            continue
        m = re.search(r"loupe review: (http://127\.0\.0\.1:\d+/\?token=[0-9A-Za-z_-]+)", line)
        if m:
            return p, m.group(1)
    check(False, f"loupe review {name}: the URL line on stdout within 60 s (rc {p.poll()}; "
          f"see {log.name})")
    finish()


def stop(p, name):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "killed after 60 s"
    check(rc == 0, f"loupe review {name} exits 0 on SIGTERM ({rc})")


blind = os.path.join(root, "blind.h5")
shutil.copy(arch, blind)  # a second server may not share the run's journal
t0 = time.monotonic()
srv, url = serve(arch, "run")
srv_big, url_big = serve(big, "big")
srv_blind, url_blind = serve(blind, "blind", "--blind")
check(True, f"three servers up in {time.monotonic() - t0:.1f} s: {url.split('?')[0]}, "
      f"{url_big.split('?')[0]}, {url_blind.split('?')[0]} (--blind)")

# ---- 3. the browser test -----------------------------------------------------------------
decisions = os.path.join(root, "decisions.json")
env = dict(os.environ, LOUPE_REVIEW_URL=url, LOUPE_REVIEW_BIG_URL=url_big,
           LOUPE_REVIEW_BLIND_URL=url_blind,
           LOUPE_REVIEW_OUT=decisions, LOUPE_REVIEW_SHOTS=SHOT_DIR, LOUPE_NODE_DIR=NODE_DIR,
           LOUPE_CHROMIUM=CHROMIUM, NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
t0 = time.monotonic()
try:
    p = subprocess.run([node, "--test", "--test-reporter=spec", BROWSER_TEST], cwd=NODE_DIR,
                       env=env, capture_output=True, text=True, timeout=240)
    rc, out = p.returncode, p.stdout + p.stderr
except subprocess.TimeoutExpired as e:
    rc, out = "timeout", f"{e.stdout or ''}{e.stderr or ''}"
print(out)
check(rc == 0, f"the review page in chromium: node --test tests/browser/review.test.mjs "
      f"({time.monotonic() - t0:.1f} s)")
for name in ("classes", "grid", "picker", "one", "help", "big-grid", "blind", "blind-picker"):
    path = os.path.join(SHOT_DIR, f"review-{name}.png")
    check(os.path.isfile(path), f"screenshot for a person to look at: {path}")

# ---- 4. stop: the journal folds into the archive -----------------------------------------
stop(srv, "run")
stop(srv_big, "big")
stop(srv_blind, "blind")
if not os.path.isfile(decisions):
    check(False, f"the browser test wrote down its decisions ({decisions})")
    finish()
with open(decisions) as f:
    made = json.load(f)
entries, where = made["entries"], made["items"]
check(len(entries) >= 8, f"the browser test made {len(entries)} entries")


# ---- 5. /annotations holds exactly those decisions ---------------------------------------
def expected_rows():
    rows = []
    for e in entries:
        base = (e["seq"], e["action"])
        if e["action"] in ("undo", "redo"):
            rows.append(base + ("", -1, -1, -1, "", e["ref"]))
        elif e["action"] in ("merge", "unmerge"):
            rows.append(base + ("", -1, e["class"], e["label"], "", -1))
        else:
            for i in e["items"]:
                w = where[str(i)]
                rows.append(base + (w["split"], w["item"], w["label"], e["label"],
                                    e.get("tag") or "", -1))
    return sorted(rows)


with h5py.File(arch, "r") as f:
    check("annotations" in f, "the archive has /annotations after the server stopped")
    if "annotations" not in f:
        finish()
    a = f["annotations"]
    s = lambda k: list(a[k].asstr()[()])  # noqa: E731
    n = lambda k: [int(v) for v in a[k][()]]  # noqa: E731
    got = sorted(zip(n("seq"), s("action"), s("split"), n("item"), n("class"), n("label"),
                     s("tag"), n("ref")))
want = expected_rows()
# A merge's or an undo's row may leave split empty or name one; compare what docs/REVIEW.md
# fixes: item -1, class, label, ref.
norm = [r if r[3] >= 0 else r[:2] + ("",) + r[3:] for r in got]
check(norm == want, f"/annotations holds exactly the {len(want)} rows of the browser's "
      f"{len(entries)} decisions" + ("" if norm == want else
                                     f"\n  want {want}\n  got  {got}"))
with h5py.File(blind, "r") as f:
    acts = list(f["annotations/action"].asstr()[()]) if "annotations" in f else []
check(acts == ["answer"] * 3, f"the blind copy's /annotations: the browser's three answers ({acts})")
# the report's "human against the model": the person's and the model's agreement with the
# given labels, recomputed here from the answers and the test probabilities
with h5py.File(blind, "r") as f:
    g = f["annotations"]
    rows = g["item"][()][g["action"].asstr()[()] == "answer"]
    ans = g["label"][()][g["action"].asstr()[()] == "answer"]
    labels = f["dataset/test/labels"][()]
    pred = f["predictions/test/probs"][()].argmax(axis=1)
    pitems = f["predictions/test/items"][()]
last = dict(zip(rows, ans))  # the last answer per item counts
predicted = dict(zip(pitems, pred))
person = np.mean([last[i] == labels[i] for i in last])
model = np.mean([predicted[i] == labels[i] for i in last])
html = os.path.join(root, "blind.html")
p = subprocess.run([LOUPE, "report", blind, "-o", html], capture_output=True, text=True)
text = open(html).read() if p.returncode == 0 else ""
want_text = (f"{len(last)} images answered. Agreement with the given labels: the person "
             f"{person:.3f}, the model {model:.3f}.")
check(want_text in text, f"the blind run's report: '{want_text}'" +
      ("" if want_text in text else f" not in {html} ({p.stderr.strip()[-300:]})"))
journal = arch + ".journal"
with open(journal) as f:
    lines = [json.loads(x) for x in f if x.strip()]
check([x["seq"] for x in lines] == [e["seq"] for e in entries],
      f"the journal holds one line per entry ({len(lines)})")
finish()
