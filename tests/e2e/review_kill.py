#!/usr/bin/python3
"""review_kill.py LOUPE SCRATCH [SEED] — `loupe review` SIGKILLed while a client posts 1,000
decisions, and restarted each time (docs/REVIEW.md "Where decisions go", "HTTP"):

1. The archive: `loupe dataset synthetic train=300 test=100 --write RUN.h5` (no training: the
  server needs no predictions, and the test stays cheap under the validation layer and ASan);
   the item ids from GET /api/class/C for every class.
2. One client posts 1,000 decisions one after the other (POST /api/decision, keep / unsure /
   remove / relabel / tag on one random item, each with a unique `client` key, Origin, the
   X-Loupe-Token header, JSON). At 24 random decisions a timer SIGKILLs the server a random
   0-6 ms after the request went out (before, during or after its fsync), and at 6 more the
   server is killed while it starts (a random 0-150 ms after the spawn: folding the journal,
   loading the run). After each kill a new server is started (its port and token read from
   the line it prints) and h5py opens the archive. A request whose answer was not received is
   sent again, with the SAME client key, to the new server.
3. Every decision acknowledged once, under one seq: the answers' seqs are distinct, and a
   retried request is answered with the seq the journal had given it, or a new one if it never
   reached the journal. GET /api/item/ID then shows, for every item, the status, label and
   tags the acknowledged decisions add up to (the state replayed after all the restarts).
4. SIGTERM: exit 0 and the journal folded. h5py reads /annotations: exactly the acknowledged
   seqs, each once, with its action, split, item, label and tag; no seq that no answer named.
   The journal (JSON lines) has one entry per client key, no key twice, seqs increasing, and
   no work file (`RUN.h5.tmp.PID`, `.new.PID`) of a killed server is left.

The seed (default 1234) and the kill points are printed; rerun with the seed to reproduce.
"""
import http.client
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

import h5py

LOUPE = os.path.abspath(sys.argv[1])
SCRATCH = sys.argv[2]
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 1234
N_DECISIONS = 1000
N_KILLS = 24          # during the requests
N_START_KILLS = 6     # while the server starts
HERE = os.path.dirname(os.path.abspath(__file__))
QUICKSTART = os.path.join(HERE, "..", "..", "experiments", "quickstart.lua")
root = os.path.abspath(os.path.join(SCRATCH, "review_kill"))
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
from checks import check, failures, synthetic_archive  # noqa: E402 (tests/e2e/checks.py)

rng = random.Random(SEED)
print(f"seed {SEED}", flush=True)
server = None
errlog = open(os.path.join(root, "review.err"), "a")


def finish():
    if server is not None and server.poll() is None:
        server.kill()
        server.wait()
    if failures:
        print(f"{len(failures)} FAILED (seed {SEED})")
        for f in failures[:20]:
            print(f"  FAILED: {f}")
        sys.exit(1)
    print("all ok")
    sys.exit(0)


arch = os.path.join(root, "run.h5")
journal_path = arch + ".journal"
if not synthetic_archive(LOUPE, arch):
    finish()


def spawn():
    return subprocess.Popen([LOUPE, "review", arch, "--port", "0"], stdout=subprocess.PIPE,
                            stderr=errlog, bufsize=0)


def read_url(proc, timeout=60):
    """(port, token) from the line the server prints, or None if it exits first"""
    buf, end = b"", time.monotonic() + timeout
    while b"\n" not in buf:
        left = end - time.monotonic()
        r, _, _ = select.select([proc.stdout], [], [], max(0.0, min(0.2, left)))
        if r:
            b = os.read(proc.stdout.fileno(), 4096)
            if not b:
                return None
            buf += b
        elif left <= 0:
            break
    m = re.search(rb"loupe review: http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]+)", buf)
    return (int(m.group(1)), m.group(2).decode()) if m else None


def h5_opens():
    try:
        with h5py.File(arch, "r") as f:
            g = f.get("annotations")
            return True, 0 if g is None else len(g["seq"])
    except Exception as e:  # noqa: BLE001 (any h5py failure is the finding)
        return False, repr(e)


kill_log = []
restarts = 0


def start():
    """a server that answers: kills some while they start (the planned start kills)"""
    global server, restarts
    while True:
        server = spawn()
        if start_kills and start_kills[0] <= restarts:
            start_kills.pop(0)
            ms = rng.uniform(0, 150)
            time.sleep(ms / 1000)
            printed = read_url(server, timeout=0) is not None
            server.kill()
            server.wait()
            ok, rows = h5_opens()
            kill_log.append(f"start+{ms:.0f}ms ({'after' if printed else 'before'} the URL)")
            check(ok, f"kill {len(kill_log)} at start+{ms:.0f} ms: h5py opens the archive "
                      f"({rows} rows)")
            restarts += 1
            continue
        url = read_url(server)
        if url is None:
            rc = server.wait()
            check(False, f"loupe review started (exit {rc}): see {errlog.name}")
            finish()
        restarts += 1
        return url


# the kill points: request indices (a random delay after each is sent) and start kills
kill_at = sorted(rng.sample(range(5, N_DECISIONS - 5), N_KILLS))
kill_frac = {k: rng.uniform(0, 1.2) for k in kill_at}  # of the recent round trip
start_kills = sorted(rng.sample(range(1, N_KILLS + N_START_KILLS), N_START_KILLS))
print("request kill points (decision index: delay as a fraction of the median round trip):",
      ", ".join(f"{k}:{kill_frac[k]:.2f}" for k in kill_at), flush=True)
print("start kills before restart number:", start_kills, flush=True)

start_kills_planned = list(start_kills)
start_kills = []
PORT, TOKEN = start()
start_kills = start_kills_planned


def connect():
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)


conn = connect()


def get(path):
    conn.request("GET", path, headers={"X-Loupe-Token": TOKEN})
    r = conn.getresponse()
    return r.status, json.loads(r.read())


st, state = get("/api/state")
K = len(state["classes"])
ids = []
for c in range(K):
    ids += [it["id"] for it in get(f"/api/class/{c}")[1]["items"]]
where = {i: (lambda d: (d["split"], d["item"]))(get(f"/api/item/{i}")[1]) for i in ids}
check(len(ids) == 400 and len(set(ids)) == 400, f"{len(ids)} item ids from {K} classes")


def decision(k):
    i = rng.choice(ids)
    a = rng.choice(["keep", "keep", "unsure", "remove", "relabel", "tag"])
    d = {"action": a, "items": [i], "client": f"kill-{SEED}-{k}"}
    if a == "relabel":
        d["label"] = rng.randrange(K)
    if a == "tag":
        d["tag"] = f"t{rng.randrange(4)}"
    return d


def post(d):
    """the answer's JSON, or None when no answer came (the server died)"""
    body = json.dumps(d)
    conn.request("POST", "/api/decision", body=body, headers={
        "X-Loupe-Token": TOKEN, "Origin": f"http://127.0.0.1:{PORT}",
        "Content-Type": "application/json"})
    r = conn.getresponse()
    out = r.read()
    if r.status != 200:
        raise RuntimeError(f"POST {body}: {r.status} {out[:200]!r}")
    return json.loads(out)


acked = {}        # client -> seq
rtts = []         # the last round trips of answered POSTs (s)
dedup = []        # retries the journal already had: (client, seq)
sent = {}         # client -> the decision
retried = {}      # client -> the seq the retry was answered with
lost_then = []    # clients whose answer a kill took
t_start = time.monotonic()
for k in range(N_DECISIONS):
    d = decision(k)
    sent[d["client"]] = d
    timer = None
    if k in kill_frac:
        rtt = sorted(rtts[-32:])[len(rtts[-32:]) // 2] if rtts else 0.001
        delay = kill_frac[k] * rtt
        timer = threading.Timer(delay, server.kill)
        timer.start()
    tries = 0
    while True:
        try:
            if tries:  # what the new server's journal says before the retry
                known = get("/api/state")[1]["seq"]
            t1 = time.monotonic()
            ans = post(d)
            if not tries:
                rtts.append(time.monotonic() - t1)
            break
        except (OSError, http.client.HTTPException) as e:
            # no answer: the server is gone (a kill); start another, send the same again
            tries += 1
            if tries > 3:
                check(False, f"decision {k} ({d['client']}) never answered: {e!r}")
                finish()
            if timer is None:
                check(server.poll() is not None,
                      f"decision {k}: no answer ({e!r}) and no kill was planned")
            if tries == 1:
                lost_then.append(d["client"])
            if timer is not None:
                timer.join()
                timer = None
                kill_log.append(f"request {k} +{delay * 1e3:.2f}ms (answer lost)")
            server.wait()
            ok, rows = h5_opens()
            check(ok, f"after the kill at decision {k}: h5py opens the archive ({rows} rows)")
            conn.close()
            PORT, TOKEN = start()
            conn = connect()
    if tries:
        retried[d["client"]] = ans["seq"]
        before = max(acked.values(), default=0)
        if known > before:  # the killed server had journaled it: the same seq again
            dedup.append((d["client"], ans["seq"]))
            check(ans["seq"] == known == before + 1,
                  f"decision {k}: the journal had it as seq {known}; the retry is answered "
                  f"{ans['seq']}")
        else:
            check(ans["seq"] == known + 1, f"decision {k}: not journaled before the kill "
                                           f"(last seq {known}); the retry gets {ans['seq']}")
    if timer is not None:  # answered before the kill: the kill lands between requests
        timer.join()
        server.wait()
        kill_log.append(f"request {k} +{delay * 1e3:.2f}ms (answered first)")
        ok, rows = h5_opens()
        check(ok, f"after the kill at decision {k}: h5py opens the archive ({rows} rows)")
        conn.close()
        PORT, TOKEN = start()
        conn = connect()
    acked[d["client"]] = ans["seq"]
elapsed = time.monotonic() - t_start
print(f"{N_DECISIONS} decisions in {elapsed:.1f} s, {restarts - 1} restarts", flush=True)
print("kills:", "; ".join(kill_log), flush=True)
check(len(kill_log) >= 20, f"{len(kill_log)} kills ({sum('lost' in x for x in kill_log)} took "
      f"an answer, {sum('start' in x for x in kill_log)} at start)")
check(len(acked) == N_DECISIONS, f"{len(acked)} decisions acknowledged")
seqs = list(acked.values())
check(len(set(seqs)) == len(seqs), f"every acknowledged decision has its own seq "
      f"({len(seqs) - len(set(seqs))} shared)")
print(f"{len(retried)} retried after a lost answer, {len(dedup)} of them already in the "
      f"journal (answered from it): {sorted(retried.items(), key=lambda x: x[1])}", flush=True)

# ---- the state the server replayed ------------------------------------------------------
want = {}
for c, s in sorted(acked.items(), key=lambda x: x[1]):
    d = sent[c]
    w = want.setdefault(d["items"][0], {"status": "none", "label": -1, "tags": set()})
    if d["action"] == "tag":
        w["tags"].add(d["tag"])
    else:
        w["status"], w["label"] = d["action"], d.get("label", -1)
bad = []
for i in ids:
    got = get(f"/api/item/{i}")[1]["decision"]
    w = want.get(i, {"status": "none", "label": -1, "tags": set()})
    if (got["status"], got["label"], set(got["tags"])) != (w["status"], w["label"], w["tags"]):
        bad.append((i, got, w))
check(not bad, f"GET /api/item/ID: every item's decision as the acknowledged ones add up "
               f"({len(bad)} differ: {bad[:3]})")

# ---- SIGTERM, /annotations, the journal ---------------------------------------------------
conn.close()
server.send_signal(signal.SIGTERM)
try:
    rc = server.wait(timeout=60)
except subprocess.TimeoutExpired:
    rc = None
check(rc == 0, f"SIGTERM: loupe review exits {rc}")
with h5py.File(arch, "r") as f:
    g = f["annotations"]
    col = {k: g[k][()] for k in ("seq", "action", "split", "item", "class", "label", "tag")}
dec = lambda v: v.decode() if isinstance(v, bytes) else v  # noqa: E731
rows = {}
for r in range(len(col["seq"])):
    rows.setdefault(int(col["seq"][r]), []).append(
        (dec(col["action"][r]), dec(col["split"][r]), int(col["item"][r]),
         int(col["label"][r]), dec(col["tag"][r])))
check(set(rows) == set(seqs), f"/annotations holds exactly the acknowledged seqs "
      f"({len(rows)} seqs; {len(set(rows) - set(seqs))} never acknowledged, "
      f"{len(set(seqs) - set(rows))} missing)")
wrong = []
for c, s in acked.items():
    d = sent[c]
    split, item = where[d["items"][0]]
    label = d.get("label", -1)
    exp = [(d["action"], split, item, label, d.get("tag", ""))]
    if rows.get(s) != exp:
        wrong.append((c, s, rows.get(s), exp))
check(not wrong, f"each acknowledged decision is in /annotations once, with its action, item, "
                 f"label and tag ({len(wrong)} not: {wrong[:3]})")
lines = open(journal_path, "rb").read().split(b"\n")
check(lines[-1] == b"", "the journal ends with a whole line")
entries = [json.loads(x) for x in lines if x]
keys = [e.get("client") for e in entries]
dup = sorted({k for k in keys if keys.count(k) > 1}) if len(set(keys)) != len(keys) else []
check(not dup and len(keys) == N_DECISIONS,
      f"the journal: {len(keys)} entries, no client key twice ({dup[:5]})")
check(all(entries[i]["seq"] < entries[i + 1]["seq"] for i in range(len(entries) - 1)),
      "the journal's seqs increase")
check({e["client"]: e["seq"] for e in entries} == acked,
      "the journal's client keys and seqs are the answers'")
left = [n for n in os.listdir(root) if re.match(r"run\.h5\.(tmp|new)\.\d+$", n)]
check(not left, f"no work file of a killed server is left ({left})")
finish()
