-- The Oceanus-style router (the seed article, "Runtime Policy Rendering"), as the baseline of
-- `npm run bench`: in nginx's rewrite phase, for each policy the matched location lists, in
-- order: read the policy's key from the request by its passway, substitute the value into the
-- policy's condition template, compile the rendered source with Lua's load(), run it, and on
-- `true` switch the request's upstream to the policy's group. No cache of compiled conditions:
-- the article renders and loads per request, and so does this.
--
-- Favourable to the baseline: the policies are a per-worker Lua table loaded at start
-- (init_by_lua), whereas Oceanus reads them from a shared-memory double buffer (a dictionary
-- read and decode per request, not modelled here); and the route is found by one table lookup
-- on "host location" (Oceanus's loc_name variable is a patch to nginx, not available here).
local M = {}

local policies -- name → { key, passway, condition, group, enabled }
local routes -- "host location" → { policy names, in order }

-- What a rendered condition may call: no io, os, require or globals.
local sandbox = { tonumber = tonumber, tostring = tostring, math = math, string = string }

-- The condition of `policy` rendered for `value`, compiled; nil and the error when it does not compile.
local function render(policy, value)
  local quoted = string.format("%q", value)
  local source = "return " .. policy.condition:gsub("%$key", function()
    return quoted
  end)
  return load(source, "=policy", "t", sandbox)
end

-- init_by_lua: loads the store; every condition must compile and give a boolean for a sample
-- value ("7"), or nginx refuses to start (so a template error cannot pass as "no match").
function M.init(path)
  local data = dofile(path)
  policies, routes = data.policies, data.routes
  for name, policy in pairs(policies) do
    local condition, err = render(policy, "7")
    local ok, result = false, err
    if condition then
      ok, result = pcall(condition)
    end
    if not ok or type(result) ~= "boolean" then
      error("oceanus: policy " .. name .. " (" .. policy.condition .. "): " .. tostring(result))
    end
  end
end

-- The key's value as the request carries it, by passway; nil when absent.
local function extract(key, passway)
  if passway == "query" then
    return ngx.var["arg_" .. key]
  elseif passway == "header" then
    return ngx.var["http_" .. key:lower():gsub("-", "_")]
  elseif passway == "cookie" then
    return ngx.var["cookie_" .. key]
  end
  return nil
end

-- rewrite_by_lua: sets $oceanus_group when a policy matches; else the location's default stays.
function M.rewrite(location)
  local names = routes[ngx.var.host .. " " .. location] or routes["* " .. location]
  if not names then
    return
  end
  for i = 1, #names do
    local policy = policies[names[i]]
    if policy and policy.enabled then
      local value = extract(policy.key, policy.passway)
      if value then
        local condition = render(policy, value)
        if condition then
          local ok, result = pcall(condition)
          if ok and result == true then
            ngx.var.oceanus_group = policy.group
            return
          end
        end
      end
    end
  end
end

return M
