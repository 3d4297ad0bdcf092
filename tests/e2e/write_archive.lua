-- write_archive.lua ARCHIVE — writes the values that check_archive.py recomputes on its own.
local loupe = require "loupe"
loupe.seed(1234)
local path = assert(arg[1], "usage: write_archive.lua ARCHIVE")
local run <close> = loupe.archive(path)
local data = {}
for i = 0, 3 do
  for j = 0, 5 do data[#data + 1] = (i * 6 + j) * 0.25 - 3 end
end
local x = loupe.tensor { shape = { 4, 6 }, data = data }
local y = loupe.layer("relu"):forward(x)
run:write("/demo/x", x, { axes = { "item", "feature" } })
run:write("/demo/relu", y, { axes = { "item", "feature" } })
run:write("/demo/labels", { 3, 1, 4, 1 }, { dtype = "int32", axes = { "item" } })
run:write_strings("/demo/names", { "bar", "deli", "café", "日本" }, { axis = "item" })
run:attr("/demo", "note", "relu check")
run:attr("/demo", "scale", 0.25)
run:attr("/demo", "count", 4)
