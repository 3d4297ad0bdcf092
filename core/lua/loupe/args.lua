-- loupe.args — the command line of an experiment: `loupe run x.lua [ARCHIVE] [key=value ...]`.
--
--   local o, out = require "loupe.args"(arg, "quickstart", "runs/quickstart.h5",
--                                       { seed = 1, epochs = 5, root = "data" })
--
-- A value takes the type of its default (a number default wants a number); an unknown key is
-- an error listing the options; a bare argument is the archive path.
return function(argv, name, out, defaults)
  local o = {}
  for k, v in pairs(defaults) do o[k] = v end
  for i = 1, #argv do
    local k, v = argv[i]:match("^([%w_]+)=(.*)$")
    if not k then
      out = argv[i]
    elseif o[k] == nil then
      local keys = {}
      for key in pairs(defaults) do keys[#keys + 1] = key end
      table.sort(keys)
      error(("%s: unknown option '%s' (options: %s)"):format(name, k, table.concat(keys, ", ")), 0)
    elseif type(o[k]) == "number" then
      if not tonumber(v) then
        error(("%s: option '%s' needs a number, not '%s'"):format(name, k, v), 0)
      end
      o[k] = math.tointeger(tonumber(v)) or tonumber(v)
    else
      o[k] = v
    end
  end
  return o, out
end
