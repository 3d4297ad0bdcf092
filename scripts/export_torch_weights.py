#!/usr/bin/python3
"""export_torch_weights.py — write a PyTorch AlexNet's parameters into loupe's weight layout.

    /usr/bin/python3 scripts/export_torch_weights.py OUT.h5 [--state-dict FILE.pth]
        [--variant torchvision] [--classes N] [--seed S]

OUT.h5 gets /weights/<layer>/<weight> (float32, axes named) for every parameter, which
`net:load(OUT.h5, { momentum = false })` reads into a loupe AlexNet of the same variant (for
example ImageNet weights to fine-tune from). Without --state-dict, the model is
torchvision.models.alexnet with PyTorch's own random initialisation under --seed (what the
tests use). A state_dict whose classifier has another class count loads with --classes N.
Needs Debian's python3-torch, python3-torchvision and python3-h5py.
"""
import argparse
import sys

import h5py
import numpy as np

# torchvision.models.alexnet's module indices -> loupe's layer names
TORCHVISION = {
    "features.0": "conv1", "features.3": "conv2", "features.6": "conv3",
    "features.8": "conv4", "features.10": "conv5",
    "classifier.1": "fc6", "classifier.4": "fc7", "classifier.6": "fc8",
}
AXES = {4: ["out", "in", "kh", "kw"], 2: ["out", "in"], 1: ["out"]}


def write_weights(path, named_tensors, names=TORCHVISION):
    """named_tensors: iterable of (torch name like 'features.0.weight', array)."""
    with h5py.File(path, "w") as f:
        f.attrs["format_version"] = np.int64(1)
        f.attrs["command"] = " ".join(sys.argv)
        for key, value in named_tensors:
            module, _, kind = key.rpartition(".")
            if module not in names:
                raise SystemExit(f"export_torch_weights: no loupe layer for '{key}'")
            arr = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
            dset = f.create_dataset(f"/weights/{names[module]}/{kind}", data=arr)
            for i, label in enumerate(AXES.get(arr.ndim, [])):
                dset.dims[i].label = label
            dset.attrs["axes"] = ",".join(AXES.get(arr.ndim, []))
            dset.attrs["torch_name"] = key


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="HDF5 file to write")
    ap.add_argument("--state-dict", help="a torch.save'd state_dict of torchvision's AlexNet")
    ap.add_argument("--variant", default="torchvision", choices=["torchvision"])
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import torch
    import torchvision

    torch.manual_seed(args.seed)
    model = torchvision.models.alexnet(num_classes=args.classes)
    if args.state_dict:
        try:
            state = torch.load(args.state_dict, map_location="cpu")
            model.load_state_dict(state)
        except (OSError, RuntimeError) as err:
            raise SystemExit(f"export_torch_weights: {args.state_dict}: {err}")
    write_weights(args.out, ((k, v.detach().numpy()) for k, v in model.state_dict().items()))
    print(f"export_torch_weights: wrote {len(model.state_dict())} tensors to {args.out}")


if __name__ == "__main__":
    main()
