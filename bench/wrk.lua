-- Drives one bench/run scenario: each request takes a random line from the file named
-- by BENCH_PATHS (a path, and optionally a tab and the ETag to send as If-None-Match),
-- or POSTs the file named by BENCH_BODY to BENCH_PATH; with BENCH_MIX=N as well, N
-- requests in a hundred are such POSTs and the rest GETs of the paths.
-- done() prints one machine-readable line for bench/run to collect.

local paths = {}
local tags = {}
local body = nil
local mix = tonumber(os.getenv("BENCH_MIX") or "")
local key = os.getenv("BENCH_KEY")

function init(args)
  local file = os.getenv("BENCH_PATHS")
  if file then
    for line in io.lines(file) do
      local path, tag = line:match("^([^\t]+)\t(.+)$")
      paths[#paths + 1] = path or line
      tags[#tags + 1] = tag or false
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
  if body and (not mix or math.random(100) <= mix) then
    return wrk.format("POST", os.getenv("BENCH_PATH"), {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. key,
    }, body)
  end
  local i = math.random(#paths)
  if tags[i] then
    return wrk.format("GET", paths[i], { ["If-None-Match"] = tags[i] })
  end
  return wrk.format("GET", paths[i])
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, errors))
end
