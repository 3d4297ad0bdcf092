-- A runtime error must fail non-zero with this file's name and the line below.
local loupe = require "loupe"
local x = loupe.randn { shape = { 4 } }
local settings = nil
return x, settings.epochs -- line 5: indexing nil
