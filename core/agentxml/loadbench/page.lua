-- page.lua: wrk script for `make bench-wrk` (.ci/wrk-bench.sh). Loads the
-- mobile web client (#10) the way a phone opening the Provision URL does:
-- the page, then its script, style sheet and storage script, in turn, each
-- a GET answered 200 with the file. Counts 200s with a body as pass. The
-- bodies are larger than a ping's, so its % of the bare ping is a cost of
-- serving files, not of the protocol layer.
--
--   wrk -t2 -c64 -d10s --latency -s page.lua https://127.0.0.1:PORT
--
-- done() prints the same RESULT line as ping.lua.

local paths = { "/userportal/app/", "/userportal/app/app.js", "/userportal/app/app.css", "/userportal/app/store.js" }
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  pass, fail, i = 0, 0, 0
  reqs = {}
  for k, p in ipairs(paths) do
    reqs[k] = wrk.format("GET", p)
  end
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

function response(status, headers, body)
  if status == 200 and body and #body > 0 then
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
