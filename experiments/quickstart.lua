-- quickstart.lua — the embedded default that `scripts/demo` runs.
--
-- What it shows: the whole loop on data whose defects are known. The `synthetic` dataset draws
-- 10 classes of coloured scenes with planted problems (10% of training labels flipped, two
-- classes drawn from one recipe, a class rendered dark, a class with a texture signature, a
-- class whose objects shrink at test time, blended images, duplicates across splits; the
-- ground truth is in /dataset/*/truth). alexnet_mini learns it on Vulkan for a few epochs;
-- the archive gets the dataset and its image statistics, per-epoch metrics and predictions
-- with penultimate features for train and test; then out-of-sample training probabilities
-- (2-fold cross-validation, /predictions/train_crossval) and the analyses (/analyses:
-- confusion, label_issues, overlap, ambiguous, duplicates), checked in the summary against the
-- planted truth, and the HTML report (loupe.report: ARCHIVE minus .h5 + .html).
--
-- Time here: 98 s on this 2-core machine with lavapipe (1500 + 400 items at 32x32, 5 epochs
-- in 48 s at about 170 images/s, then the 2-fold cross-validation about as long; 2026-12-03).
-- Found in that run: 106 labels flagged, all 106 planted flips (of 126); the planted pair
-- ranked first by overlap.
--
-- Usage: loupe run experiments/quickstart.lua [ARCHIVE] [key=value ...]
--   ARCHIVE   default runs/quickstart.h5; next to it the summary (.txt) and the report (.html)
--   seed=1 epochs=5 train=1500 test=400 width=0.25 batch=32 lr=0.01 threads=2 folds=2
--   classes=10 flip_rate=0.1 (the synthetic dataset's: the fraction of train labels flipped)
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"

local o, out = require "loupe.args"(arg, "quickstart", "runs/quickstart.h5", {
  seed = 1, epochs = 5, train = 1500, test = 400, width = 0.25, batch = 32, lr = 0.01,
  threads = 2, folds = 2, classes = 10, flip_rate = 0.1 })

loupe.seed(o.seed)
local dir = out:match("^(.*)/[^/]*$")
if dir then loupe.mkdir(dir) end
local run <close> = loupe.archive(out, { script = arg[0] })

local ds = loupe.dataset("synthetic", { seed = o.seed, train = o.train, test = o.test,
                                       classes = o.classes, flip_rate = o.flip_rate })
local train, test = ds:split("train"), ds:split("test")
ds:write(run) -- decodes each item once: statistics, fingerprint, ground truth

local net = mini { classes = #ds.classes, width = o.width, dropout = 0 }
run:write_strings("/model/summary", { net:summary() }, { axis = "text" })
run:attr("/model", "name", "alexnet_mini")
run:attr("/model", "width", o.width)

local augment = { crop = "random", resize = 36, flip = true, mean = 0.5, std = 0.25 }
local t0 = loupe.now()
local history = loupe.train(net, train, {
  epochs = o.epochs, batch = o.batch, lr = o.lr, momentum = 0.9, weight_decay = 5e-4,
  schedule = "cosine", augment = augment, eval = { resize = 36, mean = 0.5, std = 0.25 },
  test = test, archive = run, seed = o.seed, threads = o.threads })
local seconds = loupe.now() - t0

local ptest = loupe.predict(net, test, { archive = run, features = true, threads = o.threads })
local ptrain = loupe.predict(net, train, { archive = run, features = true, threads = o.threads })

-- out-of-sample probabilities for every training item: each from a model that did not see it
local cv = loupe.crossval_predict(function()
  return mini { classes = #ds.classes, width = o.width, dropout = 0 }
end, train, {
  folds = o.folds, epochs = o.epochs, batch = math.min(o.batch, #train // o.folds), lr = o.lr,
  momentum = 0.9, weight_decay = 5e-4, schedule = "cosine", augment = augment,
  eval = { resize = 36, mean = 0.5, std = 0.25 }, seed = o.seed, threads = o.threads,
  archive = run, quiet = true })
cv:free()
local analyses = loupe.analyze(run, { "confusion", "label_issues", "overlap", "ambiguous",
                                      "duplicates" })

-- the summary: accuracy, and the pairs of classes the model mixes up most on the test split
local classes = ds.classes
local pairs_, per = {}, {}
for i = 1, ptest.n do
  local want, got = ptest:label(i), ptest:top(i)[1]
  per[want] = per[want] or { n = 0, ok = 0 }
  per[want].n = per[want].n + 1
  if want == got then
    per[want].ok = per[want].ok + 1
  else
    local a, b = math.min(want, got), math.max(want, got)
    local key = a .. "," .. b
    pairs_[key] = (pairs_[key] or 0) + 1
  end
end
local confused = {}
for key, n in pairs(pairs_) do confused[#confused + 1] = { key = key, n = n } end
table.sort(confused, function(x, y) return x.n > y.n or (x.n == y.n and x.key < y.key) end)

local lines = {}
local function say(fmt, ...) lines[#lines + 1] = fmt:format(...) end
local last = history[#history]
say("loupe quickstart: alexnet_mini (width %g) on synthetic (%d classes, %d train / %d test)",
    o.width, #classes, #train, #test)
say("%d epochs in %.0f s; final train accuracy %.3f (on partly wrong labels), test top-1 %.3f, " ..
    "top-5 %.3f", #history, seconds, last.train_acc, ptest.top1, ptest.top5)
say("accuracy by class on test:")
for c = 0, #classes - 1 do
  local r = per[c] or { n = 0, ok = 0 }
  say("  %-34s %3d/%-3d %.2f", classes[c + 1], r.ok, r.n, r.n > 0 and r.ok / r.n or 0)
end
say("most confused pairs (test):")
for i = 1, math.min(3, #confused) do
  local a, b = confused[i].key:match("(%d+),(%d+)")
  say("  %-34s <-> %-34s %d", classes[tonumber(a) + 1], classes[tonumber(b) + 1], confused[i].n)
end
local merge_a = run:get_attr("/dataset/truth", "merge_a")
local merge_b = run:get_attr("/dataset/truth", "merge_b")
if merge_a and tonumber(merge_a) >= 0 then
  say("planted: %s and %s are drawn from one recipe (ground truth: /dataset/truth)",
      classes[tonumber(merge_a) + 1], classes[tonumber(merge_b) + 1])
end
-- what the analyses found, next to what was planted
local flipped = run:read("/dataset/train/truth/flipped"):totable()
local planted = 0
for _, v in ipairs(flipped) do planted = planted + v end
local kinds = run:read("/analyses/label_issues/findings/kind")
local items = run:read("/analyses/label_issues/findings/item"):totable()
local splits = run:read("/analyses/label_issues/findings/split")
local hits, issues = 0, 0
for i, kind in ipairs(kinds) do
  if kind == "label_issue" and splits[i] == "train" then
    issues = issues + 1
    hits = hits + flipped[items[i] + 1]
  end
end
say("label_issues (out-of-sample, %d folds): %d wrong labels estimated, %d flagged, %d of " ..
    "them planted flips (%d planted)", o.folds,
    tonumber(run:get_attr("/analyses/label_issues/train", "estimated_issues")), issues, hits,
    planted)
local a = run:read("/analyses/overlap/train/class_a"):totable()
local b = run:read("/analyses/overlap/train/class_b"):totable()
local merged = run:read("/analyses/overlap/train/accuracy_merged"):totable()
if #a > 0 then
  say("overlap: the pair the model separates least is %s / %s (accuracy as one class %.3f)",
      classes[a[1] + 1], classes[b[1] + 1], merged[1])
end
local copies = run:read("/dataset/test/truth/duplicate_of"):totable()
local leaked = 0
for _, v in ipairs(copies) do leaked = leaked + (v >= 0 and 1 or 0) end
say("duplicates: %d copies found (%d test images planted as copies of training images)",
    analyses.duplicates.findings, leaked)
say("findings: %d confusion, %d label_issues, %d overlap, %d ambiguous, %d duplicates, in " ..
    "/analyses/<name>/findings", analyses.confusion.findings, analyses.label_issues.findings,
    analyses.overlap.findings, analyses.ambiguous.findings, analyses.duplicates.findings)
local summary = out:gsub("%.h5$", "") .. ".txt"
local f = assert(io.open(summary, "w"))
f:write(table.concat(lines, "\n"), "\n")
f:close()
local report = loupe.report(run) -- the same path, .html: open it in a browser
print(table.concat(lines, "\n"))
print(("archive: %s   summary: %s"):format(out, summary))
print(("report: %s (open it in a browser)"):format(report))
print("next: h5dump -H " .. out .. " (or h5py) to look inside; `build/loupe dataset synthetic " ..
      "--scan` for the data; experiments/fashion_mnist.lua for real images")
ptest:free()
ptrain:free()
