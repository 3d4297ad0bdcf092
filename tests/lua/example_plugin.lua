-- example_plugin.lua DIR — the plugin from docs/PLUGINS.md, built by the test suite into DIR,
-- found through loupe.plugin_path and checked against its definition.
local loupe = require "loupe"
loupe.plugin_path = assert(arg[1], "usage: example_plugin.lua DIR")
local scale = loupe.layer("scale", { factor = 3 })
local x = loupe.tensor { data = { 1, -2, 0.5, 4 } }
local y = scale:forward(x):totable()
local dx = scale:backward(x, nil, loupe.tensor { data = { 1, 1, 2, -1 } }):totable()
local want_y, want_dx = { 3, -6, 1.5, 12 }, { 3, 3, 6, -3 }
for i = 1, 4 do
  assert(y[i] == want_y[i], ("y[%d] = %g, want %g"):format(i, y[i], want_y[i]))
  assert(dx[i] == want_dx[i], ("dx[%d] = %g, want %g"):format(i, dx[i], want_dx[i]))
end
local ok, err = pcall(loupe.layer, "scale", { factr = 3 })
assert(not ok and err:find("scale: unknown parameter 'factr'", 1, true), err)
print("example_plugin: ok")
