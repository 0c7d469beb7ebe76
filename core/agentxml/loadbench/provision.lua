-- provision.lua: wrk script for `make bench-wrk` (.ci/wrk-bench.sh). Sets
-- up phones: redeems the provision requests that `loadbench -mode provisio
-- -devices N -devices-out FILE` wrote, then downloads security strings for
-- each new device, as a phone does after scanning its QR code. Both go to
-- /proxy/AgentXML, and each is a durable commit before the reply.
--
--   wrk -t2 -c64 -d10s --latency -s provision.lua https://127.0.0.1:PORT -- FILE THREADS
--
-- THREADS must equal wrk's -t. Each wrk thread takes the lines k with
-- k % THREADS == its id. wrk gives a script no way to tie a reply to the
-- connection that sent it, so the device Id of each provision PASS goes
-- into the thread's queue, and the thread's next request, on whichever
-- connection asks first, is that device's securitystrings; otherwise it is
-- the next provision. A device counts once its strings arrived: 100 strings
-- of 10 digits in a PASS.
--
-- A provision request is never sent twice: a thread that has neither a
-- queued device nor a provision left stops (wrk.thread:stop()) and its last
-- request fails; done() then reports exhausted=1 and the run is not valid.
-- Size -devices so that it never happens.
--
-- done() prints the RESULT line of ping.lua (every request counted,
-- pass = replies that were a PASS of their kind) plus devices=N (complete
-- phones set up) and provisioned=N.

local threads = {}
local nextID = 0

function setup(thread)
  thread:set("tid", nextID)
  nextID = nextID + 1
  table.insert(threads, thread)
end

function init(args)
  pass, fail, exhausted, devices, provisioned = 0, 0, 0, 0, 0
  local path, nthreads = args[1], tonumber(args[2])
  if not path or not nthreads then
    error("provision.lua: usage: -- PROVISION_FILE THREADS")
  end
  local f = assert(io.open(path, "r"))
  local header = f:read("*l")
  if not (header and header:match("^# loadbench provision bodies devices=%d+")) then
    error("provision.lua: " .. path .. " has no loadbench header")
  end
  headers = { ["Content-Type"] = "application/xml" }
  reqs, n, pos = {}, 0, 0
  local k = 0
  for line in f:lines() do
    if k % nthreads == tid then
      n = n + 1
      reqs[n] = wrk.format("POST", "/proxy/AgentXML", headers, line)
    end
    k = k + 1
  end
  f:close()
  -- Device Ids waiting for their download, oldest first.
  queue, qhead, qtail = {}, 1, 0
  bad = wrk.format("POST", "/proxy/AgentXML", headers,
    '<?xml version="1.0" ?><SASRequest><Version>3.6</Version><Action>provision</Action>' ..
    '<Username>loadbench-exhausted</Username><ProvisionCode>none</ProvisionCode></SASRequest>')
end

function request()
  if qhead <= qtail then
    local id = queue[qhead]
    queue[qhead] = nil
    qhead = qhead + 1
    return wrk.format("POST", "/proxy/AgentXML", headers,
      '<?xml version="1.0" ?><SASRequest><Version>3.6</Version><Action>securitystrings</Action><Id>' ..
      id .. '</Id></SASRequest>')
  end
  pos = pos + 1
  if pos > n then
    exhausted = 1
    wrk.thread:stop()
    return bad
  end
  return reqs[pos]
end

function response(status, headers, body)
  if status ~= 200 or not body:find("<Result>PASS</Result>", 1, true) then
    fail = fail + 1
    return
  end
  local strs = body:match("<SecurityStrings>([%d;]+)</SecurityStrings>")
  if strs then
    if #strs == 100 * 10 + 99 then
      pass = pass + 1
      devices = devices + 1
    else
      fail = fail + 1
    end
    return
  end
  local id = body:match("<Id>(%x+)</Id>")
  if id and #id == 32 then
    pass = pass + 1
    provisioned = provisioned + 1
    qtail = qtail + 1
    queue[qtail] = id
  else
    fail = fail + 1
  end
end

function done(summary, latency, requests)
  local p, f, x, d, pr = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    p = p + t:get("pass")
    f = f + t:get("fail")
    x = math.max(x, t:get("exhausted"))
    d = d + t:get("devices")
    pr = pr + t:get("provisioned")
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d pass=%d fail=%d errors=%d exhausted=%d devices=%d provisioned=%d devices_per_s=%.1f\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    p, f, e.connect + e.read + e.write + e.status + e.timeout, x, d, pr, d / secs))
end
