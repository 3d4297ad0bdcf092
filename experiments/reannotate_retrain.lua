-- reannotate_retrain.lua — retraining from a review's decisions (docs/REVIEW.md, "Retraining
-- from the decisions"): what relabelling, removing and merging did to the model.
--
-- What it does: alexnet_mini on the synthetic dataset with the quick start's settings, trained
-- on the labels as given ("before"); then ds:with_annotations(SRC) applies the decisions folded
-- into SRC's /annotations (relabel, remove, merge; also-shown items kept or, with
-- also=exclude, left out of training), and the same net is trained again from the same seed
-- for as many epochs ("after"). Both are scored on the test split on the merged label set:
-- the test labels after the decisions, each prediction mapped through the merges too (a
-- before model that says "merged-away class" says the class it was merged into). ARCHIVE is
-- the after run (its /dataset records annotations_hash and annotations_source, /metrics and
-- /predictions are the after model's); the before model's test predictions and curves go to
-- /compare/annotations/before, and the comparison to /compare/annotations (docs/ARCHIVE.md):
-- accuracy before and after, per class, the confusion pairs that moved, the merged classes,
-- what changed. Then the confusion analysis and the report (a "Before and after the
-- annotations" section); `loupe compare SRC ARCHIVE` shows it too.
--
-- Time here: about 100 s on this 2-core machine with lavapipe at the defaults (two trainings
-- of 1500 items x 5 epochs at about 170 images/s, 400 + 400 test predictions).
--
-- Usage: loupe run experiments/reannotate_retrain.lua [ARCHIVE] annotations=SRC.h5 [key=value ...]
--   ARCHIVE      default runs/reannotate_retrain.h5; the report next to it (.html)
--   annotations  a run archive with /annotations (`loupe review --fold SRC.h5`); required
--   also=keep    or exclude: keep the items marked as showing another class out of training
--   seed=1 epochs=5 train=1500 test=400 width=0.25 batch=32 lr=0.01 threads=2 classes=10
--   flip_rate=0.1
--   (the quick start's: give the values the source run was made with)
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"

local o, out = require "loupe.args"(arg, "reannotate_retrain", "runs/reannotate_retrain.h5", {
  annotations = "", also = "keep", seed = 1, epochs = 5, train = 1500, test = 400,
  width = 0.25, batch = 32, lr = 0.01, threads = 2, classes = 10, flip_rate = 0.1 })
if o.annotations == "" then
  error("reannotate_retrain: annotations=SRC.h5 (a run archive with /annotations) is required", 0)
end

loupe.seed(o.seed)
local dir = out:match("^(.*)/[^/]*$")
if dir then loupe.mkdir(dir) end
local run <close> = loupe.archive(out, { script = arg[0] })
local ds = loupe.dataset("synthetic", { seed = o.seed, train = o.train, test = o.test,
                                       classes = o.classes, flip_rate = o.flip_rate })
local train, test = ds:split("train"), ds:split("test")
local K = #ds.classes

local augment = { crop = "random", resize = 36, flip = true, mean = 0.5, std = 0.25 }
local function fit(name, archive)
  loupe.seed(o.seed) -- the same initial weights, order and augmentation both times
  local net = mini { classes = K, width = o.width, dropout = 0 }
  local history = loupe.train(net, train, {
    epochs = o.epochs, batch = o.batch, lr = o.lr, momentum = 0.9, weight_decay = 5e-4,
    schedule = "cosine", augment = augment, eval = { resize = 36, mean = 0.5, std = 0.25 },
    test = test, archive = archive, seed = o.seed, threads = o.threads, name = name })
  return net, history
end

local t0 = loupe.now()
local net0, hist0 = fit("before")
local before = loupe.predict(net0, test, { threads = o.threads })

local changes = ds:with_annotations(o.annotations, { also = o.also })
ds:write(run) -- /dataset, with annotations_hash and annotations_source
local net1 = fit("after", run)
run:write_strings("/model/summary", { net1:summary() }, { axis = "text" })
run:attr("/model", "name", "alexnet_mini")
run:attr("/model", "width", o.width)
local after = loupe.predict(net1, test, { archive = run, threads = o.threads })
local seconds = loupe.now() - t0

-- both models on the same items (those the decisions left in test) and the labels in effect
local into = {}
for c = 0, K - 1 do into[c] = c end
for _, m in ipairs(changes.merged) do into[m.from] = m.into end
local labels, kept = test:labels(), test:items()
local function top1(p)
  local by = {}
  for i = 1, p.n do by[p:item(i)] = into[p:top(i)[1]] end
  return by
end
local got = { top1(before), top1(after) }
local support, right, conf = {}, { {}, {} }, { {}, {} }
for c = 0, K - 1 do support[c], right[1][c], right[2][c] = 0, 0, 0 end
for _, it in ipairs(kept) do
  local want = labels[it]
  support[want] = support[want] + 1
  for k = 1, 2 do
    local g = got[k][it]
    if g == want then
      right[k][want] = right[k][want] + 1
    else
      local key = want * K + g
      conf[k][key] = (conf[k][key] or 0) + 1
    end
  end
end
local total = { 0, 0 }
for c = 0, K - 1 do total[1], total[2] = total[1] + right[1][c], total[2] + right[2][c] end
local acc = { total[1] / #kept, total[2] / #kept }
local moved = {}
local keys = {}
for k = 1, 2 do for key in pairs(conf[k]) do keys[key] = true end end
for key in pairs(keys) do
  local b, a = conf[1][key] or 0, conf[2][key] or 0
  if a ~= b then moved[#moved + 1] = { label = key // K, pred = key % K, b = b, a = a } end
end
table.sort(moved, function(x, y)
  local dx, dy = math.abs(x.a - x.b), math.abs(y.a - y.b)
  if dx ~= dy then return dx > dy end
  return x.label * K + x.pred < y.label * K + y.pred
end)

-- /compare/annotations (docs/ARCHIVE.md)
local G = "/compare/annotations"
local function col(name, list, dtype, axis)
  run:write(G .. "/" .. name, list, { dtype = dtype, axes = { axis } })
end
local cls, cb, ca = {}, {}, {}
for c = 0, K - 1 do
  cls[c + 1] = support[c]
  cb[c + 1] = support[c] > 0 and right[1][c] / support[c] or 0 / 0
  ca[c + 1] = support[c] > 0 and right[2][c] / support[c] or 0 / 0
end
col("support", cls, "int64", "class")
col("class_accuracy_before", cb, "float32", "class")
col("class_accuracy_after", ca, "float32", "class")
local mf, mi, mtext = {}, {}, {}
for i, m in ipairs(changes.merged) do
  mf[i], mi[i] = m.from, m.into
  mtext[i] = ("%d>%d"):format(m.from, m.into)
end
col("merged_from", mf, "int32", "merge")
col("merged_into", mi, "int32", "merge")
local pl, pp, pb, pa = {}, {}, {}, {}
for i, m in ipairs(moved) do pl[i], pp[i], pb[i], pa[i] = m.label, m.pred, m.b, m.a end
col("pairs/label", pl, "int32", "pair")
col("pairs/predicted", pp, "int32", "pair")
col("pairs/before", pb, "int64", "pair")
col("pairs/after", pa, "int64", "pair")
local e, ta = {}, {}
for i, row in ipairs(hist0) do e[i], ta[i] = row.epoch, row.test_acc end
run:write(G .. "/before/metrics/epoch", e, { dtype = "int32", axes = { "epoch" } })
run:write(G .. "/before/metrics/test_acc", ta, { dtype = "float32", axes = { "epoch" } })
before:write(run, G .. "/before/predictions/test")
local attrs = {
  source = changes.source, hash = changes.hash, split = "test", items = #kept,
  accuracy_before = acc[1], accuracy_after = acc[2], relabelled = changes.relabelled,
  removed = changes.removed, excluded = changes.excluded, also = o.also,
  merged = table.concat(mtext, ", "), seed = o.seed, epochs = o.epochs }
for k, v in pairs(attrs) do run:attr(G, k, v) end
run:commit()
loupe.analyze(run, { "confusion" })
local report = loupe.report(run)

local names = ds.classes
print(("reannotate_retrain: alexnet_mini (width %g) on synthetic (%d classes, %d train / %d " ..
       "test), %d epochs twice, %.0f s"):format(o.width, K, #train, #test, o.epochs, seconds))
print(("annotations: %s (hash %s): %d relabelled, %d removed, %d excluded, merged: %s")
      :format(changes.source, changes.hash:sub(1, 12), changes.relabelled, changes.removed,
              changes.excluded, #mtext > 0 and table.concat(mtext, ", ") or "none"))
print(("test accuracy on the merged label set (%d items): before %.4f, after %.4f (%+.1f points)")
      :format(#kept, acc[1], acc[2], 100 * (acc[2] - acc[1])))
print("by class (before -> after):")
for c = 0, K - 1 do
  if support[c] > 0 then
    print(("  %-34s %3d  %.2f -> %.2f"):format(names[c + 1], support[c], cb[c + 1], ca[c + 1]))
  end
end
if #moved > 0 then print("confusions that moved (label -> predicted: before -> after):") end
for i = 1, math.min(5, #moved) do
  local m = moved[i]
  print(("  %-24s -> %-24s %3d -> %3d"):format(names[m.label + 1], names[m.pred + 1], m.b, m.a))
end
print(("archive: %s (%s)   report: %s"):format(out, G, report))
before:free()
after:free()
