-- loupe.models.alexnet_mini — AlexNet's shape of network for 32x32 inputs, small enough to
-- train on a CPU in tests:
--
--   conv1 64w k5 p2 -> relu -> maxpool 3/2      32 -> 32 -> 15
--   conv2 192w k5 p2 -> relu -> maxpool 3/2     15 -> 15 -> 7
--   conv3 384w k3 p1 -> relu                     7
--   conv4 256w k3 p1 -> relu                     7
--   conv5 256w k3 p1 -> relu -> maxpool 3/2      7 -> 3
--   [dropout] fc6 1024w -> relu -> [dropout] fc7 1024w -> relu -> fc8 classes
--
-- where w is the width multiplier (channel and feature counts rounded to integers).
--   local net = require "loupe.models.alexnet_mini" { classes = 10, width = 0.25 }
-- Options: classes (default 10), width (default 1), dropout (default 0.5; 0 removes it),
-- channels (input channels, default 3), size (input side, default 32).
local alexnet = require "loupe.models.alexnet"

local layers = {
  { "conv1", "conv2d", { out = 64, kernel = 5, padding = 2 } },
  { "relu1", "relu" },
  { "pool1", "maxpool", { kernel = 3, stride = 2 } },
  { "conv2", "conv2d", { out = 192, kernel = 5, padding = 2 } },
  { "relu2", "relu" },
  { "pool2", "maxpool", { kernel = 3, stride = 2 } },
  { "conv3", "conv2d", { out = 384, kernel = 3, padding = 1 } },
  { "relu3", "relu" },
  { "conv4", "conv2d", { out = 256, kernel = 3, padding = 1 } },
  { "relu4", "relu" },
  { "conv5", "conv2d", { out = 256, kernel = 3, padding = 1 } },
  { "relu5", "relu" },
  { "pool5", "maxpool", { kernel = 3, stride = 2 } },
  { "drop6", "dropout" },
  { "fc6", "linear", { out = 1024 } },
  { "relu6", "relu" },
  { "drop7", "dropout" },
  { "fc7", "linear", { out = 1024 } },
  { "relu7", "relu" },
  { "fc8", "linear", { out = "classes" } },
}

local known = { classes = true, width = true, dropout = true, channels = true, size = true }

return function(opts)
  opts = opts or {}
  for k in pairs(opts) do
    if not known[k] then error(("alexnet_mini: unknown option '%s'"):format(k), 2) end
  end
  local size = opts.size or 32
  return alexnet.build({ layers = layers }, {
    classes = opts.classes or 10, width = opts.width or 1, dropout = opts.dropout,
    input = { opts.channels or 3, size, size },
  })
end
