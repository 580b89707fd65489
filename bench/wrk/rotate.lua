-- wrk script: rotate Bearer tokens read from a file (one per line), optionally in the order given by a
-- sequence file (one 1-based token index per line). Requests are formatted once in init(), so the per-request
-- cost in wrk is a table lookup. Usage: wrk ... -s rotate.lua URL -- TOKENS START [SEQ]
-- START: 0-based position in the rotation to begin at (warm-up runs use a disjoint part).
local reqs, order, pos, n = {}, nil, 0, 0

function init(args)
  local file, start, seqfile = args[1], tonumber(args[2] or "0"), args[3]
  local headers = { ["X-Forwarded-Method"] = "GET", ["X-Forwarded-Uri"] = "/api/peers" }
  for line in io.lines(file) do
    headers["Authorization"] = "Bearer " .. line
    reqs[#reqs + 1] = wrk.format("GET", nil, headers)
  end
  if seqfile and seqfile ~= "" then
    order = {}
    for line in io.lines(seqfile) do order[#order + 1] = tonumber(line) end
    n = #order
  else
    n = #reqs
  end
  pos = start % n
end

function request()
  pos = pos + 1
  if pos > n then pos = 1 end
  if order then return reqs[order[pos]] end
  return reqs[pos]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
