-- determinism.lua — two runs of 5 training steps with the same seed give bit-identical
-- weights; another seed gives different ones (alexnet_mini, dropout on).
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"

local function run(seed)
  loupe.seed(seed)
  local net = mini { classes = 10, width = 0.125 }
  local x = loupe.randn { shape = { 8, 3, 32, 32 } }
  local labels = loupe.tensor { data = { 0, 1, 2, 3, 4, 5, 6, 7 }, dtype = "int32" }
  for step = 1, 5 do
    local loss = net:train_step(x, labels, { lr = 0.01, momentum = 0.9, weight_decay = 5e-4 })
    assert(loss == loss and loss < 1e6, ("seed %d step %d: loss %g"):format(seed, step, loss))
  end
  local w = {}
  for _, name in ipairs(net:params()) do w[name] = net:param(name):totable() end
  return w
end

local a, b, c = run(1), run(1), run(2)
local same, differ, n = true, false, 0
for name, wa in pairs(a) do
  for i = 1, #wa do
    n = n + 1
    same = same and wa[i] == b[name][i]  -- exact: bit-identical floats compare equal
    differ = differ or wa[i] ~= c[name][i]
  end
end
assert(n > 10000, "too few weights: " .. n)
assert(same, "same seed, different weights")
assert(differ, "different seeds, same weights")
print(("determinism: ok (%d weights bit-identical across runs; another seed differs)"):format(n))
