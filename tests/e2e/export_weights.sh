#!/bin/sh
# export_weights.sh LOUPE SCRATCH — scripts/export_torch_weights.py as a user runs it: export a
# seeded torchvision AlexNet, load it into loupe's (every shape checked), read one weight back
# out through loupe, and compare it with PyTorch's own tensor.
set -e
loupe=$1 scratch=$2
here=$(dirname "$0")
/usr/bin/python3 "$here/../../scripts/export_torch_weights.py" "$scratch/export.h5" --classes 10 --seed 3
cat > "$scratch/export.lua" <<'LUA'
local loupe = require "loupe"
local net = require "loupe.models.alexnet" { classes = 10 }
net:load(arg[1], { momentum = false })
local run <close> = loupe.archive(arg[2])
run:write("/fc8", net:param("fc8.weight"))
run:write("/conv1", net:param("conv1.weight"))
-- the same file into a net with another class count: an error naming the dataset and shapes
local wrong = require "loupe.models.alexnet" { classes = 67 }
local ok, err = pcall(wrong.load, wrong, arg[1], { momentum = false })
assert(not ok and err:find("/weights/fc8/weight", 1, true) and err:find("[10,4096]", 1, true)
       and err:find("[67,4096]", 1, true), tostring(err))
LUA
"$loupe" run "$scratch/export.lua" "$scratch/export.h5" "$scratch/export_back.h5"
/usr/bin/python3 - "$scratch/export_back.h5" <<'PY'
import sys, h5py, numpy as np, torch, torchvision
torch.manual_seed(3)
m = torchvision.models.alexnet(num_classes=10)
with h5py.File(sys.argv[1]) as f:
    assert np.array_equal(f["fc8"][()], m.classifier[6].weight.detach().numpy()), "fc8 differs"
    assert np.array_equal(f["conv1"][()], m.features[0].weight.detach().numpy()), "conv1 differs"
print("export_weights: ok")
PY
