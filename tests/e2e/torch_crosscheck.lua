-- torch_crosscheck.lua VARIANT WEIGHTS INPUT OUT — the loupe half of torch_crosscheck.py:
-- logits, loss, gradients, then weights after 3 SGD steps, all written to OUT, with the input
-- of every ReLU at each pass (so PyTorch can follow the same linear pieces).
local loupe = require "loupe"
local alexnet = require "loupe.models.alexnet"
local variant, weights, input, out = arg[1], arg[2], arg[3], arg[4]
assert(out, "usage: torch_crosscheck.lua VARIANT WEIGHTS INPUT OUT")

local net = alexnet { variant = variant, classes = 10, dropout = 0 }
net:load(weights, { momentum = false })
local inp <close> = loupe.archive(input, { mode = "read" })
local x, labels = inp:read("/x"), inp:read("/labels")

local run <close> = loupe.archive(out)
local layers = net:layers()
local function relu_inputs(pass)
  for i, l in ipairs(layers) do
    if l.type == "relu" then
      run:write(("/relu_in/%d/%s"):format(pass, l.name), net:activation(layers[i - 1].name))
    end
  end
end
local _, logits = net:predict(x, labels)
run:write("/logits", logits, { axes = { "item", "class" } })
local loss = net:train_step(x, labels, { update = false, dropout = false })
run:attr("/", "loss", loss)
relu_inputs(0)
for _, name in ipairs(net:params()) do run:write("/grads/" .. name, net:grad(name)) end
for pass = 1, 3 do
  net:train_step(x, labels, { lr = 0.01, momentum = 0.9, weight_decay = 5e-4, dropout = false })
  relu_inputs(pass)
end
for _, name in ipairs(net:params()) do run:write("/weights_after/" .. name, net:param(name)) end
