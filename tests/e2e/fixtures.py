"""fixtures.py — test data the e2e tests share."""
import os
import shutil
import subprocess

import numpy as np
from PIL import Image


def indoor67_tree(loupe, dump_lua, root, seed=5):
    """A small MIT Indoor67 layout under root, from `synthetic` images (64x64): 3 classes x (4
    train + 2 test) JPEGs, one PNG named .jpg, one greyscale and one CMYK JPEG, one truncated
    file, and one image per class that no split file lists. Returns (classes, lists, the
    truncated file's name)."""
    shutil.rmtree(root, ignore_errors=True)
    src = root + "_src"
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    p = subprocess.run([loupe, "run", dump_lua, src, "synthetic", "train", "24", "size=64",
                        f"seed={seed}"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("dumping synthetic items: " + p.stderr)
    images = [np.asarray(Image.open(os.path.join(src, f"{i}.ppm"))) for i in range(1, 25)]
    classes = ["bar", "bedroom", "kitchen"]
    special = {("bar", "train", 0): "png", ("bedroom", "train", 0): "grey",
               ("kitchen", "train", 0): "cmyk", ("kitchen", "test", 0): "truncated"}
    lists = {"train": [], "test": []}
    k = 0
    for c in classes:
        os.makedirs(os.path.join(root, "Images", c))
        for split, n in (("train", 4), ("test", 2)):
            for j in range(n):
                rel = f"{c}/{c}_{split}_{j}.jpg"
                path = os.path.join(root, "Images", rel)
                im = Image.fromarray(images[k])
                k += 1
                kind = special.get((c, split, j), "jpeg")
                if kind == "png":
                    im.save(path, format="PNG")
                elif kind == "grey":
                    im.convert("L").save(path, format="JPEG", quality=90)
                elif kind == "cmyk":
                    im.convert("CMYK").save(path, format="JPEG", quality=90)
                else:
                    im.save(path, format="JPEG", quality=90)
                if kind == "truncated":
                    data = open(path, "rb").read()
                    open(path, "wb").write(data[: len(data) // 2])
                lists[split].append(rel)
        # an image in the class directory that no split file lists: not an item
        Image.fromarray(images[k]).save(os.path.join(root, "Images", c, "unlisted.jpg"))
    for split, name in (("train", "TrainImages.txt"), ("test", "TestImages.txt")):
        with open(os.path.join(root, name), "w") as f:
            f.write("\r\n".join(lists[split]) + "\r\n")  # the official files end lines with CRLF
    return classes, lists, "kitchen/kitchen_test_0.jpg"
