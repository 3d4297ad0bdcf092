-- stock_lua.lua — the module loads into Debian's lua5.4 as loupe.so (LUA_CPATH) and does
-- real work there: relu on the device, checked here.
local loupe = require "loupe"
assert(loupe.version:match("^%d+%.%d+%.%d+$"), "version")
local x = loupe.tensor { data = { -2, -0.5, 0, 0.5, 2 } }
local y = loupe.layer("relu"):forward(x):totable()
local want = { 0, 0, 0, 0.5, 2 }
for i = 1, #want do assert(y[i] == want[i], ("y[%d] = %g"):format(i, y[i])) end
assert(loupe.device().name ~= "", "device name")
-- the Lua half loads too: models and the training functions
assert(type(loupe.train) == "function" and type(loupe.predict) == "function", "loupe.train")
local net = require "loupe.models.alexnet_mini" { classes = 3, width = 0.125 }
assert(net:input()[3] == 32, "alexnet_mini from stock lua")
print("stock_lua: ok on " .. loupe.device().name)
