-- resume_run.lua EPOCHS CKPT_DIR ARCHIVE [resume] [every_steps=N] [stop_after=N] — a small run for
-- tests/e2e/resume_check.py: synthetic data, a narrow alexnet_mini with dropout (so the
-- dropout masks' step counter matters too), checkpoints into CKPT_DIR.
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"
local epochs, dir, archive = tonumber(arg[1]), arg[2], arg[3]
local resume, every_steps, stop_after
for i = 4, #arg do
  if arg[i] == "resume" then resume = dir end
  every_steps = every_steps or tonumber(arg[i]:match("^every_steps=(%d+)$"))
  stop_after = stop_after or tonumber(arg[i]:match("^stop_after=(%d+)$"))
end
loupe.seed(11)
local ds = loupe.dataset("synthetic", { train = 96, test = 32, seed = 4 })
local net = mini { classes = #ds.classes, width = 0.125, dropout = 0.5 }
local run <close> = loupe.archive(archive, { script = arg[0] })
loupe.train(net, ds:split("train"), {
  epochs = epochs, batch = 16, lr = 0.02, schedule = "cosine",
  augment = { crop = "random", resize = 36, flip = true, brightness = 0.2 },
  archive = run, threads = 2, resume = resume, stop_after = stop_after,
  checkpoint = { dir = dir, keep = 2, every_steps = every_steps } })
-- the context RNG continues where an uninterrupted run's would: recorded for the test
run:attr("/", "rng_after", loupe.rng_state())
