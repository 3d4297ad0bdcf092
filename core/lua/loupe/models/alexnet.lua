-- loupe.models.alexnet — AlexNet (Krizhevsky, Sutskever, Hinton 2012) as a loupe.Net.
--
--   local alexnet = require "loupe.models.alexnet"
--   local net = alexnet { variant = "torchvision", classes = 67 }
--
-- variant = "torchvision" (default): 3x224x224 input, 64-192-384-256-256, no LRN, dropout
--   before fc6 and fc7 — layer for layer torchvision.models.alexnet, so its state_dict maps
--   onto these weights (scripts/export_torch_weights.py).
-- variant = "krizhevsky2012": 3x227x227, 96-256-384-384-256 with LRN (n=5, k=2, alpha=1e-4,
--   beta=0.75, PyTorch's alpha/n convention) after conv1 and conv2, conv2/4/5 in two groups as
--   the paper's two-GPU split, dropout after fc6 and fc7.
-- dropout = p (default 0.5; 0 removes the dropout layers).
local loupe = require "loupe"

local variants = {
  torchvision = {
    input = { 3, 224, 224 },
    layers = {
      { "conv1", "conv2d", { out = 64, kernel = 11, stride = 4, padding = 2 } },
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
      { "fc6", "linear", { out = 4096 } },
      { "relu6", "relu" },
      { "drop7", "dropout" },
      { "fc7", "linear", { out = 4096 } },
      { "relu7", "relu" },
      { "fc8", "linear", { out = "classes" } },
    },
  },
  krizhevsky2012 = {
    input = { 3, 227, 227 },
    layers = {
      { "conv1", "conv2d", { out = 96, kernel = 11, stride = 4 } },
      { "relu1", "relu" },
      { "lrn1", "lrn", { size = 5, alpha = 1e-4, beta = 0.75, k = 2 } },
      { "pool1", "maxpool", { kernel = 3, stride = 2 } },
      { "conv2", "conv2d", { out = 256, kernel = 5, padding = 2, groups = 2 } },
      { "relu2", "relu" },
      { "lrn2", "lrn", { size = 5, alpha = 1e-4, beta = 0.75, k = 2 } },
      { "pool2", "maxpool", { kernel = 3, stride = 2 } },
      { "conv3", "conv2d", { out = 384, kernel = 3, padding = 1 } },
      { "relu3", "relu" },
      { "conv4", "conv2d", { out = 384, kernel = 3, padding = 1, groups = 2 } },
      { "relu4", "relu" },
      { "conv5", "conv2d", { out = 256, kernel = 3, padding = 1, groups = 2 } },
      { "relu5", "relu" },
      { "pool5", "maxpool", { kernel = 3, stride = 2 } },
      { "fc6", "linear", { out = 4096 } },
      { "relu6", "relu" },
      { "drop6", "dropout" },
      { "fc7", "linear", { out = 4096 } },
      { "relu7", "relu" },
      { "drop7", "dropout" },
      { "fc8", "linear", { out = "classes" } },
    },
  },
}

local M = {}

-- Build a net from a layer list: { name, type, params }; params.out == "classes" is replaced,
-- dropout layers get p = opts.dropout (and vanish when it is 0), widths scale by opts.width.
function M.build(spec, opts)
  local classes = assert(math.tointeger(opts.classes), "alexnet: 'classes' must be an integer")
  local p, width = opts.dropout or 0.5, opts.width or 1
  local net = loupe.net { input = opts.input or spec.input }
  for _, l in ipairs(spec.layers) do
    local name, kind, params = l[1], l[2], {}
    for k, v in pairs(l[3] or {}) do params[k] = v end
    if params.out == "classes" then
      params.out = classes
    elseif params.out and width ~= 1 then
      params.out = math.max(1, math.floor(params.out * width + 0.5))
      if params.groups then params.out = params.out - params.out % params.groups end
    end
    if kind == "dropout" then params.p = p end
    if kind ~= "dropout" or p > 0 then net:add(name, kind, params) end
  end
  return net:init()
end

local known = { variant = true, classes = true, dropout = true }

return setmetatable(M, {
  __call = function(_, opts)
    opts = opts or {}
    for k in pairs(opts) do
      if not known[k] then error(("alexnet: unknown option '%s'"):format(k), 2) end
    end
    local variant = opts.variant or "torchvision"
    local spec = variants[variant]
    if not spec then
      error(("alexnet: unknown variant '%s' (torchvision, krizhevsky2012)"):format(variant), 2)
    end
    return M.build(spec, { classes = opts.classes or 1000, dropout = opts.dropout })
  end,
})
