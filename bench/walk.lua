-- walk.lua - wrk script: each connection walks a list of request paths
-- (one per line, from the file named after "--"), starting at a different
-- offset, like many viewers panning different parts of the pyramid.
local paths = {}
local counter = 0
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  -- spread the threads over the list; tid is set by setup()
  counter = ((tid or 1) * 7919) % #paths
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end

function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors_status=%d p50_us=%d p99_us=%d duration_us=%d\n",
    summary.requests, summary.errors.status, latency:percentile(50), latency:percentile(99),
    summary.duration))
end
