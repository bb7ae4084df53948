-- wrk script for bench/load/run.sh: POSTs the sealed body in $HV_BENCH_BODY with the API key in
-- $HV_BENCH_API_KEY (the server decrypts, runs and seals a result for every request: only the
-- body is replayed), and counts the answers by HTTP status and by error_code. Prints them at the
-- end as "status NNN COUNT" and "error_code CODE COUNT" lines.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("HV_BENCH_API_KEY")
local f = assert(io.open(os.getenv("HV_BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()

-- $HV_BENCH_API_KEYS (comma-separated), when set, replaces the one key: each connection sends
-- its requests with the keys in turn, so every key keeps requests in flight (bench/load/run.sh's
-- tenants scenario).
local keys = {}
for k in string.gmatch(os.getenv("HV_BENCH_API_KEYS") or "", "[^,]+") do table.insert(keys, k) end
local next_key = 0
if #keys > 0 then
  function request()
    next_key = next_key % #keys + 1
    wrk.headers["X-API-Key"] = keys[next_key]
    return wrk.format(nil, nil, wrk.headers, wrk.body)
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  codes = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 then
    local code = body and body:match('"error_code":"([A-Z_]+)"') or "none"
    codes[code] = (codes[code] or 0) + 1
  end
end

function done(summary, latency, requests)
  local s, c = {}, {}
  for _, t in ipairs(threads) do
    for k, n in pairs(t:get("statuses")) do s[k] = (s[k] or 0) + n end
    for k, n in pairs(t:get("codes")) do c[k] = (c[k] or 0) + n end
  end
  for k, n in pairs(s) do io.write(string.format("status %d %d\n", k, n)) end
  for k, n in pairs(c) do io.write(string.format("error_code %s %d\n", k, n)) end
end
