-- damage_run.lua MODE ARCHIVE CKPT_DIR [FILE_LIST] — for tests/e2e/damage_check.py.
--   make: train 2 epochs of a small net, writing ARCHIVE (metrics, test predictions) and a
--         checkpoint per epoch into CKPT_DIR: the sound files the corpus is made from.
--   read: for every file named in FILE_LIST (one per line), try what a user would do with it —
--         net:load, resume = FILE, loupe.archive(FILE, { mode = "read" }) and read every
--         dataset — and print one line per try: "FILE<TAB>what<TAB>ok" or "...<TAB>error<TAB>msg".
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"
local mode, archive, dir, list = arg[1], arg[2], arg[3], arg[4]
loupe.seed(7)
local ds = loupe.dataset("synthetic", { train = 32, test = 16, seed = 5 })
local train = ds:split("train")
local function net() return mini { classes = #ds.classes, width = 0.125, dropout = 0 } end
local opts = { epochs = 2, batch = 16, lr = 0.01, threads = 1, quiet = true }

if mode == "make" then
  local run <close> = loupe.archive(archive, { script = arg[0] })
  opts.archive, opts.test, opts.checkpoint = run, ds:split("test"), { dir = dir, keep = 5 }
  local n = net()
  loupe.train(n, train, opts)
  loupe.predict(n, ds:split("test"), { archive = run }):free() -- something for loupe analyze
  return
end
assert(mode == "read", "damage_run.lua: MODE is make or read")

local function one_line(s) return (tostring(s):gsub("[\t\n]", " ")) end
local function try(file, what, f)
  local ok, err = pcall(f)
  print(("%s\t%s\t%s"):format(file, what, ok and "ok" or ("error\t" .. one_line(err))))
  io.stdout:flush()
end

-- every dataset of a group, read whole (a damaged chunk or header fails here, not silently)
local function read_all(a, group)
  for name, kind in pairs(a:list(group)) do
    local path = (group == "/" and "" or group) .. "/" .. name
    if kind == "group" then read_all(a, path) else a:read(path) end
  end
end

local n = net()
local resume_opts = { epochs = 3, batch = 16, lr = 0.01, threads = 1, quiet = true }
for file in io.lines(list) do
  try(file, "net:load", function() n:load(file, { momentum = true }) end)
  try(file, "resume", function()
    resume_opts.resume = file
    loupe.train(n, train, resume_opts)
  end)
  try(file, "archive", function()
    local a <close> = loupe.archive(file, { mode = "read" })
    read_all(a, "/")
  end)
end
