-- random_labels.lua — Zhang et al. 2017, "Understanding deep learning requires rethinking
-- generalization": the same network, trained the same way, on (1) the true labels, (2) the
-- labels randomly permuted across the training items, and (3) random pixels (every image
-- replaced by fixed Gaussian noise) with the true labels.
--
-- What it shows: a network this size memorises anything — the random-label and random-pixel
-- runs reach (near) perfect training accuracy — while test accuracy separates what was learned
-- from what was memorised: high for true labels, chance (1 / classes) for the others. It is the
-- same mechanism that lets a CNN absorb a dataset's wrong labels without complaint.
-- Every epoch's train and test accuracy of each run goes to /random_labels/<run>/ in the
-- archive (axis epoch), and a summary to stdout.
--
-- Time here: about 4 minutes for the 3 runs on this 2-core machine (synthetic, 10 classes, 128
-- training and 200 test items at 32x32, 60 epochs each, about 75 s a run).
--
-- Measured here (2026-11-28), defaults: true labels train 0.984 / test 0.890; random labels
-- train 1.000 / test 0.095; random pixels train 1.000 / test 0.115 (chance 0.100).
-- The random-pixel run has its own learning rate: at 0.02 Gaussian noise images made the loss
-- nan within the first epoch, and at 0.005-0.01 it fit and then collapsed; at 0.003 it fits
-- by epoch 40.
--
-- Usage: loupe run experiments/random_labels.lua [ARCHIVE] [key=value ...]
--   ARCHIVE   default runs/random_labels.h5
--   seed=1 train=128 test=200 epochs=60 width=0.25 batch=16 lr=0.02 threads=2
--   pixels_lr=0.003 (the random-pixel run's learning rate)
--   runs=true,random,pixels (which runs, comma-separated)
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"

local o, out = require "loupe.args"(arg, "random_labels", "runs/random_labels.h5", {
  seed = 1, train = 128, test = 200, epochs = 60, width = 0.25, batch = 16, lr = 0.02,
  pixels_lr = 0.003, threads = 2, runs = "true,random,pixels" })

loupe.seed(o.seed)
local dir = out:match("^(.*)/[^/]*$")
if dir then loupe.mkdir(dir) end
local run <close> = loupe.archive(out, { script = arg[0] })
-- clean data: no planted defects, so "true labels" are true
local ds = loupe.dataset("synthetic", { seed = o.seed, train = o.train, test = o.test,
                                         flip_rate = 0, merge = false, dark_class = -1,
                                         signature_class = -1, scale_class = -1,
                                         blend_rate = 0, dup_rate = 0 })
local train, test = ds:split("train"), ds:split("test")
ds:write(run)

-- the random labels: each true class's items are dealt over all classes in a shuffled round,
-- so every random label holds an even mix of true classes (iid labels would leave a small
-- sample's chance imbalances for the network to learn and carry over to the test set)
local labels = train:labels()
local K, rng = #ds.classes, o.seed * 7919 + 17
local function rand(m) rng = (rng * 1103515245 + 12345) % 2147483648; return rng % m + 1 end
local permuted, by_class = {}, {}
for i, l in ipairs(labels) do
  by_class[l] = by_class[l] or {}
  table.insert(by_class[l], i)
end
for c = 0, K - 1 do
  local round = {}
  for i, item in ipairs(by_class[c] or {}) do
    if (i - 1) % K == 0 then -- a new shuffled round of all classes
      for k = 1, K do round[k] = k - 1 end
      for k = K, 2, -1 do local j = rand(k); round[k], round[j] = round[j], round[k] end
    end
    permuted[item] = round[(i - 1) % K + 1]
  end
end
local agree = 0
for i = 1, #labels do if labels[i] == permuted[i] then agree = agree + 1 end end

local chance = 1 / #ds.classes
local results = {}
for name in o.runs:gmatch("[^,]+") do
  local extra = ({ ["true"] = {}, random = { labels = permuted },
                   pixels = { random_pixels = true } })[name]
  if not extra then error(("random_labels: unknown run '%s' (true, random, pixels)"):format(name), 0) end
  loupe.seed(o.seed) -- the same initial weights for every run
  local net = mini { classes = #ds.classes, width = o.width, dropout = 0 }
  local lr = name == "pixels" and o.pixels_lr or o.lr
  local opts = { epochs = o.epochs, batch = o.batch, lr = lr, momentum = 0.9, weight_decay = 0,
                 schedule = "cosine",
                 augment = { mean = 0.5, std = 0.25 }, test = test, seed = o.seed,
                 threads = o.threads, name = name }
  for k, v in pairs(extra) do opts[k] = v end
  local t0 = loupe.now()
  local hist = loupe.train(net, train, opts)
  -- accuracy on the training set as trained (its own labels), in inference mode
  local ptrain = loupe.predict(net, train, { labels = extra.labels,
                                             random_pixels = extra.random_pixels,
                                             seed = o.seed })
  local cols = { epoch = {}, train_acc = {}, train_loss = {}, test_acc = {}, test_loss = {} }
  for i, row in ipairs(hist) do
    for c, list in pairs(cols) do list[i] = row[c] end
  end
  for c, list in pairs(cols) do
    run:write(("/random_labels/%s/%s"):format(name, c), list,
              { axes = { "epoch" }, dtype = c == "epoch" and "int32" or "float32" })
  end
  local last = hist[#hist]
  run:attr("/random_labels/" .. name, "final_train_acc", ptrain.top1)
  run:attr("/random_labels/" .. name, "final_test_acc", last.test_acc)
  run:attr("/random_labels/" .. name, "seconds", loupe.now() - t0)
  run:attr("/random_labels/" .. name, "lr", lr)
  results[#results + 1] = ("%-7s train accuracy %.3f, test accuracy %.3f (chance %.3f), %.0f s")
    :format(name, ptrain.top1, last.test_acc, chance, loupe.now() - t0)
  ptrain:free()
end
run:attr("/random_labels", "chance", chance)
run:attr("/random_labels", "permuted_labels_agreeing", agree)
print(("random_labels: %d train / %d test items, %d epochs per run; %d of %d permuted labels " ..
       "happen to equal the true one"):format(#train, #test, o.epochs, agree, #labels))
for _, line in ipairs(results) do print("  " .. line) end
print("archive: " .. out)
