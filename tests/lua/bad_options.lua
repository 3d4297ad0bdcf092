-- bad_options.lua — every option a user can get wrong is refused with a message that names the
-- option and its allowed range: numbers are Lua numbers (a string that looks like one is an
-- error everywhere alike), finite, whole where an integer is meant; item numbers are 1-based
-- as in the API; a checkpoint directory that cannot be one, or that another run holds, says so.
-- arg[1]: a scratch directory.
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"
local out = assert(arg[1], "usage: bad_options.lua SCRATCH")
loupe.seed(5)
local ds = loupe.dataset("synthetic", { train = 40, test = 8, classes = 6, seed = 1 })
local train = ds:split("train")
local net = mini { classes = 6, width = 0.125, dropout = 0 }
local count = 0

-- f(...) must fail, and its message must hold every string in want (plain text)
local function fails(what, want, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, what .. ": accepted")
  err = tostring(err)
  for _, w in ipairs(type(want) == "table" and want or { want }) do
    assert(err:find(w, 1, true), ("%s: the message %q does not hold %q"):format(what, err, w))
  end
  assert(not err:find("attempt to", 1, true) and not err:find("bad argument", 1, true),
         what .. ": a Lua internal error instead of a message: " .. err)
  count = count + 1
  print(("ok: %s -> %s"):format(what, err))
end

local function trains(opts) return function() return loupe.train(net, train, opts) end end
local function loads(opts) -- a loader with opts (size 8 unless given)
  if opts.size == nil then opts.size = 8 end
  return function() return loupe.loader(train, opts) end
end

-- ---- issue 10 item 6: messages that did not name the option --------------------------------
fails("epochs = math.huge", { "option 'epochs' = inf", "an integer 1 .. 1000000" },
      trains { epochs = math.huge })
fails("epochs = 2.5", { "option 'epochs' = 2.5", "an integer 1 .. 1000000" },
      trains { epochs = 2.5 })
fails("weight_decay = inf", { "option 'weight_decay' = inf", "a number >= 0" },
      trains { weight_decay = math.huge })
fails("weight_decay = nan", { "option 'weight_decay' = nan", "a number >= 0" },
      trains { weight_decay = 0 / 0 })
fails("lr = inf", { "option 'lr' = inf", "a number > 0" }, trains { lr = math.huge })
fails("momentum = -0.1", { "option 'momentum' = -0.1", "0 .. 1" }, trains { momentum = -0.1 })
fails("augment = 5", { "option 'augment' must be a table", "not a number" },
      trains { augment = 5 })
fails("eval = true", { "option 'eval' must be a table", "not a boolean" },
      trains { eval = true })
fails("net = \"x\"", { "train: the first argument must be a net", "not a string (\"x\")" },
      loupe.train, "x", train, {})
fails("predict net = 3", { "predict: the first argument must be a net", "not a number" },
      loupe.predict, 3, train, {})

local file = out .. "/bad_options_a_file"
assert(io.open(file, "w")):close()
fails("checkpoint dir is a file", { "option 'checkpoint'", file, "not a directory" },
      trains { epochs = 1, quiet = true, checkpoint = file })
fails("checkpoint dir under a file", { "option 'checkpoint'", file .. "/ck" },
      trains { epochs = 1, quiet = true, checkpoint = file .. "/ck" })
-- a directory nobody may write to, root included
fails("checkpoint dir not writable", { "checkpoint directory /proc/self", "is not writable",
      "/proc/self/.lock" }, trains { epochs = 1, quiet = true, checkpoint = "/proc/self" })

loupe.mkdir(out .. "/bad_options_ck")
local held = loupe.lock(out .. "/bad_options_ck/.lock") -- as another run would hold it
fails("checkpoint dir held by a run", { "checkpoint directory " .. out .. "/bad_options_ck",
      "is in use by another run", "process " }, trains { epochs = 1, quiet = true,
      checkpoint = out .. "/bad_options_ck" })
held:release()

local empty = out .. "/bad_options_empty"
loupe.mkdir(empty)
fails("empty imagefolder", { "no classes found", "root=\"" .. empty .. "\"" },
      loupe.dataset, "imagefolder", { root = empty })

fails("items = {0, 1}", { "option 'items'", "entry 1 = 0", "1 .. 40" }, loads { batch = 2,
      items = { 0, 1 } })
fails("items = {41}", { "option 'items'", "entry 1 = 41", "1 .. 40" }, loads { batch = 1,
      items = { 41 } })
fails("items = {1, 2.5}", { "option 'items'", "entry 2 = 2.5" }, loads { batch = 1,
      items = { 1, 2.5 } })
fails("items = {\"1\"}", { "option 'items'", "entry 1", "string" }, loads { batch = 1,
      items = { "1" } })
fails("train items = {0}", { "option 'items'", "entry 1 = 0", "1 .. 40" },
      trains { epochs = 1, batch = 1, quiet = true, items = { 0 } })
local labels = train:labels()
labels[7] = 6
fails("labels with a class 6 of 6", { "option 'labels'", "entry 7 = 6", "0 .. 5" },
      loads { batch = 1, labels = labels })
fails("items = 3", { "option 'items' must be a list", "not a number" }, loads { batch = 1,
      items = 3 })

-- ---- item 7: silently accepted or misread -------------------------------------------------
fails("train batch = 2^40", { "option 'batch' = 1099511627776", "1 .. 2147483647" },
      trains { batch = 2 ^ 40 })
fails("loader batch = 2^40", { "option 'batch' = 1099511627776", "1 .. 2147483647" },
      loads { batch = 2 ^ 40 })
fails("train seed = 2^63", { "option 'seed' = 9.22337203685478e+18",
      "0 .. 9223372036854775807" }, trains { seed = 2 ^ 63 })
fails("train seed = -1", { "option 'seed' = -1", "0 .. " }, trains { seed = -1 })
fails("loupe.seed(2^63)", "loupe.seed: the seed must be an integer 0 .. 2^63-1", loupe.seed,
      2 ^ 63)
fails("loupe.seed(\"3\")", "loupe.seed: the seed must be an integer", loupe.seed, "3")
fails("loader seed = 2^64", { "option 'seed'", "out of range" }, loads { batch = 1,
      seed = 2 ^ 64 })
fails("train threads = \"2\"", { "option 'threads' must be an integer 0 .. 64",
      "not a string (\"2\")" }, trains { threads = "2" })
fails("train batch = \"8\"", { "option 'batch' must be an integer", "not a string (\"8\")" },
      trains { batch = "8" })
fails("loader batch = \"8\"", { "option 'batch' must be an integer", "not a string (\"8\")" },
      loads { batch = "8" })
fails("loader size = \"32\"", { "option 'size' must be an integer", "not a string (\"32\")" },
      loads { batch = 1, size = "32" })
fails("loader threads = \"2\"", { "option 'threads' must be an integer 0 .. 64",
      "not a string" }, loads { batch = 1, size = 8, threads = "2" })
fails("loader threads = 1000", { "option 'threads' = 1000", "0 .. 64" },
      loads { batch = 1, size = 8, threads = 1000 })
fails("loader prefetch = -1", { "option 'prefetch' = -1", "0 .. 64" },
      loads { batch = 1, size = 8, prefetch = -1 })
fails("loader size = 0", { "option 'size' = 0", "1 .. 4096" }, loads { batch = 1, size = 0 })
fails("loader without size", { "option 'size'", "1 .. 4096", "is required" },
      function() return loupe.loader(train, { batch = 1 }) end)
fails("loader std = 0", { "option 'std' = 0", "> 0" }, loads { batch = 1, size = 8, std = 0 })
fails("loader std = {1, 0, 1}", { "option 'std'", "> 0" }, loads { batch = 1, size = 8,
      channels = 3, std = { 1, 0, 1 } })
fails("loader mean = nan", { "option 'mean'", "finite" }, loads { batch = 1, size = 8,
      mean = 0 / 0 })
fails("loader scale = 0", { "option 'scale' = 0", "> 0" }, loads { batch = 1, size = 8,
      scale = 0 })
fails("loader brightness = -1", { "option 'brightness' = -1", "0 .. 10" },
      loads { batch = 1, size = 8, brightness = -1 })
fails("loader hue = 0.7", { "option 'hue' = 0.7", "0 .. 0.5" }, loads { batch = 1, size = 8,
      hue = 0.7 })
fails("loader channels = 2", { "option 'channels'", "1 or 3" }, loads { batch = 1, size = 8,
      channels = 2 })
fails("train augment.brightness = \"0.2\"", { "option 'brightness'", "not a string" },
      trains { epochs = 1, quiet = true, augment = { brightness = "0.2" } })
fails("checkpoint every = 0", { "option 'every' = 0", "1 .. 1000000" },
      trains { checkpoint = { dir = out .. "/bad_options_ck2", every = 0 } })
fails("stop_after = 1e300", { "option 'stop_after'", "1 .. 1000000" },
      trains { stop_after = 1e300 })
fails("crossval folds = \"3\"", { "option 'folds' must be an integer", "not a string" },
      loupe.crossval_predict, function() return net end, train, { folds = "3" })

local t0 = loupe.now()
fails("synthetic train = 1e9", { "parameter 'train' = 1000000000", "10..10000000" }, loupe.dataset,
      "synthetic", { train = 1e9 })
assert(loupe.now() - t0 < 5, "synthetic train = 1e9 must be refused before allocating")

print(("bad_options: %d refusals, each naming its option"):format(count))
