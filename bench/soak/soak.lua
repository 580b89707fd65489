-- wrk script for the soak run: replays request lines (`PATH<TAB>X-FORWARDED-URI<TAB>AUTHORIZATION`, empty fields
-- = header absent; with a URI, `X-Forwarded-Method: GET` is sent too) in order, each thread from its own offset, and counts response statuses per thread.
-- Usage: wrk ... -s soak.lua URL -- LINES
local reqs, pos = {}, 0
local threads = {}
counts = {} -- global: done() reads each thread's copy with thread:get

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do
    local path, xfu, auth = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    if xfu ~= "" then
      headers["X-Forwarded-Method"] = "GET"
      headers["X-Forwarded-Uri"] = xfu
    end
    if auth ~= "" then headers["Authorization"] = auth end
    reqs[#reqs + 1] = wrk.format("GET", path, headers)
  end
  pos = (id or 0) * 7919 % #reqs
end

function request()
  pos = pos + 1
  if pos > #reqs then pos = 1 end
  return reqs[pos]
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for status, n in pairs(c) do total[status] = (total[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(total) do parts[#parts + 1] = string.format('"%d":%d', status, n) end
  local e = summary.errors
  io.write(string.format(
    'SOAK {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ",")))
end
