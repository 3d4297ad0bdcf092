-- fashion_mnist.lua — real data: Fashion-MNIST (Debian's dataset-fashion-mnist) with
-- alexnet_mini, the 28x28 grey images resized to 32x32, one input channel.
--
-- What it shows: the same loop as the quick start on 60000 real training images, and the
-- figure to beat: d2l.ai's AlexNet reaches about 0.86-0.88 test accuracy at 224x224 in 10
-- epochs; a network of this size at native resolution should do better (target >= 0.90).
--
-- Time here: about 6 minutes an epoch on this 2-core machine with lavapipe when nothing else
-- runs (about 175 training images/s at width 0.25, batch 64), so the default 10 epochs take
-- about an hour. `limit=2000 epochs=2` runs in about a minute (the test suite does that).
--
-- Measured here (2026-11-28), all 60000/10000 items:
--   defaults (flips only, lr 0.006 cosine over 10 epochs): test 0.907 (top-5 0.999), train
--     0.930, 3541 s; test accuracy by epoch 0.848 0.874 0.883 0.890 0.894 0.901 0.901 0.906
--     0.907 0.907 — the default run is this one.
--   epochs=5: test 0.898 (1772 s) — the cosine reaches 0 before the net has fit.
--   jitter=1 (random crops and zoom) with lr 0.003, epochs=5: train 0.895, test 0.891: at
--     this width the extra augmentation only underfits.
--
-- Usage: loupe run experiments/fashion_mnist.lua [ARCHIVE] [key=value ...]
--   ARCHIVE   default runs/fashion_mnist.h5; checkpoints go to ARCHIVE minus .h5 + .ckpt/
--   seed=1 epochs=10 limit=0 (items per split, 0 = all) width=0.25 batch=64 lr=0.006 threads=2
--   root=/usr/share/datasets/fashion-mnist resume=0 (1: continue from the checkpoints)
--   jitter=0 (1: random crops and zoom besides the flips)
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"

local o, out = require "loupe.args"(arg, "fashion_mnist", "runs/fashion_mnist.h5", {
  seed = 1, epochs = 10, limit = 0, width = 0.25, batch = 64, lr = 0.006, threads = 2,
  root = "/usr/share/datasets/fashion-mnist", resume = 0, jitter = 0 })

loupe.seed(o.seed)
local dir = out:match("^(.*)/[^/]*$")
if dir then loupe.mkdir(dir) end
local ckpt = out:gsub("%.h5$", "") .. ".ckpt"
local run <close> = loupe.archive(out, { script = arg[0] })
local ds = loupe.dataset("fashion_mnist", { root = o.root, limit = o.limit })
local net = mini { classes = #ds.classes, width = o.width, channels = 1, dropout = 0 }

-- the dataset's mean and spread of pixel values (0..1): 0.286 and 0.353
local pixels = { resize = 32, mean = 0.286, std = 0.353 }
local t0 = loupe.now()
local history = loupe.train(net, ds:split("train"), {
  epochs = o.epochs, batch = o.batch, lr = o.lr, momentum = 0.9, weight_decay = 5e-4,
  schedule = "cosine", threads = o.threads, seed = o.seed,
  augment = o.jitter ~= 0 and { resize = 32, mean = 0.286, std = 0.353, flip = true,
                                crop = "random", scale = { 0.9, 1.1 } }
                            or { resize = 32, mean = 0.286, std = 0.353, flip = true },
  eval = pixels, test = ds:split("test"), archive = run,
  checkpoint = { dir = ckpt, every = 1, keep = 2 }, resume = o.resume ~= 0 and ckpt or nil })
local p = loupe.predict(net, ds:split("test"), { archive = run, threads = o.threads })
local last = history[#history]
print(("fashion_mnist: %d epochs, %.0f s; train accuracy %.4f, test accuracy %.4f (top-5 %.4f)")
      :format(#history, loupe.now() - t0, last.train_acc, p.top1, p.top5))
print(("archive: %s   checkpoints: %s/"):format(out, ckpt))
p:free()
