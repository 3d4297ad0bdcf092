-- test_api.lua — the Lua module from a script: tensors, the seeded RNG, a layer against a
-- reference written here in Lua, archive round trips, objects' __tostring/__close, and errors
-- that name the thing at fault. Run as: loupe run tests/lua/test_api.lua SCRATCH_DIR
local loupe = require "loupe"
local dir = assert(arg[1], "usage: test_api.lua SCRATCH_DIR")
local failures = 0
local function check(cond, what)
  if not cond then
    failures = failures + 1
    io.stderr:write("FAIL: ", what, "\n", debug.traceback(), "\n")
  end
end
local function fails_with(fn, ...)
  local ok, err = pcall(fn)
  check(not ok, "expected an error")
  for _, pat in ipairs { ... } do
    check(tostring(err):find(pat, 1, true), ("error %q lacks %q"):format(tostring(err), pat))
  end
end

-- tensors
local t = loupe.tensor { shape = { 2, 3 }, data = { 1, -2, 3, -4, 5, -6 } }
check(#t == 6 and t:numel() == 6 and t:dtype() == "float32", "tensor basics")
check(tostring(t):match("^loupe.Tensor .* float32 %[2, 3%]$"), "tensor tostring " .. tostring(t))
local shape = t:shape()
check(shape[1] == 2 and shape[2] == 3, "shape")
local i8 = loupe.tensor { data = { 0, 7, 255 }, dtype = "uint8" }
check(i8:totable()[3] == 255 and i8:dtype() == "uint8", "uint8 tensor")
fails_with(function() loupe.tensor { shape = { 2 }, data = { 1, 2, 3 } } end, "3 values", "2")
fails_with(function() loupe.tensor { shape = { 2 }, dtyp = "int32" } end, "unknown option 'dtyp'")
fails_with(function() loupe.tensor { shape = { 2 }, dtype = "float16" } end, "float16")

-- the seeded RNG: same seed, same numbers; another seed, others
loupe.seed(7)
local a = loupe.randn { shape = { 100 } }:totable()
loupe.seed(7)
local b = loupe.randn { shape = { 100 } }:totable()
loupe.seed(8)
local c = loupe.randn { shape = { 100 } }:totable()
local same, differ, mean = true, false, 0
for k = 1, 100 do
  same = same and a[k] == b[k]
  differ = differ or a[k] ~= c[k]
  mean = mean + a[k] / 100
end
check(same and differ, "seeded randn")
check(math.abs(mean) < 0.4, "randn mean " .. mean)
local u = loupe.rand { shape = { 1000 }, low = 2, high = 3 }:totable()
local lo, hi = math.huge, -math.huge
for _, v in ipairs(u) do lo, hi = math.min(lo, v), math.max(hi, v) end
check(lo >= 2 and hi < 3 and hi - lo > 0.9, "rand range")

-- a layer on the device against the definition written here
local relu = loupe.layer("relu", { slope = 0.125 })
check(relu.name == "relu" and relu.version:match("^%d+%.%d+%.%d+$"), "layer fields")
check(tostring(relu):find("loupe.Layer relu", 1, true), "layer tostring")
local x = loupe.randn { shape = { 3, 7, 11 } }
local dy = loupe.randn { shape = { 3, 7, 11 } }
local y, dx = relu:forward(x), nil
dx = relu:backward(x, y, dy)
local tx, ty, tdy, tdx = x:totable(), y:totable(), dy:totable(), dx:totable()
local bad = 0
for k = 1, #tx do
  local want_y = tx[k] > 0 and tx[k] or 0.125 * tx[k]
  local want_dx = tx[k] > 0 and tdy[k] or 0.125 * tdy[k]
  if math.abs(ty[k] - want_y) > 1e-6 or math.abs(tdx[k] - want_dx) > 1e-6 then bad = bad + 1 end
end
check(bad == 0, bad .. " relu values differ from the Lua reference")
fails_with(function() loupe.layer("relu", { slope = "steep" }) end, "relu", "'slope'", "number")
fails_with(function() loupe.layer("relu", { slope = 2 }) end, "relu", "slope 2")
fails_with(function() loupe.layer("no_such_layer") end, "no_such_layer", "loupe plugins")
fails_with(function() relu:forward(loupe.tensor { data = { 1, 2 }, dtype = "int32" }) end,
           "relu", "float32")

-- plugin listing and the search path set from Lua
local found = false
for _, p in ipairs(loupe.plugins()) do
  if p.name == "relu" then
    found = p.kind == "layer" and p.params[1].name == "slope" and p.params[1].default == "0"
  end
end
check(found, "loupe.plugins lists relu with its parameter")
loupe.plugin_path = { dir .. "/nowhere", dir .. "/also-nowhere" }
local dirs = loupe.plugin_dirs()
check(dirs[#dirs] == dir .. "/also-nowhere" and dirs[#dirs - 1] == dir .. "/nowhere",
      "plugin_path appended last")
loupe.plugin_path = nil

-- archive round trip through Lua, with <close>
local path = dir .. "/api.h5"
do
  local run <close> = loupe.archive(path, { script = arg[0] })
  check(tostring(run) == "loupe.Archive " .. path, "archive tostring")
  run:write("/t/x", x, { axes = { "a", "b", "c" } })
  run:write("/t/ints", { 5, -6, 7, 8 }, { dtype = "int64", shape = { 2, 2 } })
  run:write_strings("/t/names", { "bar", "deli", "café" }, { axis = "item" })
  run:attr("/t", "note", "hello")
  run:attr("/t", "count", 3)
  run:attr("/t", "ratio", 0.5)
  fails_with(function() run:write("t/relative", { 1 }) end, "t/relative")
  fails_with(function() run:write("/t/y", { 1, 2 }, { axes = { "a", "b" } }) end, "axis names")
  fails_with(function() run:write("/t/y", { 1 }, { axis = "a" }) end, "unknown option 'axis'")
end
local run = loupe.archive(path, { mode = "read" })
local back = run:read("/t/x"):totable()
local same_x = #back == #tx
for k = 1, #tx do same_x = same_x and back[k] == tx[k] end
check(same_x, "archive float32 round trip")
local ints = run:read("/t/ints")
check(ints:dtype() == "int64" and ints:totable()[2] == -6 and ints:shape()[1] == 2, "int64 back")
local names = run:read("/t/names")
check(names[3] == "café" and #names == 3, "strings back")
check(run:get_attr("/t", "note") == "hello" and run:get_attr("/t", "count") == "3", "attrs")
check(tonumber(run:get_attr("/", "format_version")) == 1, "format_version")
check(run:get_attr("/", "device") == loupe.device().name, "device attr")
local kids = run:list("/t")
check(kids.x == "dataset" and kids.names == "dataset", "list")
check(run:list("/").provenance == "group", "provenance group")
fails_with(function() run:read("/t/missing") end, path, "/t/missing")
run:close()
check(tostring(run) == "loupe.Archive (closed)", "closed archive tostring")
fails_with(function() run:read("/t/x") end, "used after close")
fails_with(function() loupe.archive(dir .. "/no/such/dir/x.h5", { mode = "read" }) end,
           "no/such/dir/x.h5")
fails_with(function() loupe.archive(path, { mdoe = "read" }) end, "unknown option 'mdoe'")

if failures > 0 then error(failures .. " check(s) failed", 0) end
print("test_api: ok")
