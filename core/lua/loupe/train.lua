-- loupe.train, loupe.predict, loupe.evaluate, loupe.crossval_predict — the experiment loop.
--
--   local hist = loupe.train(net, ds:split("train"), {
--     epochs = 30, batch = 128, lr = 0.01, momentum = 0.9, weight_decay = 5e-4,
--     schedule = "step",                           -- or "constant", "cosine", function
--     augment = { crop = "random", resize = 36, flip = true, brightness = 0.2 },
--     test = ds:split("test"), archive = run,
--     checkpoint = { dir = "runs/x.ckpt", every = 1, keep = 3 },
--     resume = "runs/x.ckpt" })                    -- a checkpoint file or its directory
--   local pred = loupe.predict(net, ds:split("test"), { archive = run, features = true })
--
-- Every epoch appends a row to /metrics in the archive; predictions go to
-- /predictions/<split> (docs/ARCHIVE.md). A run stopped by Ctrl-C finishes its step, writes a
-- checkpoint, closes nothing it does not own and raises "interrupted" after saying how to
-- resume. Resuming continues bit for bit: the loader's order and augmentation depend only on
-- (seed, epoch, item), dropout masks on (seed, layer, step), and the checkpoint holds the
-- weights, the momentum, the step and where in the epoch the run stood.
local loupe = require "loupe"

local M = {}

local PIXEL = { size = true, resize = true, crop = true, resample = true, flip = true,
                brightness = true, contrast = true, saturation = true, hue = true, scale = true,
                channels = true, mean = true, std = true }
local RANDOM = { flip = true, brightness = true, contrast = true, saturation = true, hue = true,
                 scale = true }

-- the preprocessing a trained net expects, for predict's defaults (weak: nets may be freed)
local eval_pixels = setmetatable({}, { __mode = "k" })

local function distance(a, b)
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      d[i][j] = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
    end
  end
  return d[#a][#b]
end

local function check_keys(t, known, what, level)
  for k in pairs(t) do
    if not known[k] then
      local best, bd = nil, 3
      for name in pairs(known) do
        local dd = distance(tostring(k), name)
        if dd < bd then best, bd = name, dd end
      end
      error(("%s: unknown option '%s'%s"):format(what, tostring(k),
            best and (" (did you mean '%s'?)"):format(best) or ""), level or 3)
    end
  end
end

local function set(list)
  local s = {}
  for _, k in ipairs(list) do s[k] = true end
  return s
end

-- Numbers the same way as the C bindings (lua_opts.c): a Lua number, never a string that looks
-- like one, finite, whole where an integer is meant, inside its range; refusals name the option
-- and the range.
local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if v ~= v then return "nan" end
  if math.type(v) == "float" then return ("%.15g"):format(v) end
  return tostring(v)
end

local function range_text(lo, hi, lo_open, integer)
  local f = integer and "%d" or "%.15g"
  local kind = integer and "an integer " or "a number "
  if hi == nil then return (kind .. (lo_open and "> " or ">= ") .. f):format(lo) end
  return (kind .. (lo_open and "> " or "") .. f .. " .. " .. f):format(lo, hi)
end

local function not_number(what, key, v, range)
  error(("%s: option '%s' must be %s, not a %s%s"):format(what, key, range, type(v),
        type(v) == "string" and (" (%s)"):format(show(v)) or ""), 4)
end

-- a number in [lo, hi] (lo excluded with lo_open); never nan or infinite
local function num(opts, key, def, what, lo, hi, lo_open)
  local v = opts[key]
  if v == nil then return def end
  lo = lo or -math.huge
  local range = range_text(lo, hi, lo_open, false)
  if type(v) ~= "number" then not_number(what, key, v, range) end
  if v ~= v or v == math.huge or v == -math.huge or v < lo or (lo_open and v == lo) or
     (hi and v > hi) then
    error(("%s: option '%s' = %s is out of range (%s)"):format(what, key, show(v), range), 3)
  end
  return v
end

-- an integer in [lo, hi] (hi: the largest Lua integer unless given)
local function int(opts, key, def, what, lo, hi)
  local v = opts[key]
  if v == nil then return def end
  hi = hi or math.maxinteger
  local range = range_text(lo, hi, false, true)
  if type(v) ~= "number" then not_number(what, key, v, range) end
  local iv = math.tointeger(v)
  if not iv or iv < lo or iv > hi then
    error(("%s: option '%s' = %s is out of range (%s)"):format(what, key, show(v), range), 3)
  end
  return iv
end

local MAX_EPOCHS, MAX_BATCH = 1000000, 2147483647

-- the first argument of train / predict: a net (loupe.net, loupe.load_net, a model's build)
local function check_net(net, what)
  local mt = getmetatable(net)
  if type(net) ~= "userdata" or type(mt) ~= "table" or mt.__name ~= "loupe.Net" then
    error(("%s: the first argument must be a net (loupe.net or a model's build), not a %s%s")
          :format(what, type(net), type(net) == "string" and (" (%s)"):format(show(net)) or ""), 3)
  end
end

local function quiet(opts)
  if opts.quiet ~= nil then return opts.quiet end
  local q = os.getenv("LOUPE_QUIET")
  return q ~= nil and q ~= "" and q ~= "0"
end

local function same_classes(a, b)
  local ca, cb = a.classes, b.classes
  if #ca ~= #cb then return false end
  for i = 1, #ca do if ca[i] ~= cb[i] then return false end end
  return true
end

local function net_classes(net)
  local layers = net:layers()
  local out = layers[#layers].shape
  return out[#out]
end

-- pixel options: the user's augment table over the net's input size and channels
local function pixels(net, augment, what, random_ok, key)
  augment = augment or {}
  if type(augment) ~= "table" then
    error(("%s: option '%s' must be a table of pixel options ({ crop = \"random\", flip = true })"
           .. ", not a %s"):format(what, key, type(augment)), 4)
  end
  check_keys(augment, PIXEL, what .. ": augment", 4)
  local input = net:input()
  local p = { size = input[#input], channels = input[1] }
  for k, v in pairs(augment) do
    if random_ok or not RANDOM[k] then p[k] = v end
  end
  if p.size ~= input[#input] then
    error(("%s: augment.size = %d but the net takes %dx%d inputs"):format(what, p.size,
          input[#input], input[#input]), 4)
  end
  return p
end

local function loader_opts(p, extra)
  local o = {}
  for k, v in pairs(p) do o[k] = v end
  for k, v in pairs(extra) do o[k] = v end
  return o
end

-- learning rate at a point of training: t in [0, 1) over the whole run, epoch from 1
local function make_schedule(opts, lr, epochs)
  local s = opts.schedule or "constant"
  if type(s) == "function" then
    return function(epoch, t)
      local v = s(epoch, t, lr)
      if type(v) ~= "number" or v < 0 or v ~= v then
        error(("train: schedule returned %s at epoch %d; it must return a learning rate >= 0")
              :format(tostring(v), epoch), 0)
      end
      return v
    end
  end
  local every = int(opts, "step_every", math.max(1, epochs // 3), "train", 1, MAX_EPOCHS)
  local gamma = num(opts, "step_gamma", 0.1, "train", 0, 1, true)
  if s == "constant" then
    return function() return lr end
  elseif s == "step" then -- AlexNet: divide by 10 at fixed points (every `step_every` epochs)
    return function(epoch) return lr * gamma ^ ((epoch - 1) // every) end
  elseif s == "cosine" then
    return function(_, t) return 0.5 * lr * (1 + math.cos(math.pi * t)) end
  end
  error(("train: option 'schedule' = %s; it is \"constant\", \"step\", \"cosine\" or a function")
        :format(tostring(s)), 3)
end

-- ---- checkpoints ----------------------------------------------------------------------------

local function serialize(v)
  if type(v) == "table" then
    local parts = {}
    for k, x in pairs(v) do
      parts[#parts + 1] = ("[%s]=%s"):format(serialize(k), serialize(x))
    end
    table.sort(parts)
    return "{" .. table.concat(parts, ",") .. "}"
  elseif type(v) == "number" then
    return math.type(v) == "integer" and tostring(v) or ("%.17g"):format(v)
  elseif type(v) == "string" then
    return ("%q"):format(v)
  end
  return tostring(v)
end

-- A checkpoint's Lua-literal attribute back to a table; anything else (a damaged file) is an
-- error naming it. The chunk runs in an empty environment and may only build a table.
local function deserialize(s, what)
  local f, err = load("return " .. s, what, "t", {})
  local ok, v = false, err
  if f then ok, v = pcall(f) end
  if not ok or type(v) ~= "table" then
    error(("resume: %s is damaged: %s"):format(what, ok and "not a table" or tostring(v)), 0)
  end
  return v
end

local function ckpt_name(done_epochs, done_batches)
  if done_batches == 0 then return ("epoch_%04d.h5"):format(done_epochs) end
  return ("epoch_%04d_batch_%06d.h5"):format(done_epochs, done_batches)
end

local function checkpoints(dir)
  local names = loupe.listdir(dir) or {}
  local out = {}
  for _, n in ipairs(names) do
    if n:match("^epoch_%d+%.h5$") or n:match("^epoch_%d+_batch_%d+%.h5$") then out[#out + 1] = n end
  end
  return out
end

-- leftovers of a run killed while writing: never a complete checkpoint, removed
local function clean_temporaries(dir)
  for _, n in ipairs(loupe.listdir(dir) or {}) do
    if n:match("%.h5%.tmp%.%d+$") or n:match("%.h5%.new%.%d+$") then
      os.remove(dir .. "/" .. n)
    end
  end
end

-- The run's checkpoint directory, created; a clear error when it cannot be one.
local function make_checkpoint_dir(dir)
  local ok, err = pcall(loupe.mkdir, dir)
  if not ok then
    error(("train: option 'checkpoint': cannot use %s as the checkpoint directory: %s")
          :format(dir, tostring(err):gsub("^mkdir [^:]*: ", "")), 0)
  end
end

-- One run per checkpoint directory: two would overwrite and trim each other's checkpoints. The
-- lock (dir/.lock, loupe.lock) is held while the run trains and dropped by the kernel if it dies.
local function lock_checkpoint_dir(dir)
  local ok, lock = pcall(loupe.lock, dir .. "/.lock")
  if not ok then
    local busy = tostring(lock):match("process %d+ .* holds")
    error(("train: checkpoint directory %s %s: %s"):format(dir,
          busy and "is in use by another run" or "is not writable", tostring(lock)), 0)
  end
  clean_temporaries(dir) -- only now: they might have been another live run's
  return lock
end

local function latest(path)
  local names = loupe.listdir(path)
  if not names then return path end -- a file
  local list = checkpoints(path)
  if #list == 0 then
    error(("resume: %s holds no checkpoint (epoch_NNNN.h5)"):format(path), 0)
  end
  return path .. "/" .. list[#list]
end

local function read_attrs(path, keys)
  local a = loupe.archive(path, { mode = "read" })
  local out = {}
  for _, k in ipairs(keys) do
    local ok, v = pcall(a.get_attr, a, "/", k)
    if not ok then
      a:close()
      error(("resume: %s is not a loupe checkpoint (no attribute '%s')"):format(path, k), 0)
    end
    out[k] = v
  end
  a:close()
  return out
end

-- Where a checkpoint says the run stood, checked: its attributes are text (no checksum covers
-- them), so a damaged one must fail here, naming the file, not later inside the loop.
local function resume_state(file, a, nb)
  local function bad(what)
    error(("resume: %s is damaged: %s"):format(file, what), 0)
  end
  local function number(v, what, int)
    if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge or
       (int and math.tointeger(v) == nil) then
      bad(("%s is %s, not a%s number"):format(what, tostring(v), int and "n integer" or ""))
    end
    return int and math.tointeger(v) or v
  end
  local epoch = number(tonumber(a.next_epoch), "attribute 'next_epoch'", true)
  local batch = number(tonumber(a.next_batch), "attribute 'next_batch'", true)
  if epoch < 1 or batch < 1 or batch > nb then
    bad(("it resumes at epoch %d, batch %d (of %d)"):format(epoch, batch, nb))
  end
  local history = deserialize(a.history, file .. " history")
  local part = deserialize(a.partial, file .. " partial")
  if #history ~= epoch - 1 then
    bad(("its history holds %d epochs; it resumes at epoch %d"):format(#history, epoch))
  end
  for i, row in ipairs(history) do
    if type(row) ~= "table" then bad(("history row %d is not a table"):format(i)) end
    for _, k in ipairs { "epoch", "train_loss", "train_acc", "lr", "seconds", "images_per_s" } do
      number(row[k], ("history row %d field '%s'"):format(i, k))
    end
  end
  for _, k in ipairs { "loss", "correct", "seen", "seconds" } do
    number(part[k], ("attribute 'partial' field '%s'"):format(k))
  end
  return epoch, batch, history, part
end

-- ---- progress --------------------------------------------------------------------------------

local function clock(s)
  s = math.max(0, math.floor(s + 0.5))
  if s >= 3600 then return ("%d:%02d:%02d"):format(s // 3600, s // 60 % 60, s % 60) end
  return ("%d:%02d"):format(s // 60, s % 60)
end

local function progress_bar(state, b, nb, loss, acc, ips, eta)
  local width = 24
  local fill = math.floor(width * b / nb)
  local color = os.getenv("NO_COLOR") == nil or os.getenv("NO_COLOR") == ""
  local bar = ("#"):rep(fill) .. ("."):rep(width - fill)
  if color then bar = "\27[32m" .. ("#"):rep(fill) .. "\27[0m" .. ("."):rep(width - fill) end
  io.stderr:write(("\r%s[%s] %d/%d loss %.4f acc %.3f %.0f img/s ETA %s \27[K"):format(
    state.prefix, bar, b, nb, loss, acc, ips, clock(eta)))
end

-- ---- training --------------------------------------------------------------------------------

local TRAIN_KEYS = set { "epochs", "batch", "lr", "momentum", "weight_decay", "schedule",
  "step_every", "step_gamma", "augment", "eval", "test", "archive", "seed", "threads",
  "prefetch", "checkpoint", "resume", "quiet", "items", "name", "drop_last", "stop_after",
  "labels", "random_pixels" }

function M.train(net, set_, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("train: options must be a table", 2) end
  check_keys(opts, TRAIN_KEYS, "train")
  check_net(net, "train")
  if type(set_) ~= "userdata" or not pcall(function() return set_.name end) then
    error("train: the second argument must be a split (ds:split(\"train\"))", 2)
  end
  local epochs = int(opts, "epochs", 10, "train", 1, MAX_EPOCHS)
  local batch = int(opts, "batch", 32, "train", 1, MAX_BATCH)
  local lr = num(opts, "lr", 0.01, "train", 0, nil, true)
  local momentum = num(opts, "momentum", 0.9, "train", 0, 1)
  local wd = num(opts, "weight_decay", 5e-4, "train", 0)
  local seed = int(opts, "seed", loupe.get_seed(), "train", 0)
  local stop_after = int(opts, "stop_after", nil, "train", 1, MAX_EPOCHS)
  local threads = int(opts, "threads", nil, "train", 0, 64)
  local prefetch = int(opts, "prefetch", nil, "train", 0, 64)
  local nclasses = #set_.classes
  if net_classes(net) ~= nclasses then
    error(("train: the net has %d outputs but %s has %d classes"):format(net_classes(net),
          set_.name, nclasses), 2)
  end
  if opts.test ~= nil then
    if type(opts.test) ~= "userdata" or not pcall(function() return opts.test.classes end) then
      error("train: option 'test' must be a split", 2)
    end
    if not same_classes(set_, opts.test) then
      error(("train: option 'test': split %s has other classes than the training set %s")
            :format(opts.test.name, set_.name), 2)
    end
  end
  local schedule = make_schedule(opts, lr, epochs)
  local px = pixels(net, opts.augment, "train", true, "augment")
  local evalpx = pixels(net, opts.eval or opts.augment, "train", false,
                        opts.eval and "eval" or "augment")
  if evalpx.crop == "random" then evalpx.crop = "center" end
  eval_pixels[net] = evalpx
  local ld = loupe.loader(set_, loader_opts(px, {
    batch = batch, shuffle = true, seed = seed, threads = threads, prefetch = prefetch,
    items = opts.items, drop_last = opts.drop_last, labels = opts.labels,
    random_pixels = opts.random_pixels }))
  local nb = ld:batches()
  local run = opts.archive
  local q = quiet(opts)
  local tty = not q and os.getenv("TERM") ~= "dumb" and loupe.isatty(2)

  local ck = opts.checkpoint
  if type(ck) == "string" then ck = { dir = ck } end
  if ck ~= nil then
    if type(ck) ~= "table" then error("train: option 'checkpoint' is a directory or a table", 2) end
    check_keys(ck, set { "dir", "every", "keep", "every_steps" }, "train: checkpoint")
    if type(ck.dir) ~= "string" then error("train: checkpoint.dir must be a directory name", 2) end
    ck.every = int(ck, "every", 1, "train: checkpoint", 1, MAX_EPOCHS)
    ck.keep = int(ck, "keep", 3, "train: checkpoint", 1, MAX_EPOCHS)
    ck.every_steps = int(ck, "every_steps", nil, "train: checkpoint", 1, MAX_BATCH)
    make_checkpoint_dir(ck.dir)
  end
  local definition = net:summary()
  -- the run records what it trained on: /dataset and the fingerprint in /provenance
  if run and not pcall(run.get_attr, run, "/provenance/dataset", "fingerprint") then
    set_.dataset:write(run)
  end

  -- where to start: a checkpoint says which epoch and batch come next, and what came before
  local history, first_epoch, first_batch = {}, 1, 1
  local part = { loss = 0, correct = 0, seen = 0, seconds = 0 }
  if opts.resume then
    local file = latest(opts.resume)
    local a = read_attrs(file, { "next_epoch", "next_batch", "history", "partial", "definition",
                                 "seed", "batches", "rng" })
    if a.definition ~= definition then
      error(("resume: %s was written by another net; its definition:\n%s\nthis net:\n%s")
            :format(file, a.definition, definition), 2)
    end
    if tonumber(a.seed) ~= seed or tonumber(a.batches) ~= nb then
      error(("resume: %s was made with seed %s and %s batches per epoch; this run has seed %d " ..
             "and %d (same seed, batch and data are needed to continue exactly)")
            :format(file, a.seed, a.batches, seed, nb), 2)
    end
    net:load(file, { momentum = true })
    first_epoch, first_batch, history, part = resume_state(file, a, nb)
    local rng_ok, rng_err = pcall(loupe.set_rng_state, a.rng)
    if not rng_ok then
      error(("resume: %s is damaged: attribute 'rng': %s"):format(file, rng_err), 0)
    end -- the script's own draws after training continue as they would
    if not q then
      io.stderr:write(("resuming from %s: epoch %d, batch %d\n"):format(file, first_epoch,
                      first_batch))
    end
  end

  local function write_metrics()
    if not run or #history == 0 then return end
    local cols = { "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "test_top5",
                   "lr", "seconds", "images_per_s" }
    for _, c in ipairs(cols) do
      local v = {}
      for i, row in ipairs(history) do v[i] = row[c] or (0 / 0) end
      run:write("/metrics/" .. c, v, { axes = { "epoch" },
                dtype = c == "epoch" and "int32" or "float32" })
    end
    run:attr("/metrics", "epochs", #history)
    run:commit() -- the archive at its path now holds every finished epoch, whatever comes next
  end

  local function save(done_epochs, done_batches, next_epoch, next_batch)
    if not ck then return nil end
    local path = ck.dir .. "/" .. ckpt_name(done_epochs, done_batches)
    net:save(path, {
      next_epoch = next_epoch, next_batch = next_batch, history = serialize(history),
      partial = serialize(part), definition = definition, seed = seed, batches = nb,
      lr = lr, momentum = momentum, weight_decay = wd, rng = loupe.rng_state() })
    local list = checkpoints(ck.dir)
    for i = 1, #list - ck.keep do os.remove(ck.dir .. "/" .. list[i]) end
    return path
  end

  local prefix = opts.name and (opts.name .. " ") or ""
  local state = { prefix = "" }
  local lock = ck and lock_checkpoint_dir(ck.dir)
  loupe.catch_interrupt(true)
  local ok, err = pcall(function()
    local last_epoch = stop_after and math.min(epochs, first_epoch - 1 + stop_after) or epochs
    for epoch = first_epoch, last_epoch do
      state.prefix = ("%sepoch %d/%d "):format(prefix, epoch, epochs)
      ld:start(epoch, epoch == first_epoch and first_batch or 1)
      local t0 = loupe.now()
      local last_draw = 0
      for b = (epoch == first_epoch and first_batch or 1), nb do
        if loupe.interrupted() then
          part.seconds = part.seconds + (loupe.now() - t0)
          local path = save(epoch - 1, b - 1, epoch, b)
          write_metrics()
          if tty then io.stderr:write("\n") end
          io.stderr:write(("interrupted at epoch %d, batch %d of %d%s\n"):format(epoch, b, nb,
            path and ("; checkpoint %s\nresume with the same script and resume = \"%s\"")
                     :format(path, ck.dir) or " (no checkpoint option: nothing saved)"))
          error("interrupted", 0)
        end
        local n, x, y = ld:next()
        local rate = schedule(epoch, ((epoch - 1) * nb + (b - 1)) / (epochs * nb))
        local loss, correct = net:train_step(x, y, { lr = rate, momentum = momentum,
                                                       weight_decay = wd })
        if loss ~= loss or loss == math.huge then -- the weights are gone: stop, keep the record
          write_metrics()
          if tty then io.stderr:write("\n") end
          error(("train: the loss became %s at epoch %d, batch %d of %d (learning rate %g): "
                 .. "training diverged; lower option 'lr' or warm up with a schedule function")
                :format(tostring(loss), epoch, b, nb, rate), 0)
        end
        part.loss = part.loss + loss * n
        part.correct = part.correct + correct
        part.seen = part.seen + n
        part.lr = rate
        if tty then
          local now = loupe.now()
          if now - last_draw > 0.2 or b == nb then
            last_draw = now
            local el = part.seconds + (now - t0)
            progress_bar(state, b, nb, part.loss / part.seen, part.correct / part.seen,
                         part.seen / math.max(el, 1e-9), el / b * (nb - b))
          end
        end
        if ck and ck.every_steps and b % ck.every_steps == 0 and b < nb then
          part.seconds = part.seconds + (loupe.now() - t0)
          t0 = loupe.now()
          save(epoch - 1, b, epoch, b + 1)
        end
      end
      local seconds = part.seconds + (loupe.now() - t0)
      local row = { epoch = epoch, train_loss = part.loss / part.seen,
                    train_acc = part.correct / part.seen, lr = part.lr, seconds = seconds,
                    images_per_s = part.seen / math.max(seconds, 1e-9) }
      if opts.test then
        local p = M.predict(net, opts.test, { batch = batch, threads = threads,
                                              random_pixels = opts.random_pixels, seed = seed })
        row.test_loss, row.test_acc, row.test_top5 = p.loss, p.top1, p.top5
        p:free()
      end
      history[#history + 1] = row
      write_metrics()
      if tty then io.stderr:write("\n") end
      if not q then
        io.stderr:write(("%sepoch %d/%d: loss %.4f acc %.3f%s, %.1f s, %.0f img/s\n"):format(
          prefix, epoch, epochs, row.train_loss, row.train_acc,
          row.test_acc and (", test loss %.4f acc %.3f"):format(row.test_loss, row.test_acc) or "",
          seconds, row.images_per_s))
      end
      part = { loss = 0, correct = 0, seen = 0, seconds = 0 }
      if ck and (epoch % ck.every == 0 or epoch == last_epoch) then
        save(epoch, 0, epoch + 1, 1)
      end
    end
  end)
  loupe.catch_interrupt(false)
  ld:free()
  if lock then lock:release() end
  if not ok then error(err, 0) end
  return history
end

-- ---- prediction -------------------------------------------------------------------------------

local PREDICT_KEYS = set { "batch", "archive", "group", "features", "augment", "threads", "items",
  "labels", "random_pixels", "seed" }

-- the layer whose output feeds the last one (AlexNet: relu7)
local function penultimate(net)
  local layers = net:layers()
  return layers[#layers - 1].name
end

function M.predict(net, set_, opts)
  opts = opts or {}
  check_keys(opts, PREDICT_KEYS, "predict")
  check_net(net, "predict")
  if net_classes(net) ~= #set_.classes then
    error(("predict: the net has %d outputs but %s has %d classes"):format(net_classes(net),
          set_.name, #set_.classes), 2)
  end
  local px = opts.augment and pixels(net, opts.augment, "predict", true, "augment") or
             eval_pixels[net] or pixels(net, {}, "predict", false)
  local n = opts.items and #opts.items or #set_:items() -- the items kept (ds:with_annotations)
  local ld = loupe.loader(set_, loader_opts(px, {
    batch = math.min(int(opts, "batch", 64, "predict", 1, MAX_BATCH), n), shuffle = false,
    threads = int(opts, "threads", nil, "predict", 0, 64), items = opts.items, labels = opts.labels,
    random_pixels = opts.random_pixels, seed = opts.seed }))
  ld:start(1)
  local features = opts.features
  if features == true then features = penultimate(net) end
  local p = loupe.predict_loader(net, ld, { features = features or nil })
  ld:free()
  if opts.archive then
    p:write(opts.archive, opts.group or ("/predictions/" .. set_.name))
  end
  return p
end

function M.evaluate(net, set_, opts)
  local p = M.predict(net, set_, opts)
  local r = { loss = p.loss, top1 = p.top1, top5 = p.top5, n = p.n }
  p:free()
  return r
end

-- ---- k-fold out-of-sample predictions --------------------------------------------------------

function M.crossval_predict(builder, set_, opts)
  opts = opts or {}
  local known = {}
  for k in pairs(TRAIN_KEYS) do known[k] = true end
  known.folds, known.features, known.group = true, true, true
  check_keys(opts, known, "crossval_predict")
  if type(builder) ~= "function" then
    error("crossval_predict: the first argument is a function(fold) that returns a new net", 2)
  end
  local k = int(opts, "folds", 5, "crossval_predict", 2, MAX_BATCH)
  local seed = int(opts, "seed", loupe.get_seed(), "crossval_predict", 0)
  -- the labels trained on (opts.labels: relabelled sets) stratify the folds and are the ones
  -- the predictions are scored and recorded against
  local labels = opts.labels or set_:labels()
  if k > #labels then
    error(("crossval_predict: folds = %d but %s has %d items"):format(k, set_.name, #labels), 2)
  end
  -- stratified folds: each class's items shuffled (seeded) and dealt round-robin
  local by_class = {}
  for i, l in ipairs(labels) do
    by_class[l] = by_class[l] or {}
    table.insert(by_class[l], i)
  end
  local fold_of, st = {}, seed * 2654435761 % 4294967296 + 1
  local function rnd(m) st = (st * 1103515245 + 12345) % 2147483648; return st % m + 1 end
  local deal = 0
  for c = 0, #set_.classes - 1 do
    local items = by_class[c] or {}
    for i = #items, 2, -1 do local j = rnd(i); items[i], items[j] = items[j], items[i] end
    for _, it in ipairs(items) do fold_of[it] = deal % k + 1; deal = deal + 1 end
  end
  local parts = {}
  for f = 1, k do
    local inside, outside = {}, {}
    for i = 1, #labels do
      if fold_of[i] == f then outside[#outside + 1] = i else inside[#inside + 1] = i end
    end
    local net = builder(f)
    local topts = {}
    for key, v in pairs(opts) do
      if TRAIN_KEYS[key] and key ~= "archive" and key ~= "test" and key ~= "resume" and
         key ~= "checkpoint" then topts[key] = v end
    end
    topts.items = inside
    topts.name = ("fold %d/%d"):format(f, k)
    M.train(net, set_, topts)
    parts[f] = M.predict(net, set_, { items = outside, batch = opts.batch, labels = opts.labels,
                                      features = opts.features, threads = opts.threads })
  end
  local merged = loupe.merge_predictions(parts, #labels)
  for _, p in ipairs(parts) do p:free() end
  if opts.archive then
    local group = opts.group or ("/predictions/" .. set_.name .. "_crossval")
    merged:write(opts.archive, group)
    local list = {}
    for i = 1, #labels do list[i] = fold_of[i] end
    opts.archive:write(group .. "/fold", list, { axes = { "item" }, dtype = "int32" })
    opts.archive:attr(group, "folds", k)
  end
  return merged, fold_of
end

return M
