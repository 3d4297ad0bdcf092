-- bench/alexnet.lua — AlexNet speed on this device, side by side with PyTorch, as JSON.
--
--   LP_NUM_THREADS=1 build/loupe run --quiet bench/alexnet.lua [steps] > alexnet.json
--
-- For AlexNet-224 (torchvision variant) at batch 32 and alexnet_mini at batch 64: per-layer
-- forward and backward milliseconds and GFLOP/s (from the device timestamps), training and
-- inference images/s. bench/alexnet runs this and PyTorch's side (bench/alexnet_torch.py)
-- in the same run and merges them with the ratios.
local loupe = require "loupe"
local alexnet = require "loupe.models.alexnet"
local mini = require "loupe.models.alexnet_mini"
local steps = tonumber(arg[1] or "2")

local function json(v, indent)
  indent = indent or ""
  local t = type(v)
  if t == "number" then
    return (v ~= v or v == math.huge) and "null" or (math.type(v) == "integer" and tostring(v)
      or ("%.4g"):format(v))
  elseif t == "string" then return ("%q"):format(v)
  elseif t == "boolean" then return tostring(v)
  elseif t == "nil" then return "null" end
  local keys, arr = {}, #v > 0
  if arr then
    local parts = {}
    for i = 1, #v do parts[i] = json(v[i], indent .. "  ") end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = indent .. "  " .. ("%q"):format(k) .. ": " .. json(v[k], indent .. "  ") end
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
end

-- time one call, several times; the median in seconds and the profile of the last run
local function timed(fn, reps)
  local t = {}
  for i = 1, reps do
    local t0 = loupe.now()
    fn()
    t[i] = loupe.now() - t0
  end
  table.sort(t)
  return t[(reps + 1) // 2], loupe.profile()
end

local function measure(name, net, batch, item)
  local shape = { batch }
  for _, d in ipairs(item) do shape[#shape + 1] = d end
  local x = loupe.randn { shape = shape }
  local lab = {}
  for i = 1, batch do lab[i] = (i - 1) % 10 end
  local labels = loupe.tensor { data = lab, dtype = "int32" }
  local opts = { lr = 0.001, momentum = 0.9, weight_decay = 5e-4 }
  net:train_step(x, labels, opts) -- compile every pipeline first
  net:predict(x)
  loupe.set_profile(true)
  local train_s, prof = timed(function() net:train_step(x, labels, opts) end, steps)
  local infer_s = timed(function() net:predict(x) end, steps)
  loupe.set_profile(false)
  -- entries come in dispatch order: forward layers, the loss, backward layers, SGD; a kernel's
  -- name does not say the direction (conv2d's data gradient reuses its forward kernel)
  local per, phase = {}, "forward"
  for _, e in ipairs(prof) do
    local layer = e.kernel:match("^([^/]+)/") or "?"
    if layer == "loss" then
      phase = "backward"
    elseif layer ~= "sgd" then
      per[layer] = per[layer] or { forward_ms = 0, backward_ms = 0 }
      per[layer][phase .. "_ms"] = per[layer][phase .. "_ms"] + e.ms
    end
  end
  local layers = {}
  for i, l in ipairs(net:layers()) do
    local p = per[l.name] or { forward_ms = 0, backward_ms = 0 }
    local fwd_flop = 2 * l.macs * batch
    layers[#layers + 1] = {
      name = l.name, type = l.type, forward_ms = p.forward_ms, backward_ms = p.backward_ms,
      forward_gflops = l.type:match("conv2d|linear") and fwd_flop / (p.forward_ms * 1e6) or nil,
      -- backward: weight gradient + data gradient (the first layer has no data gradient)
      backward_gflops = fwd_flop * (i == 1 and 1 or 2) / (p.backward_ms * 1e6),
    }
    if l.type ~= "conv2d" and l.type ~= "linear" then
      layers[#layers].forward_gflops, layers[#layers].backward_gflops = nil, nil
    else
      layers[#layers].forward_gflops = fwd_flop / (p.forward_ms * 1e6)
    end
  end
  return {
    model = name, batch = batch, train_images_per_s = batch / train_s,
    inference_images_per_s = batch / infer_s, train_step_s = train_s, layers = layers,
  }
end

local results = {
  bench = "alexnet", device = loupe.device().name, driver = loupe.device().driver,
  lp_num_threads = os.getenv("LP_NUM_THREADS") or "default", steps = steps,
}
loupe.seed(1)
results.alexnet224 = measure("alexnet-torchvision-224", alexnet { classes = 1000 }, 32, { 3, 224, 224 })
results.alexnet_mini = measure("alexnet_mini", mini { classes = 10 }, 64, { 3, 32, 32 })

print(json(results))
