-- indoor67_alexnet.lua — the study: AlexNet on MIT Indoor67 (67 indoor scene classes, the
-- official 80/20 split: 5360 training and 1340 test images), as in "Deep Learning in Practice
-- — Be the algorithm". Every result goes to one archive: the dataset with its image
-- statistics and the files that did not decode, per-epoch metrics, test and train predictions
-- with penultimate features for the analyses, and checkpoints to resume from.
--
-- The schedule is the AlexNet paper's (SGD, momentum 0.9, weight decay 5e-4, learning rate
-- 0.01 divided by 10 at fixed points — the paper did it when validation error stalled, three
-- times in ~90 epochs), scaled to this dataset: 30 epochs, divided by 10 every 10. Inputs:
-- short side to 256, a random 224/227 crop (the variant's size), horizontal flips, mild
-- brightness/contrast/saturation jitter; test: the centre crop. `init=weights.h5` starts from
-- exported PyTorch weights (scripts/export_torch_weights.py) with a new last layer; fine-tune
-- with a smaller rate (lr=0.001).
--
-- Time here: lavapipe trains AlexNet at about 2 images/s on this 2-core machine, so the full
-- study (30 x 5360 images) is days of CPU; it is meant for a GPU. On the small fixture tree of
-- the test suite (18 images) an epoch takes seconds.
--
-- Usage: loupe run experiments/indoor67_alexnet.lua [ARCHIVE] [key=value ...]
--   ARCHIVE   default runs/indoor67_alexnet.h5; checkpoints in ARCHIVE minus .h5 + .ckpt/
--   root=data/indoor67 variant=torchvision|krizhevsky2012 epochs=30 batch=128 lr=0.01
--   step_every=10 init=(none) seed=1 threads=2 resume=0 on_bad=skip features=1
local loupe = require "loupe"
local alexnet = require "loupe.models.alexnet"

local o, out = require "loupe.args"(arg, "indoor67_alexnet", "runs/indoor67_alexnet.h5", {
  root = "data/indoor67", variant = "torchvision", epochs = 30, batch = 128, lr = 0.01,
  step_every = 10, init = "", seed = 1, threads = 2, resume = 0, on_bad = "skip",
  features = 1 })

loupe.seed(o.seed)
local dir = out:match("^(.*)/[^/]*$")
if dir then loupe.mkdir(dir) end
local ckpt = out:gsub("%.h5$", "") .. ".ckpt"
local run <close> = loupe.archive(out, { script = arg[0] })
local ds = loupe.dataset("indoor67", { root = o.root, on_bad = o.on_bad })
local train, test = ds:split("train"), ds:split("test")
ds:write(run) -- decodes every image once: statistics, and the bad files (skipped, recorded)

local net = alexnet { variant = o.variant, classes = #ds.classes }
if o.init ~= "" then
  net:load(o.init, { momentum = false, skip = { "fc8" } })
  run:attr("/model", "init", o.init)
end
run:write_strings("/model/summary", { net:summary() }, { axis = "text" })
run:attr("/model", "name", "alexnet")
run:attr("/model", "variant", o.variant)

local size = net:input()[3]
local norm = { mean = { 0.485, 0.456, 0.406 }, std = { 0.229, 0.224, 0.225 } } -- ImageNet's
local batch = math.min(o.batch, #train)
local history = loupe.train(net, train, {
  epochs = o.epochs, batch = batch, lr = o.lr, momentum = 0.9, weight_decay = 5e-4,
  schedule = "step", step_every = o.step_every, step_gamma = 0.1, seed = o.seed,
  augment = { resize = 256, crop = "random", flip = true, brightness = 0.2, contrast = 0.2,
              saturation = 0.2, mean = norm.mean, std = norm.std },
  eval = { resize = 256, crop = "center", mean = norm.mean, std = norm.std },
  test = test, archive = run, threads = o.threads,
  checkpoint = { dir = ckpt, every = 1, keep = 2 }, resume = o.resume ~= 0 and ckpt or nil })
local feats = o.features ~= 0 or nil
local ptest = loupe.predict(net, test, { archive = run, features = feats, threads = o.threads })
local ptrain = loupe.predict(net, train, { archive = run, features = feats, threads = o.threads })
local last = history[#history]
print(("indoor67_alexnet (%s, %dx%d): %d classes, %d train / %d test images, %d skipped"):format(
  o.variant, size, size, #ds.classes, #train, #test, #ds:skipped()))
print(("after %d epochs: train accuracy %.3f, test top-1 %.3f, top-5 %.3f"):format(
  #history, last.train_acc, ptest.top1, ptest.top5))
print(("archive: %s   checkpoints: %s/"):format(out, ckpt))
ptest:free()
ptrain:free()
