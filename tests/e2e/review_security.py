#!/usr/bin/python3
"""review_security.py LOUPE SCRATCH — `loupe review`'s guards (docs/REVIEW.md "HTTP", the
comment atop core/src/review/server.c), each tried on raw sockets, so that the Host, the
Origin and the path go out exactly as written:

- no token (403, no_token); a wrong token in the header, the cookie and `/?token=bad` (403,
  bad_token); a foreign Host (`evil.example:PORT`, another port, none: 403, bad_host);
- a POST from another origin, without the X-Loupe-Token header (the cookie alone), without an
  Origin, or as text/plain (403, bad_origin), and none of them reaches the journal;
- path traversal (`/../etc/passwd`, `/t/../../etc/passwd`, `/%2e%2e/etc/passwd`,
  `/t/%2e%2e%2fetc%2fpasswd`, `//etc/passwd`, `/t/a%00.jpg`, a raw NUL byte, ...): each a 4xx,
  never 200, never a file's content, and counted as bad_path or not_found (printed);
- a body over 64 KiB (413, too_large), PUT / DELETE / OPTIONS (405, bad_method);
- the login: GET /?token=T is a 303 that sets an HttpOnly, SameSite=Strict cookie and sends
  the browser to a Location without the token; the cookie then opens the page and the API;
- never an Access-Control-Allow-Origin header; Content-Security-Policy without
  'unsafe-inline' and nosniff on every answer with a body; thumbnails `immutable`;
- each refusal is counted once in GET /api/stats (the counter checked before and after);
- SIGTERM: exit 0, and h5py reads /annotations: the one accepted decision, nothing refused.

The archive: `loupe dataset synthetic train=300 test=100 --write RUN.h5` (no training: the
  server needs no predictions, and the test stays cheap under the validation layer and ASan).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

import h5py

LOUPE = os.path.abspath(sys.argv[1])
SCRATCH = sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
QUICKSTART = os.path.join(HERE, "..", "..", "experiments", "quickstart.lua")
root = os.path.abspath(os.path.join(SCRATCH, "review_security"))
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
from checks import check, failures, synthetic_archive  # noqa: E402 (tests/e2e/checks.py)

server = None


def finish():
    if server is not None and server.poll() is None:
        server.kill()
        server.wait()
    if failures:
        print(f"{len(failures)} FAILED")
        for f in failures:
            print(f"  FAILED: {f}")
        sys.exit(1)
    print("all ok")
    sys.exit(0)


# ---- the archive and the server ---------------------------------------------------------
arch = os.path.join(root, "run.h5")
if not synthetic_archive(LOUPE, arch):
    finish()

errlog = open(os.path.join(root, "review.err"), "w")
server = subprocess.Popen([LOUPE, "review", arch, "--port", "0"], stdout=subprocess.PIPE,
                          stderr=errlog, text=True)
line = server.stdout.readline()
m = re.search(r"loupe review: http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]+)", line)
check(m is not None, f"loupe review prints its URL ({line.strip()!r})")
if not m:
    finish()
PORT, TOKEN = int(m.group(1)), m.group(2)
HOST = f"127.0.0.1:{PORT}"
ORIGIN = f"http://{HOST}"
check(len(TOKEN) == 32, f"a 128-bit token ({len(TOKEN) * 4} bits)")

answers = []  # every (what, status, headers, body) seen: the header checks run over all


def http(method, path, headers=None, body=b"", host=HOST, what=None, version="HTTP/1.1"):
    """One request on a fresh socket, sent byte for byte; (status, {name: [values]}, body).
    path and header values may be bytes. status None: no answer (the connection closed)."""
    if isinstance(path, str):
        path = path.encode("latin-1")
    head = [method.encode() + b" " + path + b" " + version.encode()]
    if host is not None:
        head.append(b"Host: " + host.encode())
    for k, v in (headers or {}).items():
        head.append(k.encode() + b": " + (v if isinstance(v, bytes) else str(v).encode()))
    if body or method in ("POST", "PUT"):
        head.append(b"Content-Length: " + str(len(body)).encode())
    head.append(b"Connection: close")
    data = b"\r\n".join(head) + b"\r\n\r\n" + body
    got = b""
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (and close) before it has read a big body
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += b
        except (ConnectionResetError, socket.timeout):
            pass
    if b"\r\n\r\n" not in got:
        answers.append((what or f"{method} {path!r}", None, {}, got))
        return None, {}, got
    raw_head, rest = got.split(b"\r\n\r\n", 1)
    lines = raw_head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    answers.append((what or f"{method} {path!r}", status, hdrs, rest))
    return status, hdrs, rest


AUTH = {"X-Loupe-Token": TOKEN}


def stats():
    st, _, body = http("GET", "/api/stats", AUTH, what="GET /api/stats")
    assert st == 200, (st, body)
    return json.loads(body)


COUNTERS = ("no_token", "bad_token", "bad_host", "bad_origin", "bad_method", "bad_path",
            "not_found", "too_large", "bad_request", "thumbs_made", "thumbs_served",
            "decisions", "requests")
first = stats()
check(all(k in first for k in COUNTERS),
      f"GET /api/stats has every counter (missing: {[k for k in COUNTERS if k not in first]})")


def delta(before, after):
    return {k: after[k] - before[k] for k in after if k != "requests" and after[k] != before[k]}


def refused(what, want_status, counter, method, path, headers=None, body=b"", **kw):
    """the request is answered want_status and counts exactly one `counter`"""
    s0 = stats()
    st, hdrs, got = http(method, path, headers, body, what=what, **kw)
    d = delta(s0, stats())
    check(st == want_status and d == {counter: 1},
          f"{what}: {st} (want {want_status}), counted {d} (want {{'{counter}': 1}})")
    return st, hdrs, got


# ---- the token ----------------------------------------------------------------------------
refused("no token, the API", 403, "no_token", "GET", "/api/state")
refused("no token, the page", 403, "no_token", "GET", "/")
refused("no token, a thumbnail", 403, "no_token", "GET", "/t/0000000000000000-160.jpg")
refused("a wrong token in X-Loupe-Token", 403, "bad_token", "GET", "/api/state",
        {"X-Loupe-Token": "bad"})
refused("a token one digit off in X-Loupe-Token", 403, "bad_token", "GET", "/api/state",
        {"X-Loupe-Token": TOKEN[:-1] + ("0" if TOKEN[-1] != "0" else "1")})
refused("the token and more in X-Loupe-Token", 403, "bad_token", "GET", "/api/state",
        {"X-Loupe-Token": TOKEN + "00"})
refused("an empty X-Loupe-Token", 403, "bad_token", "GET", "/api/state",
        {"X-Loupe-Token": ""})
refused("a wrong token in the cookie", 403, "bad_token", "GET", "/api/state",
        {"Cookie": "loupe_token=bad"})
refused("the right header with a wrong cookie", 403, "bad_token", "GET", "/api/state",
        {"X-Loupe-Token": TOKEN, "Cookie": "loupe_token=bad"})
st, hdrs, _ = refused("/?token=bad", 403, "bad_token", "GET", "/?token=bad")
check("set-cookie" not in hdrs, "/?token=bad sets no cookie")
refused("/?token= (empty)", 403, "bad_token", "GET", "/?token=")

# ---- the Host (DNS rebinding) -------------------------------------------------------------
refused("Host evil.example:PORT, with the token", 403, "bad_host", "GET", "/api/state", AUTH,
        host=f"evil.example:{PORT}")
refused("Host 127.0.0.1 on another port", 403, "bad_host", "GET", "/api/state", AUTH,
        host=f"127.0.0.1:{PORT + 1 if PORT < 65535 else PORT - 1}")
refused("Host 127.0.0.1 without the port", 403, "bad_host", "GET", "/api/state", AUTH,
        host="127.0.0.1")
refused("Host evil.example:PORT logging in", 403, "bad_host", "GET", f"/?token={TOKEN}",
        host=f"evil.example:{PORT}")
refused("no Host at all (HTTP/1.0)", 403, "bad_host", "GET", "/api/state", AUTH, host=None,
        version="HTTP/1.0")
for h in (f"localhost:{PORT}", f"[::1]:{PORT}"):
    st, _, _ = http("GET", "/api/state", AUTH, host=h, what=f"Host {h}")
    check(st == 200, f"Host {h} is this server: {st}")

# ---- POST: JSON, the header, this origin --------------------------------------------------
cls0 = json.loads(http("GET", "/api/class/0", AUTH, what="GET /api/class/0")[2])
item0 = cls0["items"][0]
dec = json.dumps({"action": "keep", "items": [item0["id"]], "client": "sec-1"}).encode()
JSON = {"Content-Type": "application/json"}
good = dict(AUTH, Origin=ORIGIN, **JSON)
refused("POST from Origin http://evil.example", 403, "bad_origin", "POST", "/api/decision",
        dict(good, Origin="http://evil.example"), dec)
refused("POST from Origin http://evil.example:PORT", 403, "bad_origin", "POST",
        "/api/decision", dict(good, Origin=f"http://evil.example:{PORT}"), dec)
refused("POST from Origin null", 403, "bad_origin", "POST", "/api/decision",
        dict(good, Origin="null"), dec)
refused("POST from https://127.0.0.1:PORT", 403, "bad_origin", "POST", "/api/decision",
        dict(good, Origin=f"https://{HOST}"), dec)
refused("POST without an Origin", 403, "bad_origin", "POST", "/api/decision",
        {k: v for k, v in good.items() if k != "Origin"}, dec)
refused("POST with the cookie but no X-Loupe-Token", 403, "bad_origin", "POST",
        "/api/decision", {"Cookie": f"loupe_token={TOKEN}", "Origin": ORIGIN, **JSON}, dec)
refused("POST as text/plain", 403, "bad_origin", "POST", "/api/decision",
        dict(good, **{"Content-Type": "text/plain"}), dec)
refused("POST as application/x-www-form-urlencoded", 403, "bad_origin", "POST",
        "/api/decision", dict(good, **{"Content-Type": "application/x-www-form-urlencoded"}),
        dec)
refused("POST without a Content-Type", 403, "bad_origin", "POST", "/api/decision",
        {k: v for k, v in good.items() if k != "Content-Type"}, dec)
refused("POST undo from another origin", 403, "bad_origin", "POST", "/api/undo",
        dict(good, Origin="http://evil.example"), b"{}")
refused("POST, not JSON", 400, "bad_request", "POST", "/api/decision", good, b"keep it")
check(stats()["decisions"] == 0, "no refused POST made a decision")
s0 = stats()
st, _, got = http("POST", "/api/decision", good, dec, what="the right POST")
ok = json.loads(got) if st == 200 else {}
check(st == 200 and ok.get("seq") == 1 and delta(s0, stats()) == {"decisions": 1},
      f"the right POST: {st}, seq {ok.get('seq')}")

# ---- paths --------------------------------------------------------------------------------
PATHS = [b"/../etc/passwd", b"/t/../../etc/passwd", b"/%2e%2e/etc/passwd",
         b"/%2E%2E/etc/passwd", b"/t/%2e%2e%2fetc%2fpasswd", b"/t/..%2f..%2fetc%2fpasswd",
         b"//etc/passwd", b"/%2f%2fetc/passwd", b"/etc/passwd", b"/t/a%00.jpg",
         b"/t/a\x00.jpg", cls0["items"][0]["thumb"].encode() + b"%00.txt",
         cls0["items"][0]["thumb"].encode() + b"%00/../../etc/passwd",
         cls0["items"][0]["thumb"].encode() + b"\x00/../../etc/passwd",
         b"/api/stats%00.html",
         b"/t/..\\..\\etc\\passwd", b"/t/%5c..%5cetc%5cpasswd", b"/app.js/../../etc/passwd",
         b"/api/../../etc/passwd", b"/api/class/0/../../../etc/passwd", b"/./etc/passwd",
         b"/api/item/%2e%2e", b"/t/\x7f.jpg", b"/t/a\tb.jpg",
         b"/" + b"../" * 30 + b"etc/passwd", b"/t/%252e%252e/etc/passwd",
         f"http://{HOST}/../etc/passwd".encode()]
for path in PATHS:
    s0 = stats()
    try:
        st, _, got = http("GET", path, AUTH, what=f"GET {path!r}")
    except OSError as e:
        st, got = None, repr(e).encode()
    d = delta(s0, stats())
    counted = [k for k in ("bad_path", "not_found") if d.get(k) == 1]
    leak = b"root:" in got or b"/bin/" in got
    raw_nul = b"\x00" in path
    # a raw NUL byte may be refused by libmicrohttpd itself, before loupe's handler sees it
    ok = (st is None or 400 <= st < 500) and not leak and \
        (len(counted) == 1 and set(d) == set(counted) or (raw_nul and not d))
    how = counted[0] if counted else \
        ("nothing (libmicrohttpd refused it)" if raw_nul and not d else f"nothing refused {d}")
    check(ok, f"GET {path!r}: {st}, "
              f"{'refused' if st is None or 400 <= st < 500 else 'NOT refused'}, counted as "
              f"{how}{', FILE CONTENT LEAKED' if leak else ''}")

# ---- size and methods ---------------------------------------------------------------------
big = json.dumps({"action": "keep", "items": [item0["id"]], "note": "x" * 70000,
                  "client": "sec-big"}).encode()
refused("a body of 70 KB", 413, "too_large", "POST", "/api/decision", good, big)
refused("a body of 1 MB", 413, "too_large", "POST", "/api/decision", good,
        b'{"action":"keep","items":[0],"note":"' + b"y" * (1 << 20) + b'"}')
for method in ("PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"):
    refused(f"{method} /api/decision", 405, "bad_method", method, "/api/decision", good,
            dec if method in ("PUT", "PATCH") else b"")
refused("POST /app.js", 405, "bad_method", "POST", "/app.js", good, b"{}")
refused("a route that is not there", 404, "not_found", "GET", "/secret", AUTH)
check(stats()["decisions"] == 1, "nothing but the right POST made a decision")

# ---- the login ----------------------------------------------------------------------------
st, hdrs, _ = http("GET", f"/?token={TOKEN}", what="GET /?token=T")
cookie = (hdrs.get("set-cookie") or [""])[0]
loc = (hdrs.get("location") or [""])[0]
attrs = [a.strip().lower() for a in cookie.split(";")]
check(st == 303, f"GET /?token=T: {st} (want 303)")
check(cookie.startswith(f"loupe_token={TOKEN}") and "httponly" in attrs and
      "samesite=strict" in attrs, f"its cookie is HttpOnly, SameSite=Strict ({cookie!r})")
check(loc != "" and TOKEN not in loc and "token" not in loc,
      f"its Location has no token ({loc!r})")
jar = {"Cookie": cookie.split(";")[0]}
st, hdrs, page = http("GET", "/", jar, what="GET / with the cookie")
check(st == 200 and b"<" in page and "text/html" in hdrs.get("content-type", [""])[0],
      f"the cookie opens the page: {st}")
st, _, got = http("GET", "/api/state", jar, what="GET /api/state with the cookie")
check(st == 200 and "classes" in json.loads(got), f"the cookie opens the API: {st}")

# ---- thumbnails ---------------------------------------------------------------------------
thumb = item0["thumb"]
s0 = stats()
for k in range(2):
    st, hdrs, img = http("GET", thumb, jar, what=f"GET {thumb}")
    cc = hdrs.get("cache-control", [""])[0]
    check(st == 200 and img[:2] == b"\xff\xd8" and "immutable" in cc and
          hdrs.get("content-type") == ["image/jpeg"],
          f"thumbnail {thumb} ({'made' if k == 0 else 'cached'}): {st}, {len(img)} bytes, "
          f"Cache-Control {cc!r}")
d = delta(s0, stats())
check(d.get("thumbs_served") == 2 and d.get("thumbs_made", 0) in (0, 1),
      f"the thumbnail counters: {d}")
big_thumb = thumb.replace("-160.jpg", "-512.jpg")
st, hdrs, img = http("GET", big_thumb, AUTH, what=f"GET {big_thumb}")
check(st == 200 and img[:2] == b"\xff\xd8" and "immutable" in hdrs.get("cache-control", [""])[0],
      f"the preview {big_thumb}: {st}")
refused("a thumbnail of no item", 404, "not_found", "GET", "/t/0123456789abcdef-160.jpg", AUTH)
refused("a thumbnail size not offered", 404, "not_found", "GET",
        thumb.replace("-160.jpg", "-4096.jpg"), AUTH)

# ---- headers over every answer ------------------------------------------------------------
st, hdrs, _ = http("GET", "/api/state", dict(AUTH, Origin="http://evil.example"),
                   what="a cross-origin GET")
acao = [(w, s) for w, s, h, _ in answers if any(k.startswith("access-control-") for k in h)]
check(not acao, f"no answer of {len(answers)} carries an Access-Control-* header {acao[:3]}")
with_body = [(w, s, h) for w, s, h, _ in answers if s is not None and s != 303]
no_csp = [(w, s) for w, s, h in with_body
          if not h.get("content-security-policy") or
          "unsafe-inline" in h["content-security-policy"][0] or
          "default-src" not in h["content-security-policy"][0]]
check(not no_csp, f"all {len(with_body)} answers with a body carry a CSP without "
                  f"'unsafe-inline' {no_csp[:3]}")
no_sniff = [(w, s) for w, s, h in with_body if h.get("x-content-type-options") != ["nosniff"]]
check(not no_sniff, f"... and X-Content-Type-Options: nosniff {no_sniff[:3]}")
no_ref = [(w, s) for w, s, h in with_body if h.get("referrer-policy") != ["no-referrer"]]
check(not no_ref, f"... and Referrer-Policy: no-referrer {no_ref[:3]}")
api_cache = [(w, s) for w, s, h, _ in answers if s is not None and "/api/" in w and
             h.get("cache-control") != ["no-store"]]
check(not api_cache, f"API answers are no-store {api_cache[:3]}")
redirects = [h for w, s, h, _ in answers if s == 303]
if redirects and not redirects[0].get("content-security-policy"):
    print("note: the login's 303 (empty body) has no Content-Security-Policy / nosniff")

# ---- the server keeps serving, then folds only the accepted decision ----------------------
want_row = json.loads(http("GET", f"/api/item/{item0['id']}", AUTH, what="GET /api/item")[2])["item"]
st, _, _ = http("GET", "/api/state", AUTH, what="GET /api/state at the end")
check(st == 200, f"after all that the server still answers: {st}")
print("stats:", json.dumps(stats()))
server.send_signal(signal.SIGTERM)
try:
    rc = server.wait(timeout=60)
except subprocess.TimeoutExpired:
    rc = None
check(rc == 0, f"SIGTERM: loupe review exits {rc}")
with h5py.File(arch, "r") as f:
    g = f.get("annotations")
    rows = [] if g is None else list(zip(g["seq"][()].tolist(),
                                         [a.decode() if isinstance(a, bytes) else a
                                          for a in g["action"][()]], g["item"][()].tolist()))
check(len(rows) == 1 and rows[0][0] == 1 and rows[0][1] == "keep" and
      rows[0][2] == want_row,
      f"h5py reads /annotations: the one accepted decision {rows}")
journal = [json.loads(ln) for ln in open(arch + ".journal")]
check([e.get("client") for e in journal] == ["sec-1"],
      f"the journal: one entry, the accepted one ({[e.get('client') for e in journal]})")
finish()
