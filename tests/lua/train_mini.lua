-- train_mini.lua — the whole training path learns: alexnet_mini on 10 classes of coloured
-- shapes at 32x32 (made here: class = shape and colour, random position, size and noise)
-- must reach >= 90% training accuracy (measured in inference mode over the whole set).
local loupe = require "loupe"
local mini = require "loupe.models.alexnet_mini"
loupe.seed(3)
local rng = 12345
local function rand() -- the test's own LCG, independent of loupe's RNG
  rng = (rng * 1103515245 + 12345) % 2147483648
  return rng / 2147483648
end

local C, PER, S = 10, 12, 32
local colours = { { 1, .1, .1 }, { .1, 1, .1 }, { .1, .1, 1 }, { 1, 1, .1 }, { 1, .1, 1 } }
local inside = {
  function(dx, dy, r) return math.abs(dx) < r and math.abs(dy) < r end,            -- square
  function(dx, dy, r) return dx * dx + dy * dy < r * r end,                         -- disc
  function(dx, dy, r) return math.abs(dy) < r / 3 and math.abs(dx) < r end,         -- bar
  function(dx, dy, r) return (math.abs(dx) < r / 3 or math.abs(dy) < r / 3)
                             and math.abs(dx) < r and math.abs(dy) < r end,         -- cross
}
local function image(c, out, base)
  local shape, colour = inside[c % 4 + 1], colours[c % 5 + 1]
  local r = 5 + rand() * 5
  local cx, cy = r + rand() * (S - 2 * r), r + rand() * (S - 2 * r)
  for y = 0, S - 1 do
    for x = 0, S - 1 do
      local on = shape(x - cx, y - cy, r)
      for ch = 1, 3 do
        local v = (on and colour[ch] or 0.3) + (rand() - 0.5) * 0.2
        out[base + (ch - 1) * S * S + y * S + x + 1] = v
      end
    end
  end
end

local N, B = C * PER, 20
local order = {}
for i = 1, N do order[i] = (i - 1) % C end
for i = N, 2, -1 do local j = math.floor(rand() * i) + 1; order[i], order[j] = order[j], order[i] end
local batches = {}
for b = 0, N // B - 1 do
  local data, labels = {}, {}
  for i = 1, B do
    local c = order[b * B + i]
    image(c, data, (i - 1) * 3 * S * S)
    labels[i] = c
  end
  batches[#batches + 1] = {
    x = loupe.tensor { shape = { B, 3, S, S }, data = data },
    y = loupe.tensor { data = labels, dtype = "int32" },
  }
end

local net = mini { classes = C, width = 0.25, dropout = 0 }
local t0, acc = os.clock(), 0
for epoch = 1, 40 do
  local loss = 0
  for _, b in ipairs(batches) do
    loss = loss + net:train_step(b.x, b.y, { lr = 0.01, momentum = 0.9, weight_decay = 5e-4 })
  end
  local correct = 0
  for _, b in ipairs(batches) do
    local probs = net:predict(b.x):totable()
    local want = b.y:totable()
    for i = 1, B do
      local best = 1
      for j = 2, C do if probs[(i - 1) * C + j] > probs[(i - 1) * C + best] then best = j end end
      if best - 1 == want[i] then correct = correct + 1 end
    end
  end
  acc = correct / N
  io.stderr:write(("train_mini: epoch %d loss %.3f train accuracy %.3f (%.0f s cpu)\n")
                  :format(epoch, loss / #batches, acc, os.clock() - t0))
  if acc >= 0.9 then break end
end
assert(acc >= 0.9, ("training accuracy %.3f < 0.90"):format(acc))
print(("train_mini: ok (%.1f%% training accuracy)"):format(100 * acc))
