-- login.lua: wrk script for `make bench-wrk` (.ci/wrk-bench.sh). Sends the
-- login bodies that `loadbench -mode provisio -out FILE` wrote, each one a
-- valid one-time code that the server spends with a durable commit, and
-- counts the replies that hold <Result>PASS</Result>.
--
--   wrk -t2 -c64 -d10s --latency -s login.lua https://127.0.0.1:PORT -- FILE THREADS
--
-- THREADS must equal wrk's -t. The file starts with a header line
-- "# loadbench login codes users=U per_user=M" followed by U*M bodies in
-- index-major order: line k (from 0) is user k % U's code for index k / U.
-- Each wrk thread takes the users u with u % THREADS == its id, so no two
-- threads ever hold codes of the same user, and sends its lines in file
-- order: a user's next code comes U/THREADS requests later, far more than
-- the requests in flight, so the codes reach the server in index order.
--
-- A code is never sent twice: a thread that runs out stops (wrk.thread:stop())
-- and its last request is a login for a user that does not exist, which
-- fails; done() then reports exhausted=1 and the run is not valid. Size the
-- file so that it never happens (2000 users x 100 codes lasts any 10 s run
-- on a 2-core machine).
--
-- done() prints the same RESULT line as ping.lua.

local threads = {}
local nextID = 0

function setup(thread)
  thread:set("tid", nextID)
  nextID = nextID + 1
  table.insert(threads, thread)
end

function init(args)
  pass, fail, exhausted = 0, 0, 0
  -- wrk passes the URL as args[0] and the words after "--" from args[1].
  local path, nthreads = args[1], tonumber(args[2])
  if not path or not nthreads then
    error("login.lua: usage: -- CODES_FILE THREADS")
  end
  local f = assert(io.open(path, "r"))
  local header = f:read("*l")
  local users = tonumber(header and header:match("users=(%d+)"))
  if not users then
    error("login.lua: " .. path .. " has no loadbench header")
  end
  local headers = { ["Content-Type"] = "application/xml" }
  reqs, n, pos = {}, 0, 0
  local k = 0
  for line in f:lines() do
    if (k % users) % nthreads == tid then
      n = n + 1
      reqs[n] = wrk.format("POST", "/pinsafe/AgentXML", headers, line)
    end
    k = k + 1
  end
  f:close()
  bad = wrk.format("POST", "/pinsafe/AgentXML", headers,
    '<?xml version="1.0" ?><SASRequest><Version>3.6</Version><Secret>none</Secret>' ..
    '<Action>login</Action><Username>loadbench-exhausted</Username><OTC>000000</OTC></SASRequest>')
end

function request()
  pos = pos + 1
  if pos > n then
    exhausted = 1
    wrk.thread:stop()
    return bad
  end
  return reqs[pos]
end

function response(status, headers, body)
  if status == 200 and body:find("<Result>PASS</Result>", 1, true) then
    pass = pass + 1
  else
    fail = fail + 1
  end
end

function done(summary, latency, requests)
  local p, f, x, sent = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    p = p + t:get("pass")
    f = f + t:get("fail")
    x = math.max(x, t:get("exhausted"))
    sent = sent + math.min(t:get("pos"), t:get("n"))
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d pass=%d fail=%d errors=%d exhausted=%d sent=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    p, f, e.connect + e.read + e.write + e.status + e.timeout, x, sent))
end
