-- train_options.lua — bad options to loupe.train / predict / crossval_predict are errors that
-- name the option; nothing trains with a typo. Also k-fold out-of-sample predictions: every
-- item gets exactly one row, from the model of the fold that did not train on it.
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"
local out = arg[1] or "."
loupe.seed(2)
local ds = loupe.dataset("synthetic", { train = 60, test = 20, classes = 6, seed = 3 })
local other = loupe.dataset("synthetic", { train = 12, test = 12, classes = 6, seed = 9 })
local train, test = ds:split("train"), ds:split("test")
local net = mini { classes = 6, width = 0.125, dropout = 0 }

local function fails(what, want, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, what .. ": no error")
  err = tostring(err)
  assert(err:find(want, 1, true), ("%s: the message %q does not name %q"):format(what, err, want))
  print(("ok: %s -> %s"):format(what, err))
end

fails("unknown key", "unknown option 'epoch' (did you mean 'epochs'?)",
      loupe.train, net, train, { epoch = 2 })
fails("negative lr", "option 'lr'", loupe.train, net, train, { lr = -0.1 })
fails("zero epochs", "option 'epochs'", loupe.train, net, train, { epochs = 0 })
fails("momentum 1.5", "option 'momentum'", loupe.train, net, train, { momentum = 1.5 })
fails("batch larger than the dataset", "batch = 61 is larger than split train",
      loupe.train, net, train, { batch = 61 })
fails("unknown augment key", "augment: unknown option 'flips'", loupe.train, net, train,
      { augment = { flips = true } })
fails("bad crop", "option 'crop' is one of center, random, none, not 'middle'", loupe.train, net, train,
      { augment = { crop = "middle" } })
fails("bad schedule", "option 'schedule'", loupe.train, net, train, { schedule = "linear" })
fails("test set with other classes", "option 'test'", loupe.train, net, train,
      { test = loupe.dataset("synthetic", { train = 12, test = 12, classes = 5 }):split("test") })
fails("net and data disagree", "the net has 6 outputs but train has 10 classes", loupe.train, net,
      loupe.dataset("synthetic", { train = 20, test = 10 }):split("train"), {})
fails("predict: unknown key", "predict: unknown option 'feature'", loupe.predict, net, test,
      { feature = true })
fails("resume from nothing", "holds no checkpoint", loupe.train, net, train,
      { resume = out, epochs = 1 })
fails("crossval: folds", "option 'folds' = 1", loupe.crossval_predict,
      function() return net end, train, { folds = 1 })
fails("a diverging lr", "training diverged; lower option 'lr'", loupe.train,
      mini { classes = 6, width = 0.125, dropout = 0 }, train,
      { epochs = 2, batch = 20, quiet = true, lr = 1e6 })
assert(other) -- same classes (6, seeded names) would be accepted: names differ by seed

-- a schedule function is asked for every step's rate; step and cosine follow their formulas
local calls = 0
local h = loupe.train(net, train, { epochs = 2, batch = 20, quiet = true,
  schedule = function(epoch, t, lr) calls = calls + 1; return lr * 0.5 * epoch end })
assert(calls == 6 and math.abs(h[2].lr - 0.01) < 1e-9, "user schedule: 3 steps x 2 epochs")
fails("a schedule returning nothing", "schedule returned nil", loupe.train, net, train,
      { epochs = 1, batch = 20, quiet = true, schedule = function() end })
h = loupe.train(net, train, { epochs = 3, batch = 20, quiet = true, schedule = "step",
                              step_every = 1, lr = 0.1 })
assert(math.abs(h[3].lr - 0.001) < 1e-9, "step: 0.1 x 0.1^2 in epoch 3")
h = loupe.train(net, train, { epochs = 1, batch = 20, quiet = true, schedule = "cosine", lr = 0.1 })
assert(math.abs(h[1].lr - 0.05 * (1 + math.cos(math.pi * 2 / 3))) < 1e-7, "cosine at t = 2/3")
print("ok: schedules")

-- k-fold: 3 folds over 60 items
local run <close> = loupe.archive(out .. "/crossval.h5", { script = arg[0] })
local built = 0
local p, fold = loupe.crossval_predict(function(f)
  built = built + 1
  assert(f == built, "folds are built in order")
  return mini { classes = 6, width = 0.125, dropout = 0 }
end, train, { folds = 3, epochs = 1, batch = 10, lr = 0.01, archive = run, quiet = true })
assert(built == 3, "one model per fold")
assert(p.n == 60 and p.classes == 6, "one row per item")
local per_fold, per_class = {}, {}
for i = 1, 60 do
  assert(p:item(i) == i, "rows are in item order")
  assert(p:label(i) == train:item(i).label, "the item's own label")
  local s = 0
  for _, v in ipairs(p:probs(i)) do s = s + v end
  assert(math.abs(s - 1) < 1e-4, "probabilities sum to 1")
  local f = fold[i]
  per_fold[f] = (per_fold[f] or 0) + 1
  local key = f .. ":" .. train:item(i).label
  per_class[key] = (per_class[key] or 0) + 1
end
assert(per_fold[1] == 20 and per_fold[2] == 20 and per_fold[3] == 20, "folds of 20")
for c = 0, 5 do -- stratified: a class's items spread over the folds, at most 1 apart
  local lo, hi = math.huge, 0
  for f = 1, 3 do
    local n = per_class[f .. ":" .. c] or 0
    lo, hi = math.min(lo, n), math.max(hi, n)
  end
  assert(hi - lo <= 1, ("class %d: folds hold %d..%d of its items"):format(c, lo, hi))
end
local probs = run:read("/predictions/train_crossval/probs")
assert(probs:shape()[1] == 60 and probs:shape()[2] == 6, "archived [60, 6]")
assert(#run:read("/predictions/train_crossval/fold"):totable() == 60, "folds archived")
print("train_options: ok")
