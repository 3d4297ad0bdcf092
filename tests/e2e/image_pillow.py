#!/usr/bin/python3
"""image_pillow.py IMAGE_DUMP SCRATCH — loupe's decoder against Pillow on files Pillow makes.

Exact equality for PNG (RGB, RGBA, palette with transparency, grey, grey+alpha, 1-bit,
16-bit RGB, interlaced, and a PNG named .jpg); within +-2 per channel for JPEG (baseline,
progressive, greyscale, 4:2:0 and 4:4:4, CMYK). Bad files must give an error naming the file:
truncated JPEG and PNG, zero bytes, text, a GIF (not supported yet), a decompression bomb
(a PNG header claiming 100000 x 100000).
"""
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
from PIL import Image

dump, scratch = sys.argv[1], os.path.join(sys.argv[2], "images")
os.makedirs(scratch, exist_ok=True)
rng = np.random.default_rng(7)


def scene(w, h):
    """Smooth gradients plus a few hard-edged blocks and noise: a photo-like test card."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1),
                    (x + y) * 255 // max(w + h - 2, 1)], -1).astype(np.int32)
    for _ in range(6):
        x0, y0 = rng.integers(0, w - 8), rng.integers(0, h - 8)
        img[y0:y0 + rng.integers(4, 40), x0:x0 + rng.integers(4, 40)] = rng.integers(0, 256, 3)
    img += rng.integers(-6, 7, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


files = {}  # name -> (kind, reference array or None)


def save(name, im, kind, **kw):
    path = os.path.join(scratch, name)
    im.save(path, **kw)
    files[name] = kind


rgb = Image.fromarray(scene(97, 61))
save("rgb.png", rgb, "png", format="PNG")
save("rgba.png", Image.fromarray(np.dstack([scene(64, 48), rng.integers(0, 256, (48, 64), np.uint8)])), "png", format="PNG")
pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=37)
save("palette.png", pal, "png", format="PNG", transparency=3)
save("grey.png", rgb.convert("L"), "png", format="PNG")
save("grey_alpha.png", rgb.convert("LA"), "png", format="PNG")
save("onebit.png", rgb.convert("1"), "png", format="PNG")
save("interlaced.png", rgb, "png", format="PNG", interlace=1)
save("png_named.jpg", rgb, "png", format="PNG")
save("baseline.jpg", rgb, "jpeg", format="JPEG", quality=90)
save("baseline444.jpg", rgb, "jpeg", format="JPEG", quality=95, subsampling=0)
save("progressive.jpg", rgb, "jpeg", format="JPEG", quality=85, progressive=True)
save("grey.jpg", rgb.convert("L"), "jpeg", format="JPEG", quality=90)
save("cmyk.jpg", rgb.convert("CMYK"), "jpeg", format="JPEG", quality=95)

# 16-bit RGB PNG, written by hand (Pillow reads it as 8-bit RGB from the high bytes)
a16 = (scene(33, 17).astype(np.uint16) * 257 + rng.integers(0, 200, (17, 33, 3))).astype(">u2")
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
raw = b"".join(b"\0" + row.tobytes() for row in a16)
png16 = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 33, 17, 16, 2, 0, 0, 0))
         + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
open(os.path.join(scratch, "rgb16.png"), "wb").write(png16)
files["rgb16.png"] = "png"
bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
open(os.path.join(scratch, "bomb.png"), "wb").write(bomb)
files["bomb.png"] = "bad"

good_jpeg = open(os.path.join(scratch, "baseline.jpg"), "rb").read()
open(os.path.join(scratch, "truncated.jpg"), "wb").write(good_jpeg[: len(good_jpeg) // 2])
good_png = open(os.path.join(scratch, "rgb.png"), "rb").read()
open(os.path.join(scratch, "truncated.png"), "wb").write(good_png[: len(good_png) // 2])
open(os.path.join(scratch, "empty.jpg"), "wb").close()
open(os.path.join(scratch, "notes.jpg"), "w").write("not an image\n")
Image.fromarray(scene(16, 16)).save(os.path.join(scratch, "anim.gif"))
for name in ("truncated.jpg", "truncated.png", "empty.jpg", "notes.jpg", "anim.gif"):
    files[name] = "bad"

out = os.path.join(scratch, "out")
os.makedirs(out, exist_ok=True)
subprocess.run([dump, out] + [os.path.join(scratch, n) for n in files], check=True)

bad = 0
for name, kind in files.items():
    path = os.path.join(scratch, name)
    if kind == "bad":
        err = os.path.join(out, name + ".err")
        msg = open(err).read().strip() if os.path.exists(err) else ""
        ok = name in msg and msg.startswith("image:")
        if name == "bomb.png":  # refused from the header, before any pixel memory
            ok = ok and "exceed the limit" in msg
        print(f"{'ok ' if ok else 'BAD'} {name:18s} refused: {msg or 'decoded!'}")
        bad += not ok
        continue
    got_path = os.path.join(out, name + ".rgb")
    if not os.path.exists(got_path):
        print(f"BAD {name:18s} {open(os.path.join(out, name + '.err')).read().strip()}")
        bad += 1
        continue
    blob = open(got_path, "rb").read()
    head, _, pixels = blob.partition(b"\n")
    w, h = map(int, head.split())
    got = np.frombuffer(pixels, np.uint8).reshape(h, w, 3).astype(int)
    want = np.asarray(Image.open(path).convert("RGB")).astype(int)
    diff = int(np.abs(got - want).max()) if got.shape == want.shape else 999
    limit = 0 if kind == "png" else 2
    ok = diff <= limit
    print(f"{'ok ' if ok else 'BAD'} {name:18s} {w}x{h} max |loupe - Pillow| = {diff} (allowed {limit})")
    bad += not ok
print("image_pillow: ok" if not bad else f"image_pillow: {bad} problem(s)")
sys.exit(1 if bad else 0)
