-- wrk script for every HTTP workload of bench/: the request bodies, and a JSON summary line.
-- Environment: AUTH (the Authorization header), KIND and BODY:
--   KIND=fixed  BODY is sent as is
--   KIND=cold   a coordinator route with a domain never seen before
--   KIND=mix    a coordinator route drawn from 200 keys (8 types x 25 domains)
--   KIND=job    a miner pick with a new job uuid, cycling over CLASSES (comma-separated)
local kind = os.getenv("KIND") or "fixed"
local fixed = os.getenv("BODY") or "{}"
local classes = {}
for class in string.gmatch(os.getenv("CLASSES") or "always_on.test", "[^,]+") do table.insert(classes, class) end
local types = {"graph_embed", "graph_rag_query", "fact_search", "fact_lookup", "general_query", "health_check",
               "graph_fact_query", "execute"}
local counter = 0
local statics = 0
local threads = {}

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("AUTH") or ""

function setup(thread)
  thread:set("seed", math.random(1, 2147483646))
  table.insert(threads, thread)
end

-- COUNT_STATIC=1: count coordinator routes answered statically (read from each response body)
if os.getenv("COUNT_STATIC") == "1" then
  function response(status, headers, body)
    if body and string.find(body, '"route_source":"static"', 1, true) then statics = statics + 1 end
  end
end

function init(args)
  math.randomseed(seed)
end

local function uuid4()
  return string.format("%08x-%04x-4%03x-%04x-%04x%08x", math.random(0, 2147483646), math.random(0, 65535),
    math.random(0, 4095), 32768 + math.random(0, 16383), math.random(0, 65535), math.random(0, 2147483646))
end

function request()
  counter = counter + 1
  local body = fixed
  if kind == "cold" then
    body = string.format('{"type": "graph_embed", "domain": "cold-%d-%d"}', seed, counter)
  elseif kind == "mix" then
    body = string.format('{"type": "%s", "domain": "d%d"}', types[math.random(1, #types)], math.random(0, 24))
  elseif kind == "job" then
    body = string.format('{"uuid": "%s", "executor_class": "%s", "download_time_limit": 1, ' ..
      '"execution_time_limit": 1, "upload_time_limit": 1}', uuid4(), classes[(counter % #classes) + 1])
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  local static_total = 0
  for _, thread in ipairs(threads) do static_total = static_total + (thread:get("statics") or 0) end
  io.write(string.format('WRK_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "static": %d}\n', summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), static_total))
end
