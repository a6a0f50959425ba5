-- Drives one bench/run scenario: each request takes a random path from the file named
-- by BENCH_PATHS (one per line), or POSTs the file named by BENCH_BODY to BENCH_PATH.
-- done() prints one machine-readable line for bench/run to collect.

local paths = {}
local body = nil
local key = os.getenv("BENCH_KEY")

function init(args)
  local file = os.getenv("BENCH_PATHS")
  if file then
    for line in io.lines(file) do
      paths[#paths + 1] = line
    end
  end
  local body_file = os.getenv("BENCH_BODY")
  if body_file then
    local f = assert(io.open(body_file, "rb"))
    body = f:read("*a")
    f:close()
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  if body then
    return wrk.format("POST", os.getenv("BENCH_PATH"), {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. key,
    }, body)
  end
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, errors))
end
