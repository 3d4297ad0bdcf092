#!/usr/bin/env python3
"""report_text_check.py REPORT_TEXT — the report's HTML escaping and base64 against Python's.

base64: 600 random byte strings (lengths 0..300, every remainder mod 3) against
base64.b64encode. Escaping: 600 random UTF-8 strings mixing ASCII, the five special characters,
2-, 3- and 4-byte characters, against html.escape(s, quote=True); then bytes that are not UTF-8
and control characters: the output is valid UTF-8, holds no raw < > & " ', and keeps the valid
text around them.
"""
import base64
import html
import random
import subprocess
import sys

TOOL = sys.argv[1]
failures = []


def run_all(mode, inputs):
    """every input through one process: 4-byte little-endian lengths and the bytes"""
    blob = b"".join(len(d).to_bytes(4, "little") + d for d in inputs)
    out = subprocess.run([TOOL, mode], input=blob, capture_output=True, check=True).stdout
    res, at = [], 0
    while at < len(out):
        n = int.from_bytes(out[at:at + 4], "little")
        res.append(out[at + 4:at + 4 + n])
        at += 4 + n
    assert len(res) == len(inputs), (len(res), len(inputs))
    return res


def run(mode, data):
    return run_all(mode, [data])[0]


rnd = random.Random(11)
inputs = [bytes(rnd.randrange(256) for _ in range(i % 301)) for i in range(600)]
bad = sum(got != base64.b64encode(d) for d, got in zip(inputs, run_all("base64", inputs)))
print(f"base64: {600 - bad}/600 equal to base64.b64encode")
if bad:
    failures.append("base64")

alphabet = list("abc xyz019<>&\"'") + ["é", "ß", "€", "漢", "😀", "\u2028", "\ufffd"]
texts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 80))) for _ in range(600)]
bad = 0
for s, got in zip(texts, run_all("escape", [t.encode() for t in texts])):
    if got.decode() != html.escape(s, quote=True):
        bad += 1
        if bad < 3:
            print("differs:", repr(s))
print(f"escape: {600 - bad}/600 equal to html.escape")
if bad:
    failures.append("escape")

cases = [b"ok \xff\xfe end", b"<\xc3>", b"\xe2\x82", b"\xed\xa0\x80 surrogate",
         b"\xf5\x80\x80\x80", b"\xc0\xaf overlong", b"tab\tnl\ncr\r bell\x07 esc\x1b"]
for c in cases:
    out = run("escape", c)
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        failures.append(f"not UTF-8 out of {c!r}")
        continue
    raw = any(ch in text for ch in "<>\"'") or "&" in text.replace("&amp;", "").replace(
        "&lt;", "").replace("&gt;", "").replace("&quot;", "").replace("&#x27;", "")
    ctrl = any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)
    kept = all(w in text for w in c.decode("utf-8", "ignore").split() if w.isascii() and
               w.isalpha())
    print(f"{c!r} -> {text!r}")
    if raw or ctrl or not kept:
        failures.append(f"escape of {c!r}")

if failures:
    print("FAILED:", failures)
    sys.exit(1)
print("all ok")
