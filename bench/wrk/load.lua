-- wrk script of `npm run bench` (bench/wrk.ts runs it): GET /bench?uid=N, N cycling 0…999 per
-- thread, so the demo policy (`uid % 100 < 10` → canary) takes both outcomes, 10 % / 90 %.
--
-- SLUICE_WRK_RATE (environment, requests per second per wrk thread; unset or 0: closed loop)
-- paces the run: each request is given the next slot of a fixed schedule (one every 1/rate s,
-- from the first request on) and delay() holds its connection until that slot. wrk's timers have
-- 1 ms resolution, so sends are released on the millisecond boundary at or before their slot.
-- A connection that becomes free after its slot has passed sends at once ("late"); the schedule
-- is not shifted, so a stall is followed by a catch-up burst, as an open-loop client would send.
-- wrk times a response from its send, not from its slot: late sends are counted and the largest
-- lag reported, so a run where the schedule slipped (coordinated omission) is visible.
--
-- done() prints one line, `SLUICE_WRK {json}`: requests, duration µs, errors, latency
-- percentiles µs (wrk's histogram: 1 µs buckets), late sends, largest lag ms, and this wrk
-- process's CPU (utime + stime clock ticks from /proc/self/stat).
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } sluice_timespec;
int clock_gettime(int clk_id, sluice_timespec *tp);
]])
local timespec = ffi.new("sluice_timespec")

-- CLOCK_MONOTONIC, ms.
local function now_ms()
  ffi.C.clock_gettime(1, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local requests = {}
local index = 0
-- Per-thread counters, read by done() through thread:get().
late = 0
lag_max_ms = 0

-- SLUICE_WRK_FIELDS: the fields each request carries besides Host, as `"Name":"value"` pairs of
-- a flat JSON object (bench/wrk.ts CLIENT_FIELDS); empty: Host only.
local function client_fields()
  local fields = {}
  for name, value in string.gmatch(os.getenv("SLUICE_WRK_FIELDS") or "", '"([^"]+)":"([^"]*)"') do
    fields[name] = value
  end
  return fields
end

function init(args)
  local fields = client_fields()
  for uid = 0, 999 do
    requests[uid + 1] = wrk.format("GET", "/bench?uid=" .. uid, fields)
  end
end

function request()
  index = index % 1000 + 1
  return requests[index]
end

local rate = tonumber(os.getenv("SLUICE_WRK_RATE") or "0") or 0
if rate > 0 then
  local interval_ms = 1000 / rate
  local next_slot = nil
  -- Defined only when paced: wrk calls delay() before every request once it exists.
  function delay()
    local now = now_ms()
    next_slot = next_slot or now
    local slot = next_slot
    next_slot = next_slot + interval_ms
    local wait = slot - now
    if wait <= 0 then
      if -wait > 1 then
        late = late + 1
        if -wait > lag_max_ms then
          lag_max_ms = -wait
        end
      end
      return 0
    end
    return math.floor(wait)
  end
end

local function cpu_ticks()
  local file = io.open("/proc/self/stat", "r")
  if not file then
    return -1
  end
  local stat = file:read("*a")
  file:close()
  -- Fields after "(comm) ": state is the 1st, utime the 12th, stime the 13th.
  local rest = stat:match(".*%) (.*)")
  local fields = {}
  for field in rest:gmatch("%S+") do
    fields[#fields + 1] = field
  end
  return tonumber(fields[12]) + tonumber(fields[13])
end

function done(summary, latency, requests)
  local late_total, lag = 0, 0
  for _, thread in ipairs(threads) do
    late_total = late_total + (thread:get("late") or 0)
    lag = math.max(lag, thread:get("lag_max_ms") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'SLUICE_WRK {"requests":%d,"durationUs":%d,"bytes":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,' ..
      '"statusErrors":%d,"timeouts":%d,"p50Us":%d,"p99Us":%d,"p999Us":%d,"maxUs":%d,"late":%d,"lagMaxMs":%.3f,"cpuTicks":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max, late_total, lag, cpu_ticks()))
end
