-- crash_run.lua ARCHIVE CKPT_DIR [resume] — a run for tests/e2e/crash_check.py to kill: small
-- synthetic data, a narrow alexnet_mini, an epoch every few tenths of a second, each one
-- committed to ARCHIVE with the test split's predictions, a checkpoint per epoch.
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"
local archive, dir, resume = arg[1], arg[2], arg[3] == "resume"
loupe.seed(3)
local ds = loupe.dataset("synthetic", { train = 32, test = 16, seed = 2 })
local net = mini { classes = #ds.classes, width = 0.125, dropout = 0 }
local run <close> = loupe.archive(archive, { script = arg[0] })
ds:write(run)
loupe.train(net, ds:split("train"), {
  epochs = 100000, batch = 16, lr = 0.01, archive = run, threads = 1, test = ds:split("test"),
  resume = resume and dir or nil, checkpoint = { dir = dir, keep = 2 } })
