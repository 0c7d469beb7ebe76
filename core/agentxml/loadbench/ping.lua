-- ping.lua: wrk script for `make bench-wrk` (.ci/wrk-bench.sh). Posts an
-- AgentXML ping to /pinsafe/AgentXML and counts the replies that hold
-- <Result>PASS</Result>. The bare baseline server gets the same script, so
-- both pay the same client-side cost (one request() and one response()
-- call per request); login.lua does the same amount of work per request.
--
--   wrk -t2 -c64 -d10s --latency -s ping.lua https://127.0.0.1:PORT
--
-- done() prints one line for the script to parse:
--   RESULT requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N
--          max_us=N pass=N fail=N errors=N exhausted=0

local body = '<?xml version="1.0" ?><SASRequest><Version>3.6</Version><Action>ping</Action></SASRequest>'
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  pass, fail = 0, 0
  req = wrk.format("POST", "/pinsafe/AgentXML", { ["Content-Type"] = "application/xml" }, body)
end

function request()
  return req
end

function response(status, headers, body)
  if status == 200 and body:find("<Result>PASS</Result>", 1, true) then
    pass = pass + 1
  else
    fail = fail + 1
  end
end

function done(summary, latency, requests)
  local p, f = 0, 0
  for _, t in ipairs(threads) do
    p = p + t:get("pass")
    f = f + t:get("fail")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d pass=%d fail=%d errors=%d exhausted=0\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    p, f, e.connect + e.read + e.write + e.status + e.timeout))
end
