#!/usr/bin/env python3
"""report_check.py LOUPE SCRATCH NODE_DIR [SHOT_DIR] — `loupe report` in a real browser (issue 11).

1. An archive without training: `loupe dataset synthetic dup_rate=0.2 train=800 test=300
   --write` (the report draws the images again from the dataset the archive records; 800 + 300
   keep the duplicates analysis short under the sanitizers and still give it more than 48
   findings), then, with h5py,
   /predictions/test/probs and /predictions/train_crossval/probs (a seeded softmax of noisy
   one-hot labels, with class 2 often taken for 3) and a 5-epoch /metrics; `loupe analyze`
   (all analyses), `loupe report RUN.h5 -o RUN.html`.
2. The file on its own: rc 0, under 20 MB, the archive's bytes unchanged, no http(s):// or
   protocol-relative src / href / url(), every src and <link href> a data: URL, the
   `<link rel=icon href="data:,">`; each <div class="sheet"> holds as many <img class="thumb">
   as its data-expected says, and the duplicates sheet's count is derived here from h5py: the
   first min(48, n) item findings of /analyses/duplicates/findings, two images for a finding
   with other_item >= 0 (the item and its partner), one otherwise. `--top 3` again, statically:
   the duplicates sheet shrinks to 3 findings.
3. tests/browser/report.test.mjs (node --test, playwright-core from NODE_DIR, Debian's
   /usr/bin/chromium): no console or page error, no request leaving the file, K×K heatmap cells
   (K = len(/dataset/classes)), every sheet's images decoded (naturalWidth > 0), the curves;
   screenshots SHOT_DIR/report-screenshot.png (1280×800) and report-full.png (SHOT_DIR
   defaults to NODE_DIR's parent, the build directory).
4. The browser test has teeth: a copy of the report with one thumbnail's bytes broken, a
   console.error and an https:// image must fail it, naming all three.

Exits 77 (ctest's skip, SKIP_RETURN_CODE) with a line "SKIPPED: ..." when chromium, node or
NODE_DIR's playwright-core is missing (scripts/setup installs them) — after steps 1-2 have run.
"""
import hashlib
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

LOUPE, SCRATCH, NODE_DIR = sys.argv[1:4]
NODE_DIR = os.path.abspath(NODE_DIR)
SHOT_DIR = os.path.abspath(sys.argv[4] if len(sys.argv) > 4 else os.path.dirname(NODE_DIR))
CHROMIUM = os.environ.get("LOUPE_CHROMIUM", "/usr/bin/chromium")
BROWSER_TEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "browser",
                            "report.test.mjs")
TOP = 48  # loupe report's default --top
root = os.path.abspath(os.path.join(SCRATCH, "report"))
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
from checks import check, failures, finish  # noqa: E402 (tests/e2e/checks.py)


def run(*args):
    t0 = time.monotonic()
    p = subprocess.run([LOUPE, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr, time.monotonic() - t0


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---- 1. the archive ----------------------------------------------------------------------
arch = os.path.join(root, "run.h5")
page = os.path.join(root, "run.html")
rc, out, _ = run("dataset", "synthetic", "dup_rate=0.2", "train=800", "test=300", "--write", arch)
check(rc == 0, f"dataset written ({out.strip()[-300:] if rc else arch})")
if rc:
    finish()
rng = np.random.default_rng(11)
with h5py.File(arch, "r+") as f:
    K = len(f["dataset/classes"])
    for split, src in (("test", "test"), ("train_crossval", "train")):
        labels = f[f"dataset/{src}/labels"][()]
        z = 3.0 * np.eye(K)[labels] + rng.normal(size=(len(labels), K))
        z[labels == 2, 3] += 2.5  # a visible off-diagonal cell in the heatmap
        p = softmax(z).astype(np.float32)
        d = f.create_dataset(f"predictions/{split}/probs", data=p)
        d.dims[0].label, d.dims[1].label = "item", "class"
    m = f.create_group("metrics")
    m.attrs["epochs"] = 5
    epochs = np.arange(1, 6)
    cols = {"epoch": epochs.astype(np.int32),
            "train_loss": 2.3 * np.exp(-0.5 * epochs), "test_loss": 2.3 * np.exp(-0.4 * epochs) + 0.1,
            "train_acc": 1 - 0.9 * np.exp(-0.6 * epochs), "test_acc": 1 - 0.9 * np.exp(-0.45 * epochs) - 0.05}
    for name, v in cols.items():
        d = m.create_dataset(name, data=v if name == "epoch" else v.astype(np.float32))
        d.dims[0].label = "epoch"
rc, out, _ = run("analyze", arch)
check(rc == 0, f"loupe analyze (all analyses) ({out.strip()[-300:] if rc else 'ran'})")
if rc:
    finish()

with h5py.File(arch, "r") as f:
    classes = len(f["dataset/classes"])
    g = f["analyses/duplicates/findings"]
    items, others = g["item"][()], g["other_item"][()]
shown = [o for i, o in zip(items, others) if i >= 0]


def dup_images(top):
    return sum(2 if o >= 0 else 1 for o in shown[:top])


check(len(shown) > TOP and any(o >= 0 for o in shown),
      f"the archive has more than {TOP} item findings of duplicates, pairs among them "
      f"({len(shown)}): the sheet is cut at --top")


# ---- 2. the file on its own --------------------------------------------------------------
CONTAINERS = {"div", "section", "article", "details", "figure", "main", "aside"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6", "summary", "figcaption", "caption"}


class Report(html.parser.HTMLParser):
    """sheets (label, data-expected, img.thumb count), heatmaps, curves, references"""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.sheets, self.refs, self.icon = [], [], [], False
        self.heading, self.in_heading = "", False
        self.heatmaps, self.curves = [], 0

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        cls = a.get("class", "").split()
        for k in ("src", "href", "xlink:href", "poster", "action", "formaction", "data"):
            if k in a:
                self.refs.append((tag, k, a[k].strip()))
        if "srcset" in a:
            self.refs.extend((tag, "srcset", s.strip().split(" ")[0])
                             for s in a["srcset"].split(","))
        if tag == "link" and "icon" in a.get("rel", "").split() and a.get("href") == "data:,":
            self.icon = True
        if tag in HEADINGS:
            self.heading, self.in_heading = "", True
        if tag == "svg" and "heatmap" in cls:
            self.heatmaps.append([a.get("data-k"), 0])
        if tag == "svg" and "curve" in cls:
            self.curves += 1
        if tag == "rect" and "cell" in cls and self.heatmaps:
            self.heatmaps[-1][1] += 1
        if tag == "img" and "thumb" in cls:
            for s in self.stack:
                if s["sheet"] is not None:
                    s["sheet"]["thumbs"] += 1
        if tag in CONTAINERS:
            sheet = None
            if tag == "div" and "sheet" in cls:
                label = " ".join([self.heading] + [v for s in self.stack for v in s["names"]] +
                                 list(a.values()))
                sheet = {"label": label, "expected": a.get("data-expected"), "thumbs": 0,
                         "analysis": a.get("data-analysis")}
                self.sheets.append(sheet)
            names = [v for k, v in a.items() if k == "id" or k.startswith("data-")]
            self.stack.append({"tag": tag, "sheet": sheet, "names": names})

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in CONTAINERS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in HEADINGS:
            self.in_heading = False
        if tag in CONTAINERS:
            while self.stack:
                if self.stack.pop()["tag"] == tag:
                    break

    def handle_data(self, data):
        if self.in_heading:
            self.heading += data


def read_report(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    r = Report()
    r.feed(text)
    r.close()
    return text, r


def duplicates_sheet(r, top):
    """the one sheet about duplicates: data-analysis, an id / data-* around it, or its heading"""
    tagged = [s for s in r.sheets if s["analysis"] == "duplicates"]
    found = tagged or [s for s in r.sheets if "duplicate" in s["label"].lower()]
    check(len(found) == 1, f"--top {top}: one contact sheet is the duplicates' "
          f"({len(found)} of {len(r.sheets)}; give it data-analysis=\"duplicates\")")
    return found[0] if len(found) == 1 else None


def static_checks(path, top):
    text, r = read_report(path)
    size = os.path.getsize(path)
    check(size < 20 * 2**20, f"--top {top}: the report is under 20 MB ({size / 2**20:.2f} MB)")
    remote = [(t, k, v[:60]) for t, k, v in r.refs if re.match(r"(?i)(https?:)?//", v)]
    css = re.findall(r"(?i)(?:url\(\s*['\"]?|@import\s+['\"])\s*((?:https?:)?//[^'\")\s]*)", text)
    check(not remote and not css, f"--top {top}: no http(s):// src or href, no remote url() "
          f"or @import ({remote[:3] + css[:3]})")
    local = [(t, k, v[:60]) for t, k, v in r.refs
             if (k != "href" or t == "link") and not v.lower().startswith("data:")]
    check(not local, f"--top {top}: every src and <link href> is a data: URL ({local[:3]})")
    check(r.icon, f'--top {top}: <link rel=icon href="data:,"> (no favicon request)')
    check(len(r.heatmaps) >= 1 and all(k == str(classes) and n == classes * classes
                                       for k, n in r.heatmaps),
          f"--top {top}: heatmaps with data-k={classes} and {classes * classes} rect.cell "
          f"(data-k, cells: {r.heatmaps})")
    check(r.curves >= 1, f"--top {top}: training curves (svg.curve: {r.curves})")
    bad = [(s["expected"], s["thumbs"]) for s in r.sheets if s["expected"] != str(s["thumbs"])]
    check(len(r.sheets) >= 1 and not bad,
          f"--top {top}: {len(r.sheets)} sheets, each with data-expected img.thumb ({bad})")
    dup = duplicates_sheet(r, top)
    if dup is not None:
        want = dup_images(top)
        check(dup["expected"] == str(want) and dup["thumbs"] == want,
              f"--top {top}: duplicates sheet: {want} images for the first "
              f"{min(top, len(shown))} of {len(shown)} findings "
              f"(data-expected {dup['expected']}, img.thumb {dup['thumbs']})")
    for s in r.sheets:
        print(f"  sheet {s['analysis'] or s['label'].strip()[:50]!r}: "
              f"data-expected {s['expected']}, img.thumb {s['thumbs']}")
    return r


before = sha(arch)
rc, out, secs = run("report", arch, "-o", page)
check(rc == 0 and os.path.isfile(page),
      f"loupe report RUN.h5 -o RUN.html ({secs:.1f} s) ({out.strip()[-300:] if rc else 'ran'})")
if rc or not os.path.isfile(page):
    finish()
check(sha(arch) == before, "loupe report leaves the archive's bytes as they were")
r = static_checks(page, TOP)
page3 = os.path.join(root, "run_top3.html")
rc, out, _ = run("report", arch, "-o", page3, "--top", "3")
check(rc == 0, f"--top 3 ({out.strip()[-300:] if rc else 'ran'})")
if rc == 0:
    static_checks(page3, 3)
if failures:
    finish()

# ---- 3. in the browser -------------------------------------------------------------------
node = shutil.which("node")
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
    finish(f"no browser at {CHROMIUM} (scripts/setup installs Debian's chromium)")
if node is None:
    finish("no node on PATH (scripts/setup installs Debian's nodejs)")
if not os.path.isfile(os.path.join(NODE_DIR, "node_modules", "playwright-core", "package.json")):
    finish(f"no {NODE_DIR}/node_modules/playwright-core (scripts/setup installs it)")

expect = os.path.join(root, "expect.json")
with open(expect, "w") as f:
    json.dump({"k": classes, "sheets": [int(s["expected"]) for s in r.sheets], "curves": True}, f)


def browser(html_path, shots):
    env = dict(os.environ, LOUPE_REPORT=html_path, LOUPE_REPORT_EXPECT=expect,
               LOUPE_NODE_DIR=NODE_DIR, LOUPE_REPORT_SHOTS=shots, LOUPE_CHROMIUM=CHROMIUM,
               NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
    t0 = time.monotonic()
    p = subprocess.run([node, "--test", "--test-reporter=spec", BROWSER_TEST], cwd=NODE_DIR,
                       env=env, capture_output=True, text=True, timeout=240)
    return p.returncode, p.stdout + p.stderr, time.monotonic() - t0


rc, out, secs = browser(page, SHOT_DIR)
print(out)
check(rc == 0, f"the report in chromium: node --test tests/browser/report.test.mjs ({secs:.1f} s)")
for name in ("report-screenshot.png", "report-full.png"):
    shot = os.path.join(SHOT_DIR, name)
    check(os.path.isfile(shot), f"screenshot for a person to look at: {shot}")

# ---- 4. the browser test fails a broken report -------------------------------------------
with open(page, encoding="utf-8") as f:
    text = f.read()
broken, n = re.subn(r"""(<img\b[^>]*\bclass=['"]?thumb\b[^>]*\bsrc=['"]?data:image/[a-z]+;base64,)"""
                    r"[A-Za-z0-9+/]{8}", r"\1AAAAAAAA", text, count=1)
if n == 0:  # src before class
    broken, n = re.subn(r"""(src=['"]?data:image/[a-z]+;base64,)[A-Za-z0-9+/]{8}""",
                        r"\1AAAAAAAA", text, count=1)
planted = ('<img class="planted" src="https://example.invalid/planted.png" alt="">'
           '<script>console.error("planted console error")</script>')
broken = broken.replace("</body>", planted + "</body>", 1)
check(n == 1 and planted in broken, "a broken copy of the report: one thumbnail's JPEG "
      "header overwritten, an https:// image and a console.error planted")
bad_page = os.path.join(root, "broken.html")
with open(bad_page, "w", encoding="utf-8") as f:
    f.write(broken)
rc, out, secs = browser(bad_page, os.path.join(root, "broken-shots"))
check(rc != 0 and "planted console error" in out and "example.invalid/planted.png" in out
      and "could not decode" in out,
      f"the browser test fails it, naming the console error, the request and the image "
      f"({secs:.1f} s)" + ("" if rc else "\n" + out[-2000:]))
finish()
