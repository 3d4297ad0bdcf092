-- analyze_api.lua SCRATCH — loupe.analyze from Lua: results checked against counts made here,
-- the archive published (another reader sees /analyses), and bad calls named.
local loupe = require "loupe"
local path = assert(arg[1], "usage: analyze_api.lua SCRATCH") .. "/analyze_api.h5"
loupe.seed(9)
local K, N = 4, 60
local run <close> = loupe.archive(path)
run:write_strings("/dataset/classes", { "a", "b", "c", "d" }, { axis = "class" })
local labels, probs, want = {}, {}, {}
for c = 0, K * K - 1 do want[c] = 0 end
for i = 1, N do
  local y = (i * 7) % K
  local row, best, sum = {}, 0, 0
  for c = 0, K - 1 do
    row[c] = math.random() + (c == y and 1 or 0) + (y == 1 and c == 2 and 1.5 or 0)
    sum = sum + row[c]
  end
  for c = 0, K - 1 do
    row[c] = row[c] / sum
    if row[c] > row[best] then best = c end
    probs[#probs + 1] = row[c]
  end
  labels[i] = y
  want[y * K + best] = want[y * K + best] + 1
end
run:write("/dataset/test/labels", labels, { dtype = "int32", axes = { "item" } })
run:write("/predictions/test/probs", probs, { shape = { N, K }, axes = { "item", "class" } })
local r = loupe.analyze(run, { "confusion", confusion = { top = 2 } })
local off = 0
for c = 0, K * K - 1 do
  if c // K ~= c % K and want[c] > 0 then off = off + 1 end
end
assert(r.confusion.findings == math.min(2, off) and r.confusion.group == "/analyses/confusion",
       ("%s confused pairs for top = 2, of %d"):format(r.confusion.findings, off))
local m = run:read("/analyses/confusion/test/matrix"):totable()
for c = 0, K * K - 1 do
  assert(m[c + 1] == want[c], ("matrix entry %d: %s, counted here %d"):format(c, m[c + 1],
         want[c]))
end
-- published: a reader opening the path sees the analysis (the run is still open here)
local other <close> = loupe.archive(path, { mode = "read" })
assert(other:get_attr("/analyses/confusion", "plugin") == "confusion", "committed")

local function fails(want, ...)
  local ok, err = pcall(loupe.analyze, ...)
  assert(not ok and tostring(err):find(want, 1, true), ("%q does not hold %q"):format(
         tostring(err), want))
  print("ok: " .. tostring(err))
end
fails("'confuson' is not one of the analyses asked for", run, { "confusion", confuson = {} })
fails("unknown parameter 'tpo' (did you mean 'top'?", run, { "confusion",
      confusion = { tpo = 1 } })
fails("no analysis plugin 'nope'", run, { "nope" })
fails("entry 1 of the list is a number", run, { 5 })
print("analyze_api: ok")
