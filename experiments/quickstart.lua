-- quickstart.lua — the embedded default that `scripts/demo` runs.
--
-- What it shows: the whole path Lua -> core -> layer plugin -> Vulkan shader -> tensor -> HDF5
-- archive. Until the dataset, model and training issues land, it draws a seeded batch of
-- random "activations", runs the relu layer forward and backward on the device, checks both
-- against the plugin's CPU twin, and archives inputs, outputs, gradients and a summary.
-- Time here: about a second on lavapipe (2 cores).
-- Options: arg[1] = archive path (default runs/quickstart.h5), arg[2] = seed (default 1).
local loupe = require "loupe"

local out = arg[1] or "runs/quickstart.h5"
local seed = math.tointeger(tonumber(arg[2] or "1"))
loupe.seed(seed)

os.execute("mkdir -p " .. (out:match("^(.*)/[^/]*$") or "."))
local run <close> = loupe.archive(out, { script = arg[0] })

local batch, features = 64, 256
local x = loupe.randn { shape = { batch, features } }
local dy = loupe.randn { shape = { batch, features } }
local relu = loupe.layer("relu", { slope = 0 })

local y = relu:forward(x)
local dx = relu:backward(x, y, dy)

-- the device result against the plugin's CPU twin, element by element
local function max_abs_diff(a, b)
  local ta, tb, m = a:totable(), b:totable(), 0
  for i = 1, #ta do m = math.max(m, math.abs(ta[i] - tb[i])) end
  return m
end
local err_fwd = max_abs_diff(y, relu:forward_ref(x))
local err_bwd = max_abs_diff(dx, relu:backward_ref(x, y, dy))
assert(err_fwd == 0 and err_bwd == 0,
       ("device and CPU disagree: forward %g, backward %g"):format(err_fwd, err_bwd))

local active = 0
for _, v in ipairs(y:totable()) do if v > 0 then active = active + 1 end end
local frac = active / (batch * features)

local axes = { axes = { "item", "feature" } }
run:write("/quickstart/x", x, axes)
run:write("/quickstart/relu", y, axes)
run:write("/quickstart/dy", dy, axes)
run:write("/quickstart/dx", dx, axes)
run:attr("/quickstart", "layer", tostring(relu))
run:attr("/quickstart", "active_fraction", frac)
run:attr("/quickstart", "max_abs_error_forward", err_fwd)
run:attr("/quickstart", "max_abs_error_backward", err_bwd)

local dev = loupe.device()
io.stderr:write(("quickstart: relu on %s, %d x %d, %.1f%% active, device == CPU twin; " ..
                 "archive %s\n"):format(dev.name, batch, features, 100 * frac, out))
