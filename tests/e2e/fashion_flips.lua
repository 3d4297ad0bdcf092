-- fashion_flips.lua — the run of tests/e2e/fashion_flips.py (issue 11, "on real images"): the
-- first `limit` Fashion-MNIST training images, 10 % of their labels flipped here (a seeded
-- choice of exactly round(rate · n) items, each given a uniformly drawn other class) and passed
-- as the `labels` option; out-of-sample probabilities of every item by k-fold cross-validation
-- (loupe.crossval_predict: alexnet_mini trained on the flipped labels) and the label_issues
-- analysis on them. What was flipped goes to /flips (flipped, true_label, given_label) for the
-- check; the probabilities and the labels they were scored against to
-- /predictions/train_crossval, the analysis to /analyses/label_issues.
--
-- Usage: loupe run tests/e2e/fashion_flips.lua ARCHIVE [key=value ...]
--   seed=1 limit=6000 epochs=8 width=0.125 folds=2 batch=32 lr=0.01 rate=0.1 threads=2
--   root=/usr/share/datasets/fashion-mnist
--
-- Time here: about 155 s for the defaults on this 2-core machine with nothing else running
-- (2 × 3000 items × 8 epochs of training at width 0.125, then 6000 predictions; 2026-12-03).
-- Measured (seed 1 / 2 / 3): out-of-sample accuracy 0.815 / 0.814 / 0.821 on the true labels,
-- AUROC of score for the flips 0.984 / 0.985 / 0.986, F1 of the label_issue findings 0.853 /
-- 0.845 / 0.850. Width 0.25 is slower for nothing here: 6 epochs gave 0.800, 0.982, 0.829.
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"

local o, out = require "loupe.args"(arg, "fashion_flips", "fashion_flips.h5", {
  seed = 1, limit = 6000, epochs = 8, width = 0.125, folds = 2, batch = 32, lr = 0.01,
  rate = 0.1, threads = 2, root = "/usr/share/datasets/fashion-mnist" })

loupe.seed(o.seed)
local run <close> = loupe.archive(out, { script = arg[0] })
local ds = loupe.dataset("fashion_mnist", { root = o.root, limit = o.limit })
local train = ds:split("train")
ds:write(run) -- /dataset: classes and the split's own (unflipped) labels

-- the flips: a partial Fisher-Yates over the items, each chosen one moved to another class
math.randomseed(o.seed)
local true_label = train:labels()
local n, k = #true_label, #ds.classes
local nflip = math.floor(o.rate * n + 0.5)
local order = {}
for i = 1, n do order[i] = i end
for i = 1, nflip do
  local j = math.random(i, n)
  order[i], order[j] = order[j], order[i]
end
local given, flipped = {}, {}
for i = 1, n do given[i], flipped[i] = true_label[i], 0 end
for i = 1, nflip do
  local it = order[i]
  given[it] = (true_label[it] + math.random(1, k - 1)) % k
  flipped[it] = 1
end
run:write("/flips/flipped", flipped, { axes = { "item" }, dtype = "uint8" })
run:write("/flips/true_label", true_label, { axes = { "item" }, dtype = "int32" })
run:write("/flips/given_label", given, { axes = { "item" }, dtype = "int32" })
run:attr("/flips", "rate", o.rate)
run:attr("/flips", "seed", o.seed)
run:commit()

local pixels = { resize = 32, mean = 0.286, std = 0.353 }
local t0 = loupe.now()
local cv = loupe.crossval_predict(function()
  return mini { classes = k, width = o.width, channels = 1, dropout = 0 }
end, train, {
  folds = o.folds, epochs = o.epochs, batch = o.batch, lr = o.lr, momentum = 0.9,
  weight_decay = 5e-4, schedule = "cosine", labels = given,
  augment = { resize = 32, mean = 0.286, std = 0.353, flip = true }, eval = pixels,
  seed = o.seed, threads = o.threads, archive = run, quiet = true })
local seconds = loupe.now() - t0
local right = 0
for i = 1, cv.n do
  if cv:top(i)[1] == true_label[cv:item(i)] then right = right + 1 end
end
print(("fashion_flips: %d items, %d flipped; %d-fold crossval, %d epochs, width %g: %.0f s; " ..
       "out-of-sample accuracy %.4f on the given labels, %.4f on the true ones")
      :format(n, nflip, o.folds, o.epochs, o.width, seconds, cv.top1, right / cv.n))
cv:free()
local t1 = loupe.now()
loupe.analyze(run, { "label_issues" })
print(("label_issues: %.1f s, %s wrong labels estimated"):format(loupe.now() - t1,
      run:get_attr("/analyses/label_issues/train", "estimated_issues")))
