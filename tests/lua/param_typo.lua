-- A typo in a plugin parameter must fail, naming the key and the plugin.
local loupe = require "loupe"
local relu = loupe.layer("relu", { slop = 0.1 })
print(relu)
