-- dump_items.lua OUT_DIR DATASET SPLIT COUNT [key=value ...]: write the first COUNT items of a
-- split as OUT_DIR/<i>.ppm (or .pgm for grey) — binary netpbm, a format every reader knows —
-- and OUT_DIR/labels.txt ("<i> <label> <name>" per line). Used by the dataset tests to build
-- image trees from `synthetic` and to compare pixels with Python.
local loupe = require "loupe"
local out, name, split, count = arg[1], arg[2], arg[3], tonumber(arg[4])
assert(out and name and split and count, "usage: dump_items.lua OUT_DIR DATASET SPLIT COUNT [k=v ...]")
local params = {}
for i = 5, #arg do
  local k, v = arg[i]:match("^([%w_]+)=(.*)$")
  assert(k, "not key=value: " .. arg[i])
  if v == "true" or v == "false" then params[k] = v == "true"
  elseif math.tointeger(tonumber(v)) then params[k] = math.tointeger(tonumber(v))
  elseif tonumber(v) then params[k] = tonumber(v)
  else params[k] = v end
end
local ds = loupe.dataset(name, params)
local sp = ds:split(split)
local labels = assert(io.open(out .. "/labels.txt", "w"))
for i = 1, math.min(count, #sp) do
  local px, w, h, c = sp:pixels(i)
  local f = assert(io.open(string.format("%s/%d.%s", out, i, c == 3 and "ppm" or "pgm"), "wb"))
  f:write(string.format("P%d\n%d %d\n255\n", c == 3 and 6 or 5, w, h), px)
  f:close()
  local it = sp:item(i)
  labels:write(string.format("%d %d %s\n", i, it.label, it.name))
end
labels:close()
