#!/usr/bin/python3
"""idx_check.py IDX_DUMP SCRATCH — loupe's IDX reader against Python's gzip + struct on Debian's
Fashion-MNIST (60000/10000 items, 28x28; every byte compared through sha256, the first image
printed), the same files uncompressed, and broken copies: wrong magic, float element type,
truncated data, bytes left over, an empty file — each must be an error naming the file."""
import gzip
import hashlib
import os
import struct
import subprocess
import sys

dump, scratch = sys.argv[1], os.path.join(sys.argv[2], "idx")
root = "/usr/share/datasets/fashion-mnist"
os.makedirs(scratch, exist_ok=True)


def parse(raw):
    rank = raw[3]
    dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
    return list(dims), raw[4 + 4 * rank:]


expect = {}
for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte"):
    raw = gzip.open(os.path.join(root, name + ".gz")).read()
    dims, data = parse(raw)
    expect[os.path.join(root, name + ".gz")] = (dims, data)
    plain = os.path.join(scratch, name)  # the same file uncompressed
    open(plain, "wb").write(raw)
    expect[plain] = (dims, data)
assert expect[os.path.join(root, "train-images-idx3-ubyte.gz")][0] == [60000, 28, 28]
assert expect[os.path.join(root, "t10k-labels-idx1-ubyte.gz")][0] == [10000]

labels = open(os.path.join(scratch, "t10k-labels-idx1-ubyte"), "rb").read()
bad = {
    "wrong_magic": b"\x01\x02" + labels[2:],
    "float_type": labels[:2] + b"\x0d" + labels[3:],
    "truncated": labels[:-5],
    "left_over": labels + b"\x00\x01",
    "empty": b"",
}
for name, data in bad.items():
    open(os.path.join(scratch, name), "wb").write(data)

out = subprocess.run([dump] + list(expect) + [os.path.join(scratch, n) for n in bad],
                     check=True, capture_output=True, text=True).stdout.splitlines()
got = dict(line.split(": ", 1) for line in out)
problems = 0
for path, (dims, data) in expect.items():
    want = " ".join(map(str, dims)) + " " + hashlib.sha256(data).hexdigest() + " " + data[:16].hex()
    ok = got.get(path) == want
    print(f"{'ok ' if ok else 'BAD'} {os.path.basename(path):28s} {got.get(path)}")
    problems += not ok
reasons = {"wrong_magic": "wrong magic", "float_type": "element type 0x0d",
           "truncated": "promise", "left_over": "left over", "empty": "shorter than"}
for name, why in reasons.items():
    path = os.path.join(scratch, name)
    msg = got.get(path, "")
    ok = msg.startswith("error: idx:") and path in msg and why in msg
    print(f"{'ok ' if ok else 'BAD'} {name:28s} {msg}")
    problems += not ok
first = expect[os.path.join(root, "train-images-idx3-ubyte.gz")][1][:784]
print("first training image (28x28, as loupe must read it), mean pixel", sum(first) / 784)
print("idx_check: ok" if not problems else f"idx_check: {problems} problem(s)")
sys.exit(1 if problems else 0)
