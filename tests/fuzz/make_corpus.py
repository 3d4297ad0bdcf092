#!/usr/bin/python3
"""make_corpus.py DIR — write the fuzzers' seed corpus: DIR/image/ (small JPEGs and PNGs of every
kind lp_image_decode reads, and a few it refuses) and DIR/idx/ (IDX files raw and gzip, good and
broken). Generated rather than committed; scripts/fuzz runs it before every fuzz run. JPEGs come
from Pillow; PNGs are written here (Pillow cannot write interlaced or 16-bit RGB PNGs)."""
import gzip
import io
import os
import struct
import sys
import zlib

from PIL import Image

out = sys.argv[1]
os.makedirs(os.path.join(out, "image"), exist_ok=True)
os.makedirs(os.path.join(out, "idx"), exist_ok=True)


def put(kind, name, data):
    with open(os.path.join(out, kind, name), "wb") as f:
        f.write(data)


def card(w, h):
    """A small RGB test card: gradients and one hard-edged block."""
    im = Image.new("RGB", (w, h))
    im.putdata([(x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1),
                 255 if 2 <= x < 5 and 1 <= y < 4 else (x * y * 37) & 255)
                for y in range(h) for x in range(w)])
    return im


def pil(im, **kw):
    b = io.BytesIO()
    im.save(b, **kw)
    return b.getvalue()


# ---- JPEG (Pillow, i.e. libjpeg-turbo) ----
rgb = card(17, 11)
put("image", "baseline.jpg", pil(rgb, format="JPEG", quality=75))
put("image", "baseline444.jpg", pil(rgb, format="JPEG", quality=90, subsampling=0))
put("image", "baseline422.jpg", pil(rgb, format="JPEG", quality=60, subsampling=1))
put("image", "optimized.jpg", pil(rgb, format="JPEG", quality=50, optimize=True))
put("image", "progressive.jpg", pil(rgb, format="JPEG", quality=80, progressive=True))
put("image", "grey.jpg", pil(rgb.convert("L"), format="JPEG", quality=75))
put("image", "grey_progressive.jpg", pil(rgb.convert("L"), format="JPEG", progressive=True))
put("image", "cmyk.jpg", pil(rgb.convert("CMYK"), format="JPEG", quality=90))  # Adobe, inverted
jpeg = pil(card(32, 32), format="JPEG", quality=75)
put("image", "truncated.jpg", jpeg[:-40])  # cut inside the entropy-coded data


# ---- PNG (written here: every colour type, bit depths 1..16, filters, Adam7) ----
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def pack_row(samples, depth):
    """Samples (a flat list) to bytes at `depth` bits each, big-endian, padded to a byte."""
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    bits, n, out_ = 0, 0, bytearray()
    for s in samples:
        bits, n = bits << depth | s, n + depth
        if n == 8:
            out_.append(bits)
            bits, n = 0, 0
    if n:
        out_.append(bits << (8 - n))
    return bytes(out_)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filtered(rows, bpp):
    """Each row with a filter byte; filters cycle 0..4 so libpng undoes all of them."""
    out_, prev = b"", bytes(len(rows[0])) if rows else b""
    for i, row in enumerate(rows):
        f = i % 5
        line = bytearray()
        for x, v in enumerate(row):
            a = row[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            pred = (0, a, b, (a + b) // 2, paeth(a, b, c))[f]
            line.append((v - pred) & 255)
        out_ += bytes([f]) + line
        prev = row
    return out_


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def png(w, h, ctype, depth, pixel, interlace=False, extra=b""):
    """pixel(x, y) -> tuple of samples; extra: chunks between IHDR and IDAT (PLTE, tRNS)."""
    ch = CHANNELS[ctype]
    bpp = max(1, ch * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        xs, ys = range(x0, w, dx), range(y0, h, dy)
        if not xs or not ys:
            continue  # an empty pass has no rows at all
        rows = [pack_row([s for x in xs for s in pixel(x, y)], depth) for y in ys]
        raw += filtered(rows, bpp)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def g(x, y, m):
    return (x * 7 + y * 13) % (m + 1)


put("image", "rgb8.png", png(9, 7, 2, 8, lambda x, y: (g(x, y, 255), x * 20, y * 30)))
put("image", "rgb16.png", png(5, 4, 2, 16, lambda x, y: (g(x, y, 65535), x * 9000, y * 11000)))
put("image", "rgba8.png", png(6, 5, 6, 8, lambda x, y: (x * 40, y * 50, 99, g(x, y, 255))))
put("image", "rgba16.png", png(3, 3, 6, 16, lambda x, y: (x * 20000, y, 7, 65535 - x)))
for depth in (1, 2, 4, 8, 16):
    put("image", f"grey{depth}.png",
        png(11, 3, 0, depth, lambda x, y, d=depth: (g(x, y, (1 << d) - 1),)))
put("image", "grey_alpha8.png", png(4, 4, 4, 8, lambda x, y: (x * 60, y * 60)))
put("image", "grey_alpha16.png", png(4, 2, 4, 16, lambda x, y: (x * 9000, 40000)))
plte = chunk(b"PLTE", bytes(range(48)))  # 16 entries
trns = chunk(b"tRNS", bytes([0, 128, 255]))
for depth in (1, 2, 4, 8):
    put("image", f"palette{depth}.png",
        png(10, 3, 3, depth, lambda x, y, d=depth: (g(x, y, min(15, (1 << d) - 1)),), extra=plte))
put("image", "palette_trns.png", png(8, 8, 3, 4, lambda x, y: (g(x, y, 15),), extra=plte + trns))
put("image", "interlaced_rgb.png",
    png(13, 11, 2, 8, lambda x, y: (g(x, y, 255), x * 19, y * 23), interlace=True))
put("image", "interlaced_palette2.png",
    png(3, 3, 3, 2, lambda x, y: (g(x, y, 3),), interlace=True, extra=plte))  # empty passes
put("image", "interlaced_grey_alpha16.png",
    png(9, 9, 4, 16, lambda x, y: (x * 7000, y * 7000), interlace=True))
good = png(16, 16, 2, 8, lambda x, y: (x * 16, y * 16, 128))
put("image", "truncated.png", good[: len(good) - 30])
# Regression: a chunk before IDAT claiming 2 GB in a 60-byte file once made libpng allocate
# the claim (an oversized chunk is only a warning to it); now refused before libpng runs.
ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
put("image", "huge_chunk.png", b"\x89PNG\r\n\x1a\n" + ihdr + struct.pack(">I", 0x7ffffff0)
    + b"zTXt" + b"k\0\0" + zlib.compress(b"x"))
put("image", "gif.gif", pil(Image.new("P", (2, 2)), format="GIF"))
put("image", "bmp.bmp", pil(Image.new("RGB", (2, 2)), format="BMP"))


# ---- IDX (raw and gzip) ----
def idx(dims, data=None):
    n = 1
    for d in dims:
        n *= d
    data = bytes((i * 31 + 7) & 255 for i in range(n)) if data is None else data
    return b"\0\0\x08" + bytes([len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def gz(b):
    return gzip.compress(b, mtime=0)


labels, images = idx([10]), idx([3, 4, 5])
put("idx", "labels", labels)
put("idx", "images", images)
put("idx", "rank4", idx([2, 1, 3, 2]))
put("idx", "empty_dim", idx([0, 28, 28]))
put("idx", "labels.gz", gz(labels))
put("idx", "images.gz", gz(images))
put("idx", "members.gz", gz(images[:9]) + gz(images[9:40]) + gz(images[40:]))
put("idx", "trailing.gz", gz(labels) + b"\0\0\0\0")
put("idx", "truncated", images[:-7])
put("idx", "truncated.gz", gz(images)[:-12])
put("idx", "left_over", labels + b"\1")
put("idx", "float_type", b"\0\0\x0d\x01" + struct.pack(">I", 2) + bytes(8))
