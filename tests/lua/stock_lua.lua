-- stock_lua.lua — the module loads into Debian's lua5.4 as loupe.so (LUA_CPATH) and does
-- real work there: relu on the device, checked here.
local loupe = require "loupe"
assert(loupe.version:match("^%d+%.%d+%.%d+$"), "version")
local x = loupe.tensor { data = { -2, -0.5, 0, 0.5, 2 } }
local y = loupe.layer("relu"):forward(x):totable()
local want = { 0, 0, 0, 0.5, 2 }
for i = 1, #want do assert(y[i] == want[i], ("y[%d] = %g"):format(i, y[i])) end
assert(loupe.device().name ~= "", "device name")
print("stock_lua: ok on " .. loupe.device().name)
